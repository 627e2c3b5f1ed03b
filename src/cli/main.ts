/**
 * `evident` CLI entry point. Thin: every command calls library code; each area registers its own commands.
 *
 * Commands load lazily: `evident X …` imports only the module that registers X (so `evident canon` never loads
 * Fastify, PostgreSQL or SQLite). Help, completion and unknown commands load every module. To add a top-level
 * command, add its module to {@link COMMAND_MODULES} with the names it registers.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.ts';
import { applyExamples } from './examples.ts';

export interface CommandModule {
  register(program: Command): void;
}

/** Top-level command names → the module that registers them. The only registration list. */
export const COMMAND_MODULES: ReadonlyArray<{ names: readonly string[]; load: () => Promise<CommandModule> }> = [
  { names: ['canon', 'digest'], load: () => import('./commands/core.ts') },
  { names: ['keys', 'sign'], load: () => import('./commands/keys.ts') },
  { names: ['verify'], load: () => import('./commands/verify.ts') },
  { names: ['log'], load: () => import('./commands/log.ts') },
  { names: ['witness'], load: () => import('./commands/witness.ts') },
  { names: ['hashmatch'], load: () => import('./commands/hashmatch.ts') },
  { names: ['wcp'], load: () => import('./commands/wcp.ts') },
  { names: ['eli'], load: () => import('./commands/eli.ts') },
  { names: ['seal'], load: () => import('./commands/seal.ts') },
  { names: ['h4mk', 'engine'], load: () => import('./commands/h4.ts') },
  { names: ['serve', 'token'], load: () => import('./commands/serve.ts') },
  { names: ['receipt', 'trusted-root', 'tsa'], load: () => import('./commands/sigstore.ts') },
  { names: ['version', 'completion'], load: () => import('./commands/meta.ts') },
  { names: ['verifier-page'], load: () => import('./commands/page.ts') },
];

function baseProgram(): Command {
  return new Command('evident')
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
}

/** The program with the given modules registered (examples attached to every command). */
export function buildProgram(modules: readonly CommandModule[]): Command {
  const program = baseProgram();
  for (const m of modules) m.register(program);
  applyExamples(program);
  return program;
}

/** The whole program: every command module loaded (help, completion, tests). */
export async function buildFullProgram(): Promise<Command> {
  return buildProgram(await Promise.all(COMMAND_MODULES.map((m) => m.load())));
}

/** The modules `argv` needs: the one registering its command, or all of them (help, unknown command). */
async function modulesFor(args: readonly string[]): Promise<CommandModule[]> {
  let name = args.find((a) => !a.startsWith('-'));
  if (name === 'help') name = args[args.indexOf('help') + 1];
  const entry = name === undefined ? undefined : COMMAND_MODULES.find((m) => m.names.includes(name));
  if (!entry || name === 'completion') return Promise.all(COMMAND_MODULES.map((m) => m.load()));
  return [await entry.load()];
}

export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  // `evident --version` answers before anything else loads
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(VERSION + '\n');
    return;
  }
  const program = buildProgram(await modulesFor(args));
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
