import type { Command } from 'commander';

/** Registers the `h4` commands. (Filled in by the h4 work.) */
export function register(_program: Command): void {}
