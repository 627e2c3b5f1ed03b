/**
 * Format auto-detection for `evident verify` and `POST /v1/verify`.
 *
 * Each profile contributes its {@link Detector}s (src/profiles/<x>/detector.ts, written against ./input.ts); the
 * list in ./detectors.ts is the only place they are registered. The first detector whose `detect` returns true
 * verifies the artifact.
 */
import { Report } from './report.ts';
import { detectors } from './detectors.ts';
import { runDetector, type Detector, type VerifyInput, type VerifyOptions } from './input.ts';
import { COMPAT_REPARSE_FORMATS, compatReparse } from './compat-parse.ts';

// the detector contract lives in input.ts (detectors import it from there); re-exported for callers of detect.ts
export { SHARED_READ_MIN_BYTES, loadVerifyInput, bytesInput, runDetector } from './input.ts';
export type { VerifyInput, VerifyOptions, Detector } from './input.ts';

export function detect(input: VerifyInput, format?: string): Detector | undefined {
  if (format) return detectors.find((d) => d.format === format || d.format.startsWith(format + '.'));
  return detectors.find((d) => {
    try {
      return d.detect(input);
    } catch {
      return false;
    }
  });
}

export async function verifyAny(input: VerifyInput, opts: VerifyOptions, format?: string): Promise<Report> {
  if (opts.mode === 'compat' && input.json === undefined) {
    // compat: parse as the upstream does (duplicate keys, NaN, …); only formats that re-parse so may claim it
    const lenient = compatReparse(input);
    const d = lenient && detect(lenient, format);
    if (lenient && d && COMPAT_REPARSE_FORMATS.includes(d.format)) return artifactGuard(await runDetector(d, lenient, opts), opts);
  }
  if (input.jsonError) {
    const code = (input.jsonError as { code?: string }).code ?? 'JSON_SYNTAX';
    return new Report(format ?? 'unknown', opts.mode).fail('input.parse', 'input', code, input.jsonError.message);
  }
  const d = detect(input, format);
  if (!d) {
    return new Report(format ?? 'unknown', opts.mode).fail(
      'input.format',
      'input',
      'FORMAT_UNKNOWN',
      format ? `unknown format ${JSON.stringify(format)}` : 'could not detect the artifact format',
    );
  }
  return artifactGuard(await runDetector(d, input, opts), opts);
}

/**
 * Fail closed on `--artifact`: a report that passed although no check looked at the given files (no check id
 * containing "artifact" — the convention every detector that consumes `opts.artifacts` follows) is turned into an
 * input failure, so a file is never reported as covered when nothing compared it.
 */
export function artifactGuard(report: Report, opts: VerifyOptions): Report {
  if (!opts.artifacts?.length || !report.valid) return report;
  if (report.checks.some((c) => c.id.toLowerCase().includes('artifact'))) return report;
  report.exitOverride = undefined; // a compat verdict cannot cover files it never looked at
  return report.fail('artifact', 'input', 'ARTIFACT_NOT_CHECKED', `the ${report.format} verifier does not check --artifact files; ${opts.artifacts.length} file(s) were not compared with anything`);
}

export function listFormats(): string[] {
  return detectors.map((d) => d.format);
}
