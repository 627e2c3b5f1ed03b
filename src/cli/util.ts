/** Shared plumbing for CLI commands: output of reports, exit codes, input reading, error mapping. */
import fs from 'node:fs';
import { Command } from 'commander';
import { EvidentError } from '../kernel/errors.ts';
import { parseRfc3339 } from '../kernel/time.ts';
import { exitCodeForError, reportForError, type Report } from '../verify/report.ts';
import { renderHuman } from '../verify/render.ts';
import { readFileArg, readFileShared } from '../store/files.ts';
import { SHARED_READ_MIN_BYTES } from '../verify/input.ts';

/** Print a report per the contract: `--json` → exactly one JSON object on stdout; else human lines on stdout. */
export function emitReport(report: Report, opts: { json?: boolean }): void {
  if (opts.json) process.stdout.write(JSON.stringify(report.toJSON()) + '\n');
  else process.stdout.write(renderHuman(report, { color: useColor(process.stdout) }));
  process.exitCode = report.exitCode;
}

/**
 * Whether to colour output on `stream`: NO_COLOR (any non-empty value) turns colour off, FORCE_COLOR turns it on
 * (except `0`/`false`), TERM=dumb turns it off; otherwise colour only on a terminal. (no-color.org, force-color.org)
 */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR.toLowerCase() !== 'false';
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** Read a file argument, or stdin for `-` / absent. Throws EvidentError(IO_ERROR). */
export function readInput(file: string | undefined): Buffer {
  if (file && file !== '-') return readFileArg(file);
  try {
    return fs.readFileSync(0);
  } catch (e) {
    throw new EvidentError('IO_ERROR', `cannot read ${file ?? 'stdin'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** Like readInput, but a large regular file is read into shared memory (worker threads can read it, no copy). */
export function readInputLarge(file: string | undefined): Uint8Array {
  if (!file || file === '-') return readInput(file);
  try {
    const st = fs.statSync(file);
    return st.isFile() && st.size >= SHARED_READ_MIN_BYTES ? readFileShared(file) : fs.readFileSync(file);
  } catch (e) {
    throw new EvidentError('IO_ERROR', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/**
 * Wrap a command action: any thrown error becomes `evident: CODE: message` on stderr with a contract exit code
 * (or a one-object JSON error on stdout with --json). Never a stack trace for expected errors.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const code = (e as { code?: string })?.code ?? 'INTERNAL';
      const msg = (e as Error)?.message ?? String(e);
      const cmd = args[args.length - 1] as Command | undefined;
      const json = cmd && typeof cmd.opts === 'function' ? Boolean((cmd.opts() as { json?: boolean }).json) : false;
      const exit = exitCodeForError(e);
      if (json) {
        process.stdout.write(JSON.stringify(reportForError(e)) + '\n');
      } else {
        process.stderr.write(`evident: ${code}: ${msg}\n`);
        if (!(e instanceof EvidentError) && process.env.EVIDENT_DEBUG) process.stderr.write(String((e as Error)?.stack) + '\n');
      }
      process.exitCode = exit;
    }
  };
}

export { writeFileAtomic } from '../store/atomic.ts';
export { exitCodeForError };

/**
 * A time flag (`--now`, `--at`, `--built-at`…): an RFC 3339 date-time with offset (kernel parseRfc3339, the
 * parser every format uses), as epoch ms; undefined when the flag is absent. Anything else, a date that does not
 * exist (`2026-02-30…`) included, is an input error (exit 10).
 */
export function timeFlag(v: string | undefined, flag: string): number | undefined {
  return v === undefined ? undefined : parseRfc3339(v, flag);
}

/** {@link timeFlag} as a Date. */
export function dateFlag(v: string | undefined, flag: string): Date | undefined {
  const t = timeFlag(v, flag);
  return t === undefined ? undefined : new Date(t);
}
