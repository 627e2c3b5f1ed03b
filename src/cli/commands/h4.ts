/**
 * HarmonyØ4 commands: `evident h4mk build|inspect|extract|sign|verify` and `evident engine check|info|attest|verify-attestation`.
 * Thin wrappers over src/profiles/h4 (see docs/h4.md).
 */
import { Command, Option } from 'commander';
import { action, dateFlag, emitReport, readInput, readInputLarge, writeFileAtomic } from '../util.ts';
import { verifyH4mkAsync } from '../../profiles/h4/parallel.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { toHex, concatBytes } from '../../kernel/encoding.ts';
import { parseJson, toPlain, isJsonObject, type JsonObject } from '../../kernel/json/index.ts';
import { loadPrivateKey } from '../../store/keyfiles.ts';
import { Report, type FailureCategory, type Mode } from '../../verify/report.ts';
import { BUILTIN_ENGINE_NAMES, builtinEngine, sameEngine, MAX_BLOCK_BYTES, type Engine } from '../../profiles/h4/engines.ts';
import { buildH4mk, appendSign, parseH4mk, payloadOf, computeVeri, decodeSeek, type SeekEntry } from '../../profiles/h4/container.ts';
import { verifyH4mk, extractCore, engineForContainer } from '../../profiles/h4/verify.ts';
import { looksLikeH4mkB, verifyH4mkB } from '../../profiles/h4/formatb.ts';
import { loadSealedEngine, type SealedEngineStatus } from '../../profiles/h4/sealing.ts';
import { compatAttestation, signAttestation, checkCompatAttestation, verifySignedAttestation, looksLikeSignedAttestation, MemoryNonceStore } from '../../profiles/h4/attest.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const DEFAULT_BLOCK = 1024 * 1024;

function print(o: { json?: boolean }, human: string, json: unknown): void {
  process.stdout.write(o.json ? JSON.stringify(json) + '\n' : human + '\n');
}

function jsonObjectFile(file: string, what: string): JsonObject {
  const v = parseJson(readInput(file), { duplicateKeys: 'reject', maxBytes: 16 * 1024 * 1024 });
  if (!isJsonObject(v)) throw new EvidentError('INPUT_INVALID', `${what} must be a JSON object`);
  return v;
}

/** Category of an engine-sealing failure code (for `engine check`). */
function sealingCategory(code: string): FailureCategory {
  if (code === 'H4_ENGINE_FP_MISMATCH') return 'integrity';
  if (code === 'H4_ENGINE_ID_MISMATCH') return 'policy';
  return 'input';
}

/** Resolve the process engine (sealed when pinned); a sealing failure is a coded error (refuse to run). */
async function processEngine(): Promise<SealedEngineStatus> {
  return loadSealedEngine(process.env);
}

function pickEngine(name: string, st: SealedEngineStatus): Engine {
  if (st.sealed && st.engine.name === name) return st.engine;
  return builtinEngine(name);
}

export function register(program: Command): void {
  const h4mk = program
    .command('h4mk')
    .description('Build, inspect, sign, verify and extract HarmonyØ4 H4MK containers (format A, big-endian; see docs/h4.md).')
    .addHelpText('after', `\nBuilt-in engines: ${BUILTIN_ENGINE_NAMES.join(', ')}; a sealed engine (EVIDENT_ENGINE_ID/FP/PATH) is used by its id.`);

  h4mk
    .command('build')
    .description('Compress IN into CORE blocks with an engine and write an H4MK container (CORE…, SEEK, META, SAFE, VERI [, SIGN]).')
    .argument('<in>', 'input file ("-" for stdin)')
    .requiredOption('-o, --out <file>', 'output container (written atomically)')
    .requiredOption('--engine <name>', `compression engine: ${BUILTIN_ENGINE_NAMES.join(' | ')} | the sealed engine id`)
    .option('--key <file>', 'Ed25519 private key: append a SIGN chunk (strict verification needs it)')
    .option('--block-size <bytes>', `CORE block size (1..${MAX_BLOCK_BYTES}, default ${DEFAULT_BLOCK})`, String(DEFAULT_BLOCK))
    .option('--meta <file>', 'JSON object merged into META (key "compression" is reserved)')
    .option('--safe <file>', 'JSON object written as SAFE (default {})')
    .option('--json', 'print one JSON object {out, bytes, blocks, engine, veri, signed}')
    .action(
      action(async (input: string, o: { out: string; engine: string; key?: string; blockSize: string; meta?: string; safe?: string; json?: boolean }) => {
        const st = await processEngine();
        const engine = pickEngine(o.engine, st);
        const bs = Number(o.blockSize);
        if (!Number.isSafeInteger(bs) || bs < 1 || bs > MAX_BLOCK_BYTES) throw new EvidentError('INPUT_INVALID', `--block-size must be 1..${MAX_BLOCK_BYTES}`);
        const data = readInput(input);
        const blocks: Uint8Array[] = [];
        const seek: SeekEntry[] = [];
        for (let off = 0, i = 0; off < data.length; off += bs, i++) {
          blocks.push(data.subarray(off, Math.min(data.length, off + bs)));
          seek.push([i, off]);
        }
        // lossless values: a 1.0 stays 1.0 in META, as upstream's json.dumps of a float writes it
        const meta = o.meta ? (jsonObjectFile(o.meta, '--meta') as Record<string, unknown>) : { size: data.length, block_size: bs };
        const safe = o.safe ? (jsonObjectFile(o.safe, '--safe') as Record<string, unknown>) : {};
        const signKey = o.key ? loadPrivateKey(o.key, 'ed25519') : undefined;
        const out = buildH4mk({ blocks, engine, seek, meta, safe, signKey });
        writeFileAtomic(o.out, out);
        const p = parseH4mk(out);
        const veri = p.chunks.find((c) => c.tag === 'VERI')!;
        const summary = { out: o.out, bytes: out.length, blocks: blocks.length, engine: engine.info(), veri: toHex(payloadOf(p, veri)), signed: Boolean(signKey) };
        print(o, `wrote ${o.out}: ${out.length} bytes, ${blocks.length} CORE block(s), engine ${engine.name}, VERI ${summary.veri}${signKey ? ', signed' : ''}`, summary);
      }),
    );

  h4mk
    .command('inspect')
    .description('Print the chunk table, META, SAFE, SEEK and the VERI/CRC checks (compat report). Exit code per the contract.')
    .argument('<file>', 'H4MK container')
    .option('--json', 'print one JSON object {header, chunks, meta, safe, seek, report}')
    .action(
      action((file: string, o: { json?: boolean }) => {
        const bytes = readInput(file);
        if (looksLikeH4mkB(bytes)) {
          const b = verifyH4mkB(bytes, 'compat');
          const chunks = b.chunks.map((c) => ({ tag: c.type, flags: c.flags, offset: c.headerOffset, length: c.length, crc32: c.crc.toString(16).padStart(8, '0'), crcOk: c.crcOk }));
          const human = [`${file}: ${bytes.length} bytes, H4MK format B (media mux, little-endian, CRC-only)`, ...chunks.map((c) => `  ${c.tag}  flags ${c.flags}  offset ${c.offset}  length ${c.length}  crc32 ${c.crc32} ${c.crcOk ? 'ok' : 'MISMATCH'}`), `  verdict (compat): ${b.report.valid ? 'VALID' : 'INVALID'} (exit ${b.report.exitCode})`];
          print(o, human.join('\n'), { file, bytes: bytes.length, format: 'B', chunks, report: b.report.toJSON() });
          process.exitCode = b.report.exitCode;
          return;
        }
        const res = verifyH4mk(bytes, { mode: 'compat' });
        const p = res.parsed;
        const text = (tag: string) => {
          const c = p?.chunks.find((x) => x.tag === tag);
          return c ? Buffer.from(payloadOf(p!, c)).toString('utf8') : undefined;
        };
        let seek: Array<[string, string]> | undefined;
        try {
          const c = p?.chunks.find((x) => x.tag === 'SEEK');
          if (c) seek = decodeSeek(payloadOf(p!, c)).map(([a, b]) => [a.toString(), b.toString()]);
        } catch {
          seek = undefined;
        }
        const veri = p?.chunks.find((c) => c.tag === 'VERI');
        const obj = {
          file,
          bytes: bytes.length,
          header: p ? { version: p.version, reserved: p.reserved } : undefined,
          chunks: p?.chunks.map((c) => ({ tag: c.tag, offset: c.headerOffset, length: c.length, crc32: c.crc.toString(16).padStart(8, '0'), crcOk: c.crcOk })) ?? [],
          trailingBytes: p?.trailingBytes,
          meta: text('META'),
          safe: text('SAFE'),
          seek,
          veri: veri && p ? { stored: toHex(payloadOf(p, veri)), computed: toHex(computeVeri(bytes, veri.headerOffset)) } : undefined,
          signed: Boolean(p?.chunks.some((c) => c.tag === 'SIGN')),
          report: res.report.toJSON(),
        };
        if (o.json) process.stdout.write(JSON.stringify(obj) + '\n');
        else {
          const lines = [`${file}: ${bytes.length} bytes, H4MK version ${obj.header?.version ?? '?'}`];
          for (const c of obj.chunks) lines.push(`  ${c.tag}  offset ${c.offset}  length ${c.length}  crc32 ${c.crc32} ${c.crcOk ? 'ok' : 'MISMATCH'}`);
          if (obj.meta !== undefined) lines.push(`  META ${obj.meta}`);
          if (obj.safe !== undefined) lines.push(`  SAFE ${obj.safe}`);
          if (seek) lines.push(`  SEEK ${seek.length} entr${seek.length === 1 ? 'y' : 'ies'}`);
          if (obj.veri) lines.push(`  VERI stored ${obj.veri.stored}\n       computed ${obj.veri.computed} (integrity only, unkeyed)`);
          lines.push(`  SIGN ${obj.signed ? 'present (check with: evident verify FILE --key PUB)' : 'absent'}`);
          lines.push(`  verdict (compat): ${res.report.valid ? 'VALID' : 'INVALID'} (exit ${res.report.exitCode})${res.report.failures.map((f) => `\n    ${f.code}: ${f.message}`).join('')}`);
          process.stdout.write(lines.join('\n') + '\n');
        }
        process.exitCode = res.report.exitCode;
      }),
    );

  h4mk
    .command('verify')
    .description('Verify an H4MK container (same as `evident verify FILE`). Exit codes: 0 valid, 1 policy, 2 integrity, 3 signature, 4 key, 10 input.')
    .argument('<file>', 'H4MK container')
    .option('--key <file>', 'pinned Ed25519 public key for the SIGN chunk; repeatable', collect)
    .option('--trust <file>', 'trust store file (JSON)')
    .addOption(new Option('--mode <mode>', 'strict (SIGN required) or compat (VERI as integrity only)').choices(['strict', 'compat']).default('strict'))
    .option('--now <time>', 'verification time for trust-store key validity (RFC 3339)')
    .option('--json', 'print exactly one JSON report object on stdout')
    .action(
      action(async (file: string, o: { key?: string[]; trust?: string; mode: Mode; now?: string; json?: boolean }) => {
        const bytes = readInputLarge(file);
        if (looksLikeH4mkB(bytes)) return emitReport(verifyH4mkB(bytes, o.mode).report, o);
        emitReport((await verifyH4mkAsync(bytes, { mode: o.mode, keys: o.key, trust: o.trust, now: dateFlag(o.now, '--now') })).report, o);
      }),
    );

  h4mk
    .command('extract')
    .description(
      'Verify FILE, then decompress its CORE blocks with the engine META names and write them to OUT (atomically).\n' +
        'Nothing is written unless verification passes. A different engine than META names is refused (H4_ENGINE_MISMATCH).',
    )
    .argument('<file>', 'H4MK container')
    .requiredOption('-o, --out <file>', 'output file')
    .option('--engine <name>', 'expected engine (refused unless it is the one META names)')
    .option('--key <file>', 'pinned Ed25519 public key for the SIGN chunk; repeatable', collect)
    .option('--trust <file>', 'trust store file (JSON)')
    .addOption(new Option('--mode <mode>', 'strict (SIGN required) or compat').choices(['strict', 'compat']).default('strict'))
    .option('--json', 'print exactly one JSON report object on stdout')
    .action(
      action(async (file: string, o: { out: string; engine?: string; key?: string[]; trust?: string; mode: Mode; json?: boolean }) => {
        const res = await verifyH4mkAsync(readInputLarge(file), { mode: o.mode, keys: o.key, trust: o.trust });
        const r = res.report;
        if (r.valid && res.identity) {
          try {
            const st = await processEngine();
            let engine = engineForContainer(res.identity, st.sealed ? st.engine : undefined);
            if (o.engine !== undefined) {
              const asked = pickEngine(o.engine, st);
              if (!sameEngine(asked.info(), res.identity)) {
                extractCore(res, asked); // throws H4_ENGINE_MISMATCH
              }
              engine = asked;
            }
            const blocks = extractCore(res, engine);
            const data = concatBytes(...blocks);
            writeFileAtomic(o.out, data);
            r.pass('extract', `${blocks.length} CORE block(s) decompressed with ${engine.name}: ${data.length} bytes written to ${o.out}`);
          } catch (e) {
            const code = (e as { code?: string }).code ?? 'H4_EXTRACT_FAILED';
            const cat: FailureCategory = code === 'H4_ENGINE_MISMATCH' || code === 'H4_ENGINE_UNAVAILABLE' ? 'policy' : code === 'H4_DECOMPRESS_FAILED' ? 'integrity' : code.startsWith('H4_ENGINE_FP') ? 'integrity' : 'input';
            r.fail('extract', cat, code, (e as Error).message);
          }
        } else if (r.valid) r.fail('extract', 'input', 'H4MK_SEALING_MISSING', 'META names no engine: cannot extract');
        emitReport(r, o);
      }),
    );

  h4mk
    .command('sign')
    .description('Append a SIGN chunk (Ed25519 over VERI + the META engine identity) to an unsigned container whose VERI is valid.')
    .argument('<file>', 'H4MK container (e.g. an upstream file)')
    .requiredOption('-o, --out <file>', 'output container (written atomically)')
    .requiredOption('--key <file>', 'Ed25519 private key')
    .option('--json', 'print one JSON object {out, bytes}')
    .action(
      action((file: string, o: { out: string; key: string; json?: boolean }) => {
        const bytes = readInput(file);
        const res = verifyH4mk(bytes, { mode: 'compat' });
        if (!res.report.valid || !res.identity) {
          throw new EvidentError('H4MK_INVALID', `refusing to sign: ${res.report.failures.map((f) => f.code).join(', ') || 'META names no engine'}`);
        }
        if (res.parsed!.chunks.some((c) => c.tag === 'SIGN')) throw new EvidentError('H4MK_INVALID', 'container is already signed');
        const out = appendSign(bytes, loadPrivateKey(o.key, 'ed25519'), res.identity);
        writeFileAtomic(o.out, out);
        print(o, `wrote ${o.out}: ${out.length} bytes, signed`, { out: o.out, bytes: out.length });
      }),
    );

  const engine = program
    .command('engine')
    .description('Engine sealing and runtime attestation (EVIDENT_ENGINE_ID / EVIDENT_ENGINE_FP / EVIDENT_ENGINE_PATH, or HARMONY4_* names).')
    .addHelpText(
      'after',
      '\nWith pins set, a missing module, an id or fingerprint (SHA-256 of the module file) mismatch or a load failure is\n' +
        'refused with a coded error — never a fallback. Without pins the open reference engine runs with sealed: false.',
    );

  engine
    .command('check')
    .description('Load the engine the environment pins; exit 0 when it is sealed and matches (or no pins: reference, sealed false).')
    .option('--json', 'print exactly one JSON report object on stdout')
    .action(
      action(async (o: { json?: boolean }) => {
        const r = new Report('h4.engine', 'strict');
        try {
          const st = await processEngine();
          const i = st.engine.info();
          r.pass('engine', `${st.sealed ? 'sealed' : 'unsealed'} engine ${i.engine} (engine_id ${i.engine_id}, fingerprint ${i.fingerprint})${st.path ? ` from ${st.path}` : ''}`);
          if (!st.sealed) r.warn('sealed', 'ENGINE_UNSEALED', 'no engine pins: running the open reference engine, sealed: false');
        } catch (e) {
          const code = (e as { code?: string }).code ?? 'H4_ENGINE_LOAD_FAILED';
          r.fail('engine', sealingCategory(code), code, (e as Error).message);
        }
        emitReport(r, o);
      }),
    );

  engine
    .command('info')
    .description('Print the running engine\'s info (engine, engine_id, fingerprint, sealed, …). Fails like `engine check` when pins do not match.')
    .option('--json', 'print one JSON object')
    .action(
      action(async (o: { json?: boolean }) => {
        const st = await processEngine();
        const info = { ...st.engine.info(), name: st.engine.name, path: st.path ?? null, builtin: BUILTIN_ENGINE_NAMES };
        print(o, Object.entries(info).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`).join('\n'), info);
      }),
    );

  engine
    .command('attest')
    .description(
      'Attest the running engine. With --nonce and --key: a signed, nonce-bound attestation (evident.h4.attestation.v1).\n' +
        'Without --nonce: the upstream-compatible attestation (attestation_hash = SHA-256(engine_id|fingerprint|timestamp)) — UNSIGNED.',
    )
    .option('--nonce <nonce>', 'verifier-issued nonce (16–256 chars of [A-Za-z0-9._~+/=-])')
    .option('--key <file>', 'service Ed25519 private key (required with --nonce)')
    .option('--ttl <seconds>', 'lifetime of the signed attestation (default 300, max 3600)', '300')
    .option('--now <time>', 'attestation time (RFC 3339; default now)')
    .action(
      action(async (o: { nonce?: string; key?: string; ttl: string; now?: string }) => {
        const st = await processEngine();
        const now = dateFlag(o.now, '--now') ?? new Date();
        if (o.nonce === undefined) {
          if (o.key) throw new EvidentError('INPUT_INVALID', '--key needs --nonce (signed attestations are nonce-bound)');
          process.stderr.write('evident: warning: unsigned upstream-style attestation (no key, no nonce): anyone can mint one\n');
          process.stdout.write(JSON.stringify(compatAttestation(st.engine.info(), now.getTime())) + '\n');
          return;
        }
        if (!o.key) throw new EvidentError('KEY_MISSING', '--nonce needs --key (the service signing key)');
        const att = signAttestation({ info: st.engine.info(), nonce: o.nonce, key: loadPrivateKey(o.key, 'ed25519'), now, ttlSeconds: Number(o.ttl) });
        process.stdout.write(JSON.stringify(att) + '\n');
      }),
    );

  engine
    .command('verify-attestation')
    .description('Verify an attestation: signed (key, freshness, nonce binding, single use) or upstream-style (hash only, reported unsigned).')
    .argument('<file>', 'attestation JSON')
    .option('--nonce <nonce>', 'the nonce you issued (must match)')
    .option('--key <file>', 'pinned Ed25519 public key of the service; repeatable', collect)
    .option('--trust <file>', 'trust store file (JSON)')
    .option('--expect-id <id>', 'expected engine_id')
    .option('--expect-fp <hex>', 'expected engine fingerprint')
    .option('--now <time>', 'verification time (RFC 3339)')
    .addOption(new Option('--mode <mode>', 'strict or compat').choices(['strict', 'compat']).default('strict'))
    .option('--json', 'print exactly one JSON report object on stdout')
    .action(
      action(async (file: string, o: { nonce?: string; key?: string[]; trust?: string; expectId?: string; expectFp?: string; now?: string; mode: Mode; json?: boolean }) => {
        const a = toPlain(parseJson(readInput(file), { duplicateKeys: 'reject', maxBytes: 1024 * 1024 }));
        const expect = o.expectId !== undefined || o.expectFp !== undefined ? { engine_id: o.expectId ?? '', fingerprint: o.expectFp ?? '' } : undefined;
        let r: Report;
        if (looksLikeSignedAttestation(a)) {
          r = await verifySignedAttestation(a, { keys: o.key, trust: o.trust, nonceStore: new MemoryNonceStore(), expectedNonce: o.nonce, now: dateFlag(o.now, '--now'), expect });
          r.mode = o.mode;
        } else r = checkCompatAttestation(a, o.mode, expect);
        emitReport(r, o);
      }),
    );
}
