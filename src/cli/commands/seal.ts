import type { Command } from 'commander';

/** Registers the `seal` commands. (Filled in by the seal work.) */
export function register(_program: Command): void {}
