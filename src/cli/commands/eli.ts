/**
 * `evident eli verify|issue|jwk`: ELI-Sentinel packets (json_c14n_v1, HALO chain, RS256 receipts). See docs/eli.md.
 */
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { action, dateFlag, emitReport, readInput, writeFileAtomic } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { isJsonObject } from '../../kernel/json/index.ts';
import { loadPrivateKey, loadPublicKey } from '../../store/keyfiles.ts';
import { Report } from '../../verify/report.ts';
import { ELI_FORMAT, looksLikeCdilPacket, verifyCdilPacket, verifyEliBytes, type EliVerifyOptions } from '../../profiles/eli/verify.ts';
import { ELI_MAX_BYTES as ELI_MAX_BYTES_CLI, parseEliJson, prettyPacket, compactPacket } from '../../profiles/eli/c14n.ts';
import { buildPacket } from '../../profiles/eli/issue.ts';
import { parsePythonJsonFast } from '../../kernel/json/pyjson.ts';
import { eliPublicJwk } from '../../profiles/eli/sign.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface VerifyFlags {
  jwk?: string[];
  key?: string[];
  trust?: string;
  keysUrl?: string;
  pinKid?: string[];
  skipSignature?: boolean;
  json?: boolean;
  mode: 'strict' | 'compat';
  unwrap?: boolean;
  upstreamJson?: boolean;
  now?: string;
}

function readPacket(file: string): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new EvidentError('INPUT_UNREADABLE', `Packet file not found: ${file}`, { cause: e });
  }
  if (!st.isFile()) throw new EvidentError('INPUT_UNREADABLE', `not a file: ${file}`);
  if (st.size > ELI_MAX_BYTES_CLI) throw new EvidentError('JSON_TOO_LARGE', `packet file ${file} is too large (${st.size} bytes)`);
  return readInput(file);
}

async function runVerify(file: string, o: VerifyFlags): Promise<void> {
  if (o.upstreamJson && o.mode !== 'compat') throw new EvidentError('INPUT_INVALID', '--upstream-json needs --mode compat');
  const now = dateFlag(o.now, '--now');
  const opts: EliVerifyOptions = {
    mode: o.mode,
    skipSignature: o.skipSignature,
    jwkFiles: o.jwk,
    keyFiles: o.key,
    trust: o.trust,
    keysUrl: o.keysUrl,
    pinKids: o.pinKid,
    unwrap: o.unwrap,
    now,
  };
  let bytes: Uint8Array;
  try {
    bytes = readPacket(file);
  } catch (e) {
    // upstream: a missing packet file is exit 10 (schema/input)
    const r = new Report(ELI_FORMAT, o.mode).fail('input', 'input', (e as EvidentError).code ?? 'INPUT_UNREADABLE', (e as Error).message);
    if (o.upstreamJson) {
      process.stdout.write(JSON.stringify({ valid: false, failures: [(e as Error).message], schema_valid: false }, null, 2) + '\n');
      process.exitCode = 10;
      return;
    }
    emitReport(r, o);
    return;
  }
  // CDIL variant (blocks inside the packet, ECDSA P-256)
  let parsed: unknown;
  try {
    // compat: as Python's json.load (see verifyEliBytes)
    parsed = o.mode === 'compat' ? parsePythonJsonFast(bytes, { source: 'text', maxBytes: ELI_MAX_BYTES_CLI }) : parseEliJson(bytes, { duplicateKeys: 'reject' });
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined && isJsonObject(parsed as never) && looksLikeCdilPacket(parsed)) {
    const r = await verifyCdilPacket(parsed as never, opts);
    emitReport(r, o);
    return;
  }
  const v = await verifyEliBytes(bytes, opts);
  if (o.upstreamJson) {
    if (v.upstream) process.stdout.write(JSON.stringify(v.upstream, null, 2) + '\n');
    else process.stderr.write(`Error: ${(v.report.failures.find((c) => c.category === 'key') ?? v.report.failures[0])?.message ?? 'key error'}\n`);
    process.exitCode = v.upstreamExit;
    return;
  }
  emitReport(v.report, o);
}

interface IssueFlags {
  key: string;
  out?: string;
  prompt?: string;
  output?: string;
  rag?: string;
  multimodal?: string;
  now?: string;
  json?: boolean;
}

function readText(file: string, what: string): Uint8Array {
  try {
    const st = fs.statSync(file);
    if (st.size > ELI_MAX_BYTES_CLI) throw new EvidentError('INPUT_INVALID', `${what} file ${file} is too large`);
    return fs.readFileSync(file);
  } catch (e) {
    if (e instanceof EvidentError) throw e;
    throw new EvidentError('IO_ERROR', `cannot read ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

function runIssue(file: string | undefined, o: IssueFlags): void {
  const key = loadPrivateKey(o.key, 'rs256');
  const fields = parseEliJson(readInput(file), { duplicateKeys: 'reject' });
  if (!isJsonObject(fields)) throw new EvidentError('INPUT_INVALID', 'transaction fields must be a JSON object');
  const now = dateFlag(o.now, '--now');
  const texts: Record<string, Uint8Array> = {};
  if (o.prompt !== undefined) texts.prompt = readText(o.prompt, 'prompt');
  if (o.output !== undefined) texts.output = readText(o.output, 'output');
  if (o.rag !== undefined) texts.rag = readText(o.rag, 'RAG context');
  if (o.multimodal !== undefined) texts.multimodal = readText(o.multimodal, 'multimodal input');
  const packet = buildPacket(fields, { privateKey: key, now, texts });
  const text = o.json ? compactPacket(packet) : prettyPacket(packet);
  if (o.out) {
    try {
      writeFileAtomic(o.out, text, 0o644);
    } catch (e) {
      throw new EvidentError('IO_ERROR', `cannot write ${o.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    process.stderr.write(`wrote ${o.out} (${String(packet.transaction_id)})\n`);
  } else process.stdout.write(text);
}

/** Registers the `eli` commands. */
export function register(program: Command): void {
  const eli = program
    .command('eli')
    .description('ELI-Sentinel receipts: json_c14n_v1, 5-block HALO chain, RS256 signatures with JWK keys (docs/eli.md).');

  eli
    .command('verify')
    .summary('Verify a packet: schema, HALO chain, RS256 signature (exit 0/1/2/3/4/10)')
    .description(
      'Verify an ELI-Sentinel packet (or a POST /v1/ai/call response, whose "receipt" is unwrapped; or a CDIL-variant\n' +
        'packet with blocks inside and an ECDSA P-256 signature).\n' +
        'Order: schema (exit 10) -> HALO chain, every block recomputed from the packet fields (exit 2) -> signature (3);\n' +
        'key problems exit 4. strict (default): keys only from --jwk/--key/--trust, or --keys-url with the kid pinned\n' +
        'by --pin-kid; RS256 only; RFC 3339 timestamps; "sha256:no_policy" shown as "no policy"; unauthenticated\n' +
        'top-level fields reported. compat: the verdicts and exit codes of upstream tools/eli_verify.py.',
    )
    .argument('<packet>', 'packet JSON file')
    .option('--jwk <file>', 'public JWK file of the gateway key (pinned); repeatable', collect)
    .option('--key <file>', 'other pinned public key file (PEM or JWK); repeatable', collect)
    .option('--trust <file>', 'trust store file: the key is chosen by the packet key_id among trusted keys')
    .option('--keys-url <url>', 'key server base URL: the key is fetched from <url>/<key_id> (strict: needs --pin-kid)')
    .option('--pin-kid <kid>', 'strict: a kid (sha256:… of the SPKI PEM) that a --keys-url key may have; repeatable', collect)
    .option('--skip-signature', 'check schema and HALO only (strict mode still reports it)')
    .addOption(new Option('--mode <mode>', 'strict (default) or compat (upstream eli_verify.py verdicts and exit codes)').choices(['strict', 'compat']).default('strict'))
    .option('--unwrap', 'verify the "receipt" member of a {"receipt": packet} API response (default in strict mode only)')
    .option('--no-unwrap', 'do not unwrap {"receipt": packet} responses (default in compat mode: upstream exits 10)')
    .option('--upstream-json', 'compat only: print the object upstream eli_verify.py --json prints, instead of the report')
    .option('--now <time>', 'verification time for trust-store key status (RFC 3339), default now')
    .option('--json', 'print exactly one JSON report object on stdout')
    .addHelpText('after', '\nExit codes: 0 valid, 1 policy (trusted key revoked/expired), 2 HALO mismatch, 3 signature invalid/missing, 4 key, 10 input/schema.')
    .action(action((file: string, o: VerifyFlags) => runVerify(file, o)));

  eli
    .command('issue')
    .summary('Build the HALO chain and sign a packet from transaction fields')
    .description(
      'Build and sign a packet from transaction fields (JSON object: environment, client_id, intent_manifest, feature_tag,\n' +
        'user_ref, prompt_hash, rag_hash, multimodal_hash, policy_receipt_subset, model_fingerprint, param_snapshot,\n' +
        'output_hash, token_usage, latency_ms; optional transaction_id, gateway_timestamp_utc, client_key_fingerprint).\n' +
        'Missing policy_receipt_subset = the gateway\'s "no active policy" denial. Texts given as files are hashed\n' +
        '("sha256:" + hex SHA-256 of the bytes). Writes the packet (indent 2) to --out or stdout.',
    )
    .argument('[file]', 'transaction fields JSON file (default stdin)')
    .requiredOption('--key <file>', 'RSA private key (PKCS#8 PEM) of the gateway')
    .option('--prompt <file>', 'prompt text file -> prompt_hash')
    .option('--output <file>', 'model output text file -> output_hash')
    .option('--rag <file>', 'RAG context text file -> rag_hash')
    .option('--multimodal <file>', 'multimodal input file -> multimodal_hash')
    .option('--now <time>', 'timestamp to use when gateway_timestamp_utc is not given (RFC 3339), default now')
    .option('--out <file>', 'write the packet to FILE (atomically) instead of stdout')
    .option('--json', 'print the packet as one compact JSON line')
    .action(action((file: string | undefined, o: IssueFlags) => runIssue(file, o)));

  eli
    .command('jwk')
    .description('Print the ELI-Sentinel public JWK {kty, use, alg, kid, n, e} of an RSA key (kid = sha256 of the SPKI PEM text).')
    .argument('<keyfile>', 'RSA public or private key (PEM or JWK)')
    .action(
      action((file: string) => {
        process.stdout.write(JSON.stringify(eliPublicJwk(loadPublicKey(file, 'rs256')), null, 2) + '\n');
      }),
    );
}
