/**
 * `evident` CLI entry point. Thin: every command calls library code; each area registers its own commands.
 */
import { Command, CommanderError } from 'commander';
import { register as core } from './commands/core.ts';
import { register as log } from './commands/log.ts';
import { register as hashmatch } from './commands/hashmatch.ts';
import { register as wcp } from './commands/wcp.ts';
import { register as eli } from './commands/eli.ts';
import { register as seal } from './commands/seal.ts';
import { register as h4 } from './commands/h4.ts';
import { register as serve } from './commands/serve.ts';
import { register as keys } from './commands/keys.ts';
import { register as verify } from './commands/verify.ts';
import { VERSION } from '../version.ts';

export function buildProgram(): Command {
  const program = new Command('evident')
    .description(
      'Issue, log and verify tamper-evident receipts and attestations (HashMatch, WCP, ELI-Sentinel, CPHAR, HarmonyØ4)\n' +
        'with an RFC 6962 transparency log.\n\n' +
        'Exit codes of verifying commands: 0 valid · 1 policy · 2 integrity · 3 signature · 4 key · 10 input.',
    )
    .version(VERSION)
    .enablePositionalOptions()
    .configureHelp({ helpWidth: 120 })
    .showHelpAfterError()
    .exitOverride();
  for (const r of [core, keys, verify, log, hashmatch, wcp, eli, seal, h4, serve]) r(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help/version exit 0; usage errors are input errors (10)
      process.exitCode = e.exitCode === 0 ? 0 : 10;
      return;
    }
    throw e;
  }
}
