/**
 * `evident canon` and `evident digest`: canonical JSON bytes and `sha256:` digests of files or stdin.
 * Thin wrappers over kernel/json and kernel/digest; errors are coded and exit 10 (input).
 */
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { action, readInput } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { parseJson, canonicalizeJcs, canonicalizePython, DEFAULT_MAX_DEPTH } from '../../kernel/json/index.ts';
import { sha256Digest } from '../../kernel/digest.ts';
import { sha256File } from '../../store/files.ts';

interface CanonOpts {
  profile: 'jcs' | 'python';
  ascii?: boolean;
  newline?: boolean;
  allowDuplicateKeys?: boolean;
  maxDepth: string;
  digest?: boolean;
}

export function register(program: Command): void {
  program
    .command('canon')
    .summary('Print the canonical JSON bytes of a file (RFC 8785 JCS or Python json.dumps)')
    .description(
      'Parse JSON losslessly (numbers keep their lexeme, big integers stay exact) and print its canonical bytes:\n' +
        '  jcs     RFC 8785 (HashMatch stable JSON, CPHAR)\n' +
        '  python  json.dumps(sort_keys=True, separators=(",",":"), allow_nan=False): code-point key order, Python\n' +
        '          float repr (1.0, 1e-07, 1e+16, -0.0), exact ints. Without --ascii this is ELI json_c14n_v1;\n' +
        '          with --ascii (ensure_ascii=True) it is the WCP / pyhall form.\n' +
        'Duplicate keys, lone surrogates, NaN/Infinity, nesting deeper than --max-depth and invalid UTF-8 are\n' +
        'refused with a coded error and exit 10. No trailing newline unless --newline (the "stable file" form).',
    )
    .argument('[file]', 'JSON file, or - for stdin', '-')
    .addOption(new Option('--profile <profile>', 'canonical form').choices(['jcs', 'python']).default('jcs'))
    .option('--ascii', 'python profile: escape non-ASCII as \\uXXXX (ensure_ascii=True)')
    .option('--newline', 'append exactly one "\\n" (stable file form)')
    .option('--allow-duplicate-keys', 'accept duplicate keys, last one wins (as Python json.loads)')
    .option('--max-depth <n>', 'maximum nesting depth', String(DEFAULT_MAX_DEPTH))
    .option('--digest', 'print the sha256: digest of the canonical bytes instead of the bytes')
    .action(
      action((file: string, o: CanonOpts) => {
        if (o.ascii && o.profile !== 'python') throw new EvidentError('INPUT_INVALID', '--ascii applies to --profile python only');
        const maxDepth = Number(o.maxDepth);
        if (!Number.isInteger(maxDepth) || maxDepth < 1) throw new EvidentError('INPUT_INVALID', `--max-depth must be a positive integer, got ${o.maxDepth}`);
        const value = parseJson(readInput(file), { duplicateKeys: o.allowDuplicateKeys ? 'last-wins' : 'reject', maxDepth });
        const text = o.profile === 'jcs' ? canonicalizeJcs(value) : canonicalizePython(value, { ensureAscii: !!o.ascii, maxDepth });
        if (o.digest) process.stdout.write(sha256Digest(text) + '\n');
        else process.stdout.write(o.newline ? text + '\n' : text);
      }),
    );

  program
    .command('digest')
    .summary('Print the sha256: digest of files or stdin')
    .description('Stream each file (or stdin with "-") through SHA-256 and print "sha256:" + 64 lowercase hex, one line per input\n(followed by the file name when several are given).')
    .argument('[files...]', 'files, or - for stdin', ['-'])
    .action(
      action(async (files: string[]) => {
        for (const f of files) {
          let d: string;
          if (f === '-') d = sha256Digest(readInput('-'));
          else {
            let st: fs.Stats;
            try {
              st = fs.statSync(f);
            } catch (e) {
              throw new EvidentError('IO_ERROR', `cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
            }
            if (!st.isFile()) throw new EvidentError('IO_ERROR', `cannot read ${f}: not a regular file`);
            d = await sha256File(f);
          }
          process.stdout.write(files.length > 1 ? `${d}  ${f}\n` : d + '\n');
        }
      }),
    );
}
