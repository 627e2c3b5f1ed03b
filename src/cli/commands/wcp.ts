import type { Command } from 'commander';

/** Registers the `wcp` commands. (Filled in by the wcp work.) */
export function register(_program: Command): void {}
