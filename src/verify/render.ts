import type { Report } from './report.ts';

/** Human rendering: one ✓/✗ line per check, colour only when the stream is a TTY. */
export function renderHuman(report: Report, opts: { color?: boolean } = {}): string {
  const color = opts.color ?? false;
  const g = (s: string) => (color ? `\x1b[32m${s}\x1b[0m` : s);
  const r = (s: string) => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const y = (s: string) => (color ? `\x1b[33m${s}\x1b[0m` : s);
  const lines: string[] = [];
  lines.push(`${report.format} (${report.mode})`);
  for (const c of report.checks) {
    const mark = c.ok ? g('✓') : c.informational ? y('!') : r('✗');
    let line = `  ${mark} ${c.id}: ${c.message}`;
    if (c.code !== 'OK') line += ` [${c.code}]`;
    lines.push(line);
    if (!c.ok && (c.expected !== undefined || c.actual !== undefined)) {
      if (c.expected !== undefined) lines.push(`      expected: ${c.expected}`);
      if (c.actual !== undefined) lines.push(`      actual:   ${c.actual}`);
    }
  }
  const verdict = report.valid ? g('VALID') : r('INVALID');
  lines.push(`${verdict} (exit ${report.exitCode})`);
  return lines.join('\n') + '\n';
}
