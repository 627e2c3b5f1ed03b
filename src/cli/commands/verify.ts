import { Command, Option } from 'commander';
import { action, emitReport, readInput } from '../util.ts';
import { listFormats } from '../../verify/detect.ts';
import { runVerify, type VerifyFlags } from '../../verify/run.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `evident verify ARTIFACT`: auto-detects the format and prints the one report model. */
export function register(program: Command): void {
  program
    .command('verify')
    .summary('Verify any artifact (format auto-detected); exit 0 valid, 1 policy, 2 integrity, 3 signature, 4 key, 10 input')
    .description(
      'Verify any artifact Evident knows (format auto-detected): HashMatch match/tournament folders and receipts,\n' +
        'WCP packages, ELI packets, CPHAR attestations (with --challenge), H4MK containers, tlog-proofs,\n' +
        'DSSE envelopes, signed notes, and Sigstore bundles (with --artifact and --trusted-root or --key;\n' +
        'docs/sigstore-verify.md). Exit codes: 0 valid, 1 policy, 2 integrity, 3 signature, 4 key, 10 input.',
    )
    .argument('<artifact>', 'file or directory to verify, or - for stdin')
    .option('--key <file>', 'pinned public key (PEM, JWK or vkey); repeatable', collect)
    .option('--trust <file>', 'trust store file (JSON)')
    .option('--log-key <key>', 'pinned transparency-log key (vkey string or file) for tlog-proofs')
    .option('--entry <file>', 'tlog-proof: the logged entry bytes (needed when the proof carries no extra line)')
    .option('--leaf-hash <hex>', 'tlog-proof: the RFC 6962 leaf hash of the logged entry (instead of --entry)')
    .option('--witness <vkey>', 'tlog-proofs, receipts, checkpoints: pinned witness cosignature vkey (string or file); repeatable', collect)
    .option('--witness-quorum <n>', 'valid cosignatures required from the --witness keys (default: all of them); fewer is exit 1')
    .option('--challenge <file>', 'CPHAR challenge the attestation answers')
    .option('--seal-registry <file>', 'CPHAR: registry snapshot (`evident seal snapshot --out`) instead of --db: offline, replay not checked')
    .option('--db <url>', 'database URL for registry/nonce checks (sqlite:PATH or postgres://…)')
    .option('--now <time>', 'verification time (RFC 3339), default now')
    .option('--format <name>', `force a format instead of auto-detection`)
    .addOption(new Option('--mode <mode>', 'strict (default) or compat (upstream verdicts)').choices(['strict', 'compat']).default('strict'))
    .option('--worker-id <id>', 'WCP: expected worker id')
    .option('--species <id>', 'WCP: expected worker species id')
    .option('--ban-list <file>', 'WCP: ban list JSON file')
    .option('--jwk <file>', 'ELI: public JWK file')
    .option('--artifact <file>', 'file the artifact covers (signed blob, or a subject checked by digest); repeatable', collect)
    .option('--trusted-root <file>', 'Sigstore: TrustedRoot JSON (Fulcio CAs, Rekor logs, CT logs, TSAs); never fetched')
    .option('--certificate-identity <id>', 'Sigstore: expected signing identity (certificate SAN), exact')
    .option('--certificate-identity-regexp <re>', 'Sigstore: expected signing identity (certificate SAN), regular expression')
    .option('--certificate-oidc-issuer <url>', 'Sigstore: expected OIDC issuer of the signing certificate')
    .option('--json', 'print exactly one JSON report object on stdout')
    .addHelpText('after', () => `\nKnown formats: ${listFormats().join(', ') || '(none registered)'}`)
    .action(
      action(async (artifact: string, o: VerifyFlags & { json?: boolean }) => {
        // `-` reads the artifact from stdin (so `evident sign … | evident verify - …` works)
        emitReport(await runVerify(artifact, o, () => readInput('-')), o);
      }),
    );
}
