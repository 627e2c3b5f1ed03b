import type { Command } from 'commander';

/** Registers the `log` commands. (Filled in by the log work.) */
export function register(_program: Command): void {}
