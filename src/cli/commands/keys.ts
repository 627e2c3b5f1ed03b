import type { Command } from 'commander';

/** Registers `keys generate|id` and `sign`. (Filled in by the kernel-crypto work.) */
export function register(_program: Command): void {}
