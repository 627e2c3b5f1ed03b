/** `evident version [--json]` and `evident completion bash|zsh|fish`: about the CLI itself. */
import { Command, Argument } from 'commander';
import { action } from '../util.ts';
import { VERSION, buildInfo } from '../../version.ts';
import { completionScript, SHELLS, type Shell } from '../completion.ts';

export function register(program: Command): void {
  program
    .command('version')
    .summary('Print the version (and, with --json, the git commit and Node.js version)')
    .description('Print the Evident version. With --json: {"version", "commit", "node"}; commit is null when unknown.')
    .option('--json', 'print one JSON object')
    .action(
      action((o: { json?: boolean }) => {
        if (!o.json) {
          process.stdout.write(VERSION + '\n');
          return;
        }
        process.stdout.write(JSON.stringify({ version: VERSION, commit: buildInfo().commit, node: process.version }) + '\n');
      }),
    );
  program
    .command('completion')
    .summary('Print a shell completion script (bash, zsh or fish)')
    .description(
      'Print a completion script for every evident command, subcommand and option. Install it with e.g.\n' +
        '  bash: evident completion bash > ~/.local/share/bash-completion/completions/evident\n' +
        '  zsh:  evident completion zsh > "${fpath[1]}/_evident"\n' +
        '  fish: evident completion fish > ~/.config/fish/completions/evident.fish',
    )
    .addArgument(new Argument('<shell>', 'target shell').choices(SHELLS))
    .action(
      action((shell: Shell) => {
        process.stdout.write(completionScript(program, shell));
      }),
    );
}
