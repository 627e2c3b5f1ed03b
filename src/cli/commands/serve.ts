import type { Command } from 'commander';

/** Registers the `serve` commands. (Filled in by the serve work.) */
export function register(_program: Command): void {}
