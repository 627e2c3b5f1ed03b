/**
 * `evident wcp scaffold|sign|verify|package-hash|record-hash`: WCP (pyhall) worker packages and registry records.
 * Thin wrappers over src/profiles/wcp/*. See docs/wcp.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { action, dateFlag, emitReport, readInput } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { algOfKey } from '../../kernel/keys.ts';
import { loadPrivateKey } from '../../store/keyfiles.ts';
import { writeFileAtomic } from '../../store/atomic.ts';
import { Report, type Mode } from '../../verify/report.ts';
import { scaffoldPackage } from '../../profiles/wcp/scaffold.ts';
import { canonicalPackageHash, ttyProgress, PACKAGE_ORDERS, type PackageOrder } from '../../profiles/wcp/package-hash.ts';
import { buildManifest, manifestFileText, DEFAULT_HMAC_ENV, MANIFEST_FILE, formatUtcSeconds } from '../../profiles/wcp/manifest.ts';
import { verifyPackage, loadBanList, secretFromEnv, FORMAT } from '../../profiles/wcp/verify.ts';
import { computeArtifactHash, parseRecord, verifyRecordReport } from '../../profiles/wcp/registry.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const orderOption = () => new Option('--order <order>', 'file order of the package hash: python (pyhall-python reference) or bytewise (pyhall-go)').choices([...PACKAGE_ORDERS]).default('python');
const modeOption = () => new Option('--mode <mode>', 'strict (default) or compat (pyhall-python verdicts)').choices(['strict', 'compat']).default('strict');

function out(o: { json?: boolean }, human: string, json: unknown): void {
  process.stdout.write(o.json ? JSON.stringify(json) + '\n' : human + '\n');
}

function requireDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new EvidentError('IO_ERROR', `cannot read ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isDirectory()) throw new EvidentError('INPUT_INVALID', `${dir} is not a directory`);
}

export function register(program: Command): void {
  const wcp = program
    .command('wcp')
    .description('WCP (pyhall) worker packages: scaffold, package hash, awp.v1 manifest sign/verify, registry artifact_hash.')
    .addHelpText(
      'after',
      '\nVerify exit codes: 0 valid, 1 policy (ATTEST_MANIFEST_ID_MISMATCH, ATTEST_NAMESPACE_INVALID, ATTEST_BANNED_HASH),\n' +
        '2 integrity (ATTEST_HASH_MISMATCH), 3 signature (ATTEST_SIGNATURE_MISSING, ATTEST_SIG_INVALID), 4 key (HMAC secret unset),\n' +
        '10 input (ATTEST_MANIFEST_MISSING). See docs/wcp.md.',
    );

  wcp
    .command('scaffold')
    .description('Write the WCP package layout into DIR: code/bootstrap.py, code/worker_logic.py, requirements.lock, config.schema.json.')
    .argument('<dir>', 'package directory (created if missing)')
    .option('--force', 'overwrite existing files')
    .option('--json', 'print one JSON object {dir, files}')
    .action(
      action((dir: string, o: { force?: boolean; json?: boolean }) => {
        const files = scaffoldPackage(dir, { force: o.force });
        out(o, files.map((f) => path.join(dir, f)).join('\n'), { dir, files });
      }),
    );

  wcp
    .command('package-hash')
    .description('Print the canonical package hash of DIR (64 lowercase hex, no prefix), as pyhall canonical_package_hash.')
    .argument('<dir>', 'package directory')
    .addOption(orderOption())
    .addOption(new Option('--symlinks <policy>', 'reject any symlink (default) or follow links to files inside the root').choices(['reject', 'follow-inside']).default('reject'))
    .option('--records', 'also print the hashed records (path, size, sha256)')
    .option('--json', 'print one JSON object {hash, order, files, bytes[, records]}')
    .action(
      action(async (dir: string, o: { order: PackageOrder; symlinks: 'reject' | 'follow-inside'; records?: boolean; json?: boolean }) => {
        requireDir(dir);
        const r = await canonicalPackageHash(dir, { order: o.order, symlinks: o.symlinks, onProgress: o.json ? undefined : ttyProgress() });
        const human = o.records ? [...r.records.map((x) => `${x.sha256}  ${x.size}  ${x.rel}`), r.hash].join('\n') : r.hash;
        out(o, human, { hash: r.hash, order: o.order, files: r.records.length, bytes: r.totalBytes, ...(o.records ? { records: r.records } : {}) });
      }),
    );

  wcp
    .command('sign')
    .description(
      'Hash DIR, build the awp.v1 manifest, HMAC-SHA256 it with the secret from --hmac-env, optionally add an Ed25519\n' +
        'signature over the whole manifest (--key), and write DIR/manifest.json atomically (Python indent-2 form).',
    )
    .argument('<dir>', 'package directory')
    .requiredOption('--worker-id <id>', 'worker id (x.<name>.… or org.<name>.…)')
    .requiredOption('--species <id>', 'worker species id (wrk.…)')
    .option('--version <v>', 'worker version')
    .option('--worker-version <v>', 'worker version (alias of --version)')
    .option('--build-source <s>', 'build source (local|ci|agent)', 'local')
    .option('--hmac-env <var>', 'environment variable holding the HMAC secret', DEFAULT_HMAC_ENV)
    .option('--key <file>', 'Ed25519 private key: adds signature_ed25519 over the whole manifest (strict extension)')
    .option('--built-at <time>', 'build time (RFC 3339), default now; written with second precision')
    .addOption(orderOption())
    .option('--json', 'print one JSON object {manifest, path}')
    .action(
      action(async (dir: string, o: { workerId: string; species: string; version?: string; workerVersion?: string; buildSource: string; hmacEnv: string; key?: string; builtAt?: string; order: PackageOrder; json?: boolean }) => {
        requireDir(dir);
        const version = o.workerVersion ?? o.version;
        if (version === undefined || version === '') throw new EvidentError('INPUT_INVALID', 'the worker version is required: --version V');
        const secret = secretFromEnv(o.hmacEnv);
        if (secret === undefined) throw new EvidentError('KEY_NOT_FOUND', `HMAC secret environment variable ${o.hmacEnv} is not set`);
        const ed = o.key ? loadPrivateKey(o.key, 'ed25519') : undefined;
        if (ed && algOfKey(ed) !== 'ed25519') throw new EvidentError('KEY_UNSUPPORTED', '--key must be an Ed25519 private key');
        const builtAt = dateFlag(o.builtAt, '--built-at') ?? new Date();
        const h = await canonicalPackageHash(dir, { order: o.order, symlinks: 'reject', onProgress: o.json ? undefined : ttyProgress() });
        // never sign a tree strict verification refuses: code the hash does not cover, or ambiguous names
        const hz = h.hazards[0];
        if (hz) throw new EvidentError(hz.kind === 'unhashed-code' ? 'WCP_UNHASHED_CODE' : 'WCP_NAME_INVALID', hz.kind === 'unhashed-code' ? `${hz.rel} is excluded from the package hash but Python would run it: remove *.pyc and __pycache__/ before signing` : `the name ${JSON.stringify(hz.rel)} has a control character, which makes the package hash ambiguous`);
        const m = buildManifest({ workerId: o.workerId, species: o.species, version, packageHash: h.hash, builtAt: formatUtcSeconds(builtAt), buildSource: o.buildSource, secret, ed25519: ed });
        const file = path.join(dir, MANIFEST_FILE);
        try {
          writeFileAtomic(file, manifestFileText(m), 0o644);
        } catch (e) {
          throw new EvidentError('IO_ERROR', `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        out(o, `${file}\npackage_hash ${h.hash}`, { path: file, manifest: m });
      }),
    );

  wcp
    .command('verify')
    .description(
      'Verify a WCP package: manifest, identity, package hash, HMAC (upstream deny order), namespace, ban list;\n' +
        'strict mode also checks signature_ed25519 (--key/--trust) and the unsigned trust_statement. The deny code is in checks[].code.',
    )
    .argument('<dir>', 'package directory')
    .option('--worker-id <id>', 'expected worker id (required in strict mode)')
    .option('--species <id>', 'expected worker species id (required in strict mode)')
    .option('--ban-list <file>', 'JSON ban list: array of hashes or of {sha256, …} registry entries')
    .option('--hmac-env <var>', 'environment variable holding the HMAC secret', DEFAULT_HMAC_ENV)
    .option('--key <file>', 'pinned Ed25519 public key for signature_ed25519; repeatable', collect)
    .option('--trust <file>', 'trust store holding the Ed25519 key')
    .addOption(orderOption())
    .addOption(modeOption())
    .option('--json', 'print exactly one JSON report object on stdout')
    .action(
      action(async (dir: string, o: { workerId?: string; species?: string; banList?: string; hmacEnv: string; key?: string[]; trust?: string; order: PackageOrder; mode: Mode; json?: boolean }) => {
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
          emitReport(new Report(FORMAT, o.mode).fail('input', 'input', 'INPUT_UNREADABLE', `${dir} is not a readable directory`), o);
          return;
        }
        let banned: Set<string> | undefined;
        if (o.banList !== undefined) {
          try {
            banned = loadBanList(o.banList);
          } catch (e) {
            emitReport(new Report(FORMAT, o.mode).fail('ban_list', 'input', (e as { code?: string }).code ?? 'INPUT_INVALID', (e as Error).message), o);
            return;
          }
        }
        const report = await verifyPackage(dir, {
          mode: o.mode,
          workerId: o.workerId,
          species: o.species,
          secret: secretFromEnv(o.hmacEnv),
          order: o.order,
          banned,
          keys: o.key,
          trust: o.trust,
          onProgress: o.json ? undefined : ttyProgress(),
        });
        emitReport(report, o);
      }),
    );

  wcp
    .command('record-hash')
    .description(
      'Compute the registry record artifact_hash of FILE ("sha256:" + hex of Python ensure_ascii compact sorted JSON without\n' +
        'artifact_hash), as hall_api /enroll. With --verify, check the record\'s own artifact_hash (exit 2, DENY_WORKER_TAMPERED).',
    )
    .argument('[file]', 'registry record JSON (default stdin)')
    .option('--verify', 'verify the artifact_hash in the record instead of printing it')
    .addOption(modeOption())
    .option('--json', 'print one JSON object ({artifact_hash} or the report)')
    .action(
      action((file: string | undefined, o: { verify?: boolean; mode: Mode; json?: boolean }) => {
        const rec = parseRecord(readInput(file), o.mode);
        if (o.verify) {
          emitReport(verifyRecordReport(rec, o.mode), o);
          return;
        }
        const h = computeArtifactHash(rec, o.mode);
        out(o, h, { artifact_hash: h });
      }),
    );
}
