import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { action, emitReport, writeFileAtomic } from '../util.ts';
import { Report } from '../../verify/report.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { loadPrivateKey } from '../../store/keyfiles.ts';
import { loadVerifyInput } from '../../verify/detect.ts';
import { toPlain } from '../../kernel/json/index.ts';
import {
  verifyMatchFolderStrict,
  verifyMatchFolderCompat,
  verifyTournamentStrict,
  verifyTournamentCompat,
  verifyReceiptFileStrict,
  verifyReceiptFileCompat,
  type HmVerifyOptions,
  type UpstreamTool,
} from '../../profiles/hashmatch/verify.ts';
import { looksLikeTournament, looksLikeMatch, looksLikeReceipt } from '../../profiles/hashmatch/detector.ts';
import { signFolder } from '../../profiles/hashmatch/bundle.ts';
import { newServerSeed, seedCommitment, revealedMatchSeed, checkReveal, parseServerSeed, type SeedReveal } from '../../profiles/hashmatch/seeds.ts';
import { readJson, obj } from '../../profiles/hashmatch/files.ts';
import { stableFile } from '../../profiles/hashmatch/stable.ts';
import { makeEventProof, verifyEventProof } from '../../profiles/hashmatch/eventproof.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

function verifyOpts(cmd: Command): Command {
  return cmd
    .option('--key <file>', 'pinned Ed25519 public key (SPKI PEM, JWK or raw); repeatable', collect)
    .option('--trust <file>', 'trust store file (JSON)')
    .option('--now <time>', 'verification time for trust-store validity (RFC 3339), default now')
    .addOption(new Option('--mode <mode>', 'strict (default: recompute and cross-check everything, pinned keys only) or compat (upstream verdict and exit code)').choices(['strict', 'compat']).default('strict'))
    .option('--json', 'print exactly one JSON report object on stdout');
}

function opts(o: Record<string, any>): HmVerifyOptions {
  const now = o.now ? new Date(o.now) : undefined;
  if (now && Number.isNaN(now.getTime())) throw new EvidentError('INPUT_INVALID', `--now is not a valid time: ${o.now}`);
  return { mode: o.mode, keys: o.key, trust: o.trust, now };
}

function needDir(dir: string, format: string, o: Record<string, any>, ok: (d: string) => boolean, what: string): boolean {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory() || !ok(dir)) {
    emitReport(new Report(format, o.mode).fail('input', 'input', 'INPUT_INVALID', `${dir} is not a ${what}`), o);
    return false;
  }
  return true;
}

/** Registers the `hashmatch` commands. */
export function register(program: Command): void {
  const hm = program
    .command('hashmatch')
    .description('HashMatch match/tournament bundles: verify (strict or upstream-compatible), sign, commit-reveal seeds.');

  verifyOpts(
    hm
      .command('verify-match')
      .description(
        'Verify a match folder (match.jsonl, match_manifest.json, match_summary.json, optional receipt.json/bundle_receipt.json).\n' +
          'strict: recomputes logHash/ManifestCore hash, cross-checks summary and log, verifies receipts with --key/--trust only.\n' +
          'compat: upstream verify-match verdict (0 pass, 1 mismatch, 2 missing file / bad JSON).',
      )
      .argument('<dir>', 'match folder'),
  ).action(
    action(async (dir: string, o: Record<string, any>) => {
      if (!needDir(dir, 'hashmatch.match', o, looksLikeMatch, 'match folder')) return;
      emitReport(o.mode === 'compat' ? await verifyMatchFolderCompat(dir) : await verifyMatchFolderStrict(dir, opts(o)), o);
    }),
  );

  verifyOpts(
    hm
      .command('verify-tournament')
      .description(
        'Verify a tournament folder. strict: every match, alias bytes, tournament manifest vs match logs and seeds, standings,\n' +
          'broadcast truthBundleHash, all receipts against --key/--trust, bundle_receipt.json.\n' +
          'compat: upstream verdict of --upstream TOOL (default verify-tournament: 0/1/2; verify-receipt uses --key as --pub).',
      )
      .argument('<dir>', 'tournament folder')
      .addOption(
        new Option('--upstream <tool>', 'compat only: which upstream verifier to reproduce')
          .choices(['verify-tournament', 'verify-receipt', 'validate-bundle', 'validate-bundle-require-signatures'])
          .default('verify-tournament'),
      ),
  ).action(
    action(async (dir: string, o: Record<string, any>) => {
      if (!needDir(dir, 'hashmatch.tournament', o, looksLikeTournament, 'tournament folder')) return;
      emitReport(o.mode === 'compat' ? await verifyTournamentCompat(dir, opts(o), o.upstream as UpstreamTool) : await verifyTournamentStrict(dir, opts(o)), o);
    }),
  );

  verifyOpts(
    hm
      .command('verify-receipt')
      .description(
        'Verify receipts: a tournament folder (all match receipts + tournament_receipt.json) or one receipt file.\n' +
          'strict: the signing key must be pinned (--key) or in the trust store (--trust); an embedded publicKey alone is exit 4.\n' +
          'compat: upstream verify-receipt verdict (0 pass / 1 otherwise; --key plays upstream --pub).',
      )
      .argument('<path>', 'tournament folder or receipt JSON file'),
  ).action(
    action(async (p: string, o: Record<string, any>) => {
      if (!fs.existsSync(p)) {
        emitReport(new Report('hashmatch.receipt', o.mode).fail('input', 'input', 'INPUT_UNREADABLE', `cannot read ${p}`), o);
        return;
      }
      if (fs.statSync(p).isDirectory()) {
        if (!needDir(p, 'hashmatch.tournament', o, looksLikeTournament, 'tournament folder')) return;
        emitReport(o.mode === 'compat' ? await verifyTournamentCompat(p, opts(o), 'verify-receipt') : await verifyTournamentStrict(p, opts(o)), o);
        return;
      }
      const input = loadVerifyInput(p);
      if (o.mode === 'compat' && input.jsonError && input.bytes) {
        // compat: upstream JSON.parse-s the UTF-8 text (duplicate keys: last wins), as `evident verify --mode compat`
        try {
          input.json = JSON.parse(Buffer.from(input.bytes).toString('utf8')) as never;
          input.jsonError = undefined;
        } catch {
          // (keeps the strict parse error)
        }
      }
      if (input.jsonError || input.json === undefined || !looksLikeReceipt(toPlain(input.json))) {
        emitReport(new Report('hashmatch.receipt', o.mode).fail('input', 'input', input.jsonError ? 'JSON_SYNTAX' : 'INPUT_INVALID', `${p} is not a HashMatch receipt`), o);
        return;
      }
      const v = toPlain(input.json!);
      emitReport(o.mode === 'compat' ? await verifyReceiptFileCompat(v, opts(o)) : await verifyReceiptFileStrict(p, v, input.bytes!, opts(o)), o);
    }),
  );

  hm.command('sign')
    .description(
      'Sign a tournament folder (every matches/*/receipt.json + tournament_receipt.json, upstream-compatible, hashes recomputed\n' +
        'from the files) or a single match folder (receipt.json), plus bundle_receipt.json binding the tournament manifest,\n' +
        'standings, each match\'s logHash/manifestHash/event root and an RFC 6962 Merkle root over the match logs.',
    )
    .argument('<dir>', 'tournament or match folder')
    .requiredOption('--key <file>', 'Ed25519 private key (PKCS#8 PEM, e.g. upstream organizer.key)')
    .requiredOption('--issuer <name>', 'issuedBy string written into every payload')
    .option('--no-bundle-receipt', 'write only the upstream receipts')
    .option('--json', 'print one JSON object {kind, matchReceipts, written}')
    .action(
      action(async (dir: string, o: Record<string, any>) => {
        const key = loadPrivateKey(o.key);
        const r = signFolder(dir, key, o.issuer, { bundleReceipt: o.bundleReceipt });
        if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
        else process.stdout.write(`Signed ${r.matchReceipts} match receipt(s)${r.kind === 'tournament' ? ' + 1 tournament receipt' : ''}${o.bundleReceipt !== false ? ' + bundle_receipt.json' : ''}.\n`);
      }),
    );

  hm.command('commit')
    .description(
      'Start a commit-reveal seed: generate a 32-byte serverSeed (or use --server-seed), write the secret reveal file\n' +
        '(mode 0600; publish it later as seed_reveal.json) and print the seedCommitment to publish now\n' +
        '(put it in tournament_manifest.json "seedCommitment" or match_manifest.json config.seedCommitment). Encoding: docs/hashmatch.md.',
    )
    .requiredOption('--tournament-seed <n>', 'tournament seed as its decimal string')
    .requiredOption('--secret <file>', 'where to write the secret reveal file (refuses to overwrite)')
    .option('--server-seed <hex>', '64 lowercase hex chars (default: random)')
    .option('--external-entropy <text>', 'optional public entropy (e.g. a future beacon value) mixed into match seeds')
    .option('--json', 'print one JSON object {seedCommitment, tournamentSeed}')
    .action(
      action(async (o: Record<string, any>) => {
        if (!/^-?\d+$/.test(o.tournamentSeed)) throw new EvidentError('INPUT_INVALID', '--tournament-seed must be a decimal integer');
        if (fs.existsSync(o.secret)) throw new EvidentError('INPUT_INVALID', `${o.secret} exists; refusing to overwrite a secret`);
        const serverSeed = o.serverSeed ?? newServerSeed();
        parseServerSeed(serverSeed);
        const reveal: SeedReveal = { version: 1, scheme: 'evident-hmac-sha256-v1', tournamentSeed: o.tournamentSeed, serverSeed, commitment: seedCommitment(serverSeed, o.tournamentSeed) };
        if (o.externalEntropy !== undefined) reveal.externalEntropy = o.externalEntropy;
        writeFileAtomic(o.secret, stableFile(reveal), 0o600);
        if (o.json) process.stdout.write(JSON.stringify({ seedCommitment: reveal.commitment, tournamentSeed: o.tournamentSeed }) + '\n');
        else process.stdout.write(reveal.commitment + '\n');
      }),
    );

  hm.command('reveal')
    .description(
      'Reveal a committed seed: check the secret file against its commitment (and --commitment if given), print the\n' +
        'derived uint32 seed of each --match-key, and with --out DIR write DIR/seed_reveal.json.',
    )
    .requiredOption('--secret <file>', 'secret reveal file written by `commit`')
    .option('--commitment <c>', 'published seedCommitment to check against')
    .option('--external-entropy <text>', 'set/override the external entropy now that it is public')
    .option('--match-key <key>', 'print the derived seed for this matchKey; repeatable', collect)
    .option('--out <dir>', 'write seed_reveal.json into this folder')
    .option('--json', 'print one JSON object {commitment, seeds}')
    .action(
      action(async (o: Record<string, any>) => {
        const r = readJson(o.secret, true);
        if (r.kind !== 'ok' || !obj(r.value)) throw new EvidentError('INPUT_INVALID', `cannot read secret file ${o.secret}`);
        const reveal = obj(r.value) as unknown as SeedReveal;
        if (o.externalEntropy !== undefined) reveal.externalEntropy = o.externalEntropy;
        const c = checkReveal(reveal, o.commitment);
        if (!c.ok) throw new EvidentError('SEED_COMMITMENT_MISMATCH', c.reason!);
        const seeds: Record<string, number> = {};
        for (const k of (o.matchKey as string[] | undefined) ?? []) seeds[k] = revealedMatchSeed(reveal.serverSeed, reveal.tournamentSeed, k, reveal.externalEntropy);
        if (o.out) writeFileAtomic(path.join(o.out, 'seed_reveal.json'), stableFile(reveal));
        if (o.json) process.stdout.write(JSON.stringify({ commitment: reveal.commitment, seeds }) + '\n');
        else {
          process.stdout.write(`commitment ${reveal.commitment} OK\n`);
          for (const [k, v] of Object.entries(seeds)) process.stdout.write(`${k}\t${v}\n`);
        }
      }),
    );

  hm.command('event-proof')
    .description('Print (one JSON object) an RFC 6962 inclusion proof of one match.jsonl line under the match eventRoot signed by bundle_receipt.json.')
    .argument('<matchDir>', 'match folder')
    .requiredOption('--index <n>', '0-based line index in match.jsonl')
    .action(
      action(async (dir: string, o: Record<string, any>) => {
        process.stdout.write(JSON.stringify(makeEventProof(dir, Number(o.index))) + '\n');
      }),
    );

  hm.command('verify-event')
    .description('Verify an event proof (partial verification of one event); with --bundle, its eventRoot must be signed by a trusted key.')
    .argument('<proof>', 'proof JSON file from event-proof')
    .option('--bundle <file>', 'bundle_receipt.json that must bind the eventRoot')
    .option('--key <file>', 'pinned public key; repeatable', collect)
    .option('--trust <file>', 'trust store file (JSON)')
    .option('--json', 'print exactly one JSON report object on stdout')
    .action(
      action(async (file: string, o: Record<string, any>) => {
        const r = readJson(file, true);
        if (r.kind !== 'ok') {
          emitReport(new Report('hashmatch.event-proof', 'strict').fail('input', 'input', r.kind === 'missing' ? 'INPUT_UNREADABLE' : r.code, `cannot read ${file}`), o);
          return;
        }
        emitReport(verifyEventProof(r.value, { bundle: o.bundle, keys: o.key, trust: o.trust }), o);
      }),
    );
}
