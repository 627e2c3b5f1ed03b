/**
 * One or more runnable examples for every command's `--help` (cosign/gh convention), keyed by the command path.
 * A test walks the whole program and fails on a command without an entry here.
 */
import type { Command } from 'commander';

export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': ['evident verify receipt.json --key issuer.pem', 'evident canon statement.json', 'evident serve'],
  canon: ['evident canon statement.json', 'echo \'{"b":1.0,"a":"é"}\' | evident canon --profile python', 'evident canon --digest manifest.json'],
  digest: ['evident digest README.md', 'evident digest a.bin b.bin', 'cat a.bin | evident digest'],
  keys: ['evident keys generate --out ./k', 'evident keys id ./k/public.pem --style jwk'],
  'keys generate': ['evident keys generate --out ./k', 'evident keys generate --alg ES256 --out ./k-es256'],
  'keys id': ['evident keys id ./k/public.pem', 'evident keys id ./k/public.pem --vkey example.com/log'],
  'keys rotate': ['evident keys rotate --data-dir ./evident-data'],
  'keys revoke': ['evident keys revoke sha256:3f1c… --data-dir ./evident-data --reason "key compromise"'],
  'keys list': ['evident keys list --data-dir ./evident-data --json'],
  'keys trust': ['evident keys trust add ./k/public.pem --trust trust.json --label release'],
  'keys trust add': ['evident keys trust add ./k/public.pem --trust trust.json --not-after 2027-12-31T23:59:59Z'],
  'keys trust revoke': ['evident keys trust revoke sha256:3f1c… --trust trust.json --reason superseded'],
  'keys trust list': ['evident keys trust list --trust trust.json'],
  sign: [
    'evident sign --key ./k/private.pem --dsse application/vnd.in-toto+json statement.json > statement.dsse.json',
    'evident sign --key ./k/private.pem --note note.txt',
    'evident sign --key ./k/private.pem --dsse text/plain - < msg.txt | evident verify - --key ./k/public.pem',
  ],
  'verifier-page': ['evident verifier-page --out verify.html', 'evident verifier-page --out - | gzip > verify.html.gz'],
  verify: [
    'evident verify receipt.json --key issuer.pem --log-key "$(cat log.vkey)"',
    'evident verify statement.dsse.json --key ./k/public.pem --artifact README.md --json',
    'cat packet.json | evident verify - --jwk public_key.jwk --mode compat',
  ],
  log: ['evident log init --key ./k/private.pem --origin example.com/log', 'evident log append entry.json'],
  'log init': ['evident log init --db sqlite:./log.db --key ./k/private.pem --origin example.com/log'],
  'log append': ['evident log append --db sqlite:./log.db --key ./k/private.pem entry1.json entry2.json'],
  'log checkpoint': ['evident log checkpoint --db sqlite:./log.db'],
  'log prove': ['evident log prove --db sqlite:./log.db --index 3 --out proof.json'],
  'log consistency': ['evident log consistency --db sqlite:./log.db --from 4 --to 9', 'evident log consistency --url https://log.example.com --log-key "$(cat log.vkey)" --from 4 --to 9'],
  'log entries': ['evident log entries --db sqlite:./log.db --from 0 --to 10 --json', 'evident log entries --url https://log.example.com --log-key "$(cat log.vkey)" --from 0 --to 10'],
  'log monitor': ['evident log monitor --url https://log.example.com --log-key "$(cat log.vkey)" --state monitor.json --audit', 'evident log monitor --url https://log.example.com --log-key "$(cat log.vkey)" --state monitor.json --watch 60 --json'],
  witness: ['evident witness serve --key witness.pem --log "$(cat log.vkey)"'],
  'witness serve': ['evident witness serve --key witness.pem --name witness.example.com --log "$(cat log.vkey)" --port 8090'],
  'witness vkey': ['evident witness vkey --key witness.pem --name witness.example.com'],
  hashmatch: ['evident hashmatch verify-match ./match-7 --key organizer.pub'],
  'hashmatch verify-match': ['evident hashmatch verify-match ./match-7 --key organizer.pub', 'evident hashmatch verify-match ./match-7 --mode compat --json'],
  'hashmatch verify-tournament': ['evident hashmatch verify-tournament ./tournament-42 --key organizer.pub'],
  'hashmatch verify-receipt': ['evident hashmatch verify-receipt ./match-7/receipt.json --key organizer.pub'],
  'hashmatch sign': ['evident hashmatch sign ./match-7 --key organizer.key --issuer "Example League"'],
  'hashmatch commit': ['evident hashmatch commit --tournament-seed 42 --secret secret.bin'],
  'hashmatch reveal': ['evident hashmatch reveal --secret secret.bin --out ./reveal'],
  'hashmatch event-proof': ['evident hashmatch event-proof ./match-7 --index 12 > event-12.json'],
  'hashmatch verify-event': ['evident hashmatch verify-event event-12.json --bundle ./match-7/receipt.json --key organizer.pub'],
  wcp: ['evident wcp verify ./worker --key worker.pub --worker-id org.example.worker'],
  'wcp scaffold': ['evident wcp scaffold ./worker'],
  'wcp package-hash': ['evident wcp package-hash ./worker', 'evident wcp package-hash ./worker --records'],
  'wcp sign': ['WCP_ATTEST_HMAC_KEY=… evident wcp sign ./worker --worker-id org.example.worker --species wrk.example --key ./k/private.pem'],
  'wcp verify': ['evident wcp verify ./worker --key worker.pub --worker-id org.example.worker --ban-list ban-list.json'],
  'wcp record-hash': ['evident wcp record-hash record.json', 'evident wcp record-hash record.json --verify --mode compat'],
  eli: ['evident eli verify packet.json --jwk public_key.jwk'],
  'eli verify': ['evident eli verify packet.json --jwk public_key.jwk', 'evident eli verify packet.json --jwk public_key.jwk --mode compat --upstream-json'],
  'eli issue': ['evident eli issue transaction.json --key rsa-private.pem --prompt prompt.txt --output output.txt --out packet.json'],
  'eli jwk': ['evident eli jwk rsa-public.pem > public_key.jwk'],
  seal: ['evident seal register --db sqlite:./seals.db --seal S-1 --key device.pub --firmware sha256:…'],
  'seal register': ['evident seal register --db sqlite:./seals.db --seal S-1 --key device.pub --firmware sha256:…'],
  'seal inspect': ['evident seal inspect --db sqlite:./seals.db --seal S-1 --sealed'],
  'seal state': ['evident seal state --db sqlite:./seals.db --seal S-1 --to deployed'],
  'seal revoke': ['evident seal revoke --db sqlite:./seals.db --seal S-1 --reason "tamper detected"'],
  'seal status': ['evident seal status --db sqlite:./seals.db --seal S-1 --json'],
  'seal snapshot': ['evident seal snapshot --db sqlite:./seals.db --out registry.json'],
  'seal challenge': ['evident seal challenge --seal S-1 --db sqlite:./seals.db --out challenge.json'],
  'seal respond': ['evident seal respond challenge.json --key device.pem --firmware sha256:… --out attestation.json'],
  'seal verify': ['evident seal verify challenge.json attestation.json --db sqlite:./seals.db'],
  'seal device': ['evident seal device --key device.pem --firmware sha256:… --http 8090'],
  h4mk: ['evident h4mk build input.bin -o out.h4mk --engine demo', 'evident h4mk verify out.h4mk'],
  'h4mk build': ['evident h4mk build input.bin -o out.h4mk --engine demo --meta meta.json'],
  'h4mk inspect': ['evident h4mk inspect out.h4mk --json'],
  'h4mk verify': ['evident h4mk verify out.h4mk', 'evident h4mk verify out.h4mk --key signer.pub --mode compat'],
  'h4mk extract': ['evident h4mk extract out.h4mk -o input.bin'],
  'h4mk sign': ['evident h4mk sign out.h4mk -o signed.h4mk --key ./k/private.pem'],
  engine: ['EVIDENT_ENGINE_PATH=./engine.js evident engine check'],
  'engine check': ['EVIDENT_ENGINE_PATH=./engine.js EVIDENT_ENGINE_ID=… EVIDENT_ENGINE_FP=… evident engine check --json'],
  'engine info': ['EVIDENT_ENGINE_PATH=./engine.js evident engine info --json'],
  'engine attest': ['evident engine attest --nonce 5f2a… --key ./k/private.pem > attestation.json'],
  'engine verify-attestation': ['evident engine verify-attestation attestation.json --nonce 5f2a… --key ./k/public.pem'],
  serve: ['evident serve', 'EVIDENT_PORT=9000 EVIDENT_DB=postgres://localhost/evident evident serve --origin log.example.com/evident'],
  token: ['evident token create --scope issue --label ci'],
  'token create': ['evident token create --scope issue,register --label ci'],
  'token list': ['evident token list'],
  'token revoke': ['evident token revoke 7'],
  receipt: ['evident receipt export --sigstore receipt.json > receipt.sigstore.json'],
  'receipt export': [
    'evident receipt export --sigstore receipt.json --out receipt.sigstore.json',
    'curl -s https://evident.example/v1/receipts/sha256:3f1c… | evident receipt export --sigstore - --log-key "$(cat log.vkey)"',
  ],
  'trusted-root': ['evident trusted-root --url https://evident.example --out trusted_root.json', 'evident trusted-root --data-dir ./evident-data'],
  tsa: ['evident tsa rotate --data-dir ./evident-data'],
  'tsa rotate': ['evident tsa rotate --data-dir ./evident-data --json'],
  version: ['evident version', 'evident version --json'],
  completion: ['evident completion bash > ~/.local/share/bash-completion/completions/evident', 'evident completion fish > ~/.config/fish/completions/evident.fish'],
};

/** Attach `Examples:` to the help of every command that has an entry in {@link EXAMPLES}. */
export function applyExamples(program: Command): void {
  const visit = (c: Command, path: string[]) => {
    const ex = EXAMPLES[path.join(' ')];
    if (ex) c.addHelpText('after', '\nExamples:\n' + ex.map((l) => `  $ ${l}`).join('\n'));
    for (const s of c.commands) visit(s, [...path, s.name()]);
  };
  visit(program, []);
}

/** Command paths of `program` that have no example (the test's check). */
export function commandsWithoutExamples(program: Command): string[] {
  const out: string[] = [];
  const visit = (c: Command, path: string[]) => {
    if (!EXAMPLES[path.join(' ')]) out.push(path.join(' ') || '(root)');
    for (const s of c.commands) visit(s, [...path, s.name()]);
  };
  visit(program, []);
  return out;
}
