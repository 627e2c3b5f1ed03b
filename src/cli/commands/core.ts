import type { Command } from 'commander';

/** Registers the `core` commands. (Filled in by the core work.) */
export function register(_program: Command): void {}
