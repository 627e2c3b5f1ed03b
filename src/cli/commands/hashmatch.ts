import type { Command } from 'commander';

/** Registers the `hashmatch` commands. (Filled in by the hashmatch work.) */
export function register(_program: Command): void {}
