import type { Command } from 'commander';

/** Registers the `eli` commands. (Filled in by the eli work.) */
export function register(_program: Command): void {}
