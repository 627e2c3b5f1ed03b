/** `evident verifier-page --out verify.html`: write the offline verifier page (one self-contained HTML file). */
import { Command } from 'commander';
import { sha256Digest } from '../../kernel/digest.ts';
import { action, writeFileAtomic } from '../util.ts';
import { verifierPage } from '../../page/asset.ts';

export function register(program: Command): void {
  program
    .command('verifier-page')
    .summary('Write the offline HTML verifier (one file, no network, same reports as verify --json)')
    .description(
      'Write one self-contained HTML file that verifies every format `evident verify` knows, in any browser, offline\n' +
        '(also from file://): drop or pick the files, pick the keys, strict or compat; it shows the same ordered checks\n' +
        'and offers the same --json report object. The page runs the CLI\'s own verification code and makes no network\n' +
        'request (its Content-Security-Policy forbids any). The service serves the same page at GET /verify.',
    )
    .option('--out <file>', 'where to write the page (- for stdout)', 'verify.html')
    .action(
      action((o: { out: string }) => {
        const html = verifierPage();
        if (o.out === '-') process.stdout.write(html);
        else {
          writeFileAtomic(o.out, html);
          process.stderr.write(`evident: wrote ${o.out} (${html.length} bytes, ${sha256Digest(html)}); open it in a browser\n`);
        }
      }),
    );
}
