/**
 * ELI-Sentinel receipt statements (predicate type https://evident.dev/eli/v1): the gateway packet is built by the
 * ELI library, its HALO chain computed; subject = final_hash. A claimed halo_chain must equal the recomputed one.
 */
import { EvidentError } from '../../kernel/errors.ts';
import { isJsonObject, toPlain, type JsonObject, type JsonValue } from '../../kernel/json/index.ts';
import { STATEMENT_TYPE, obj, hexOf, type PredicateProblem, type Statement, type StatementProfile, type Subject } from '../../receipts/statement.ts';
import { buildUnsignedPacket } from './issue.ts';
import { HALO_BLOCKS, checkHaloChain, type HaloChain } from './halo.ts';
import { jsonC14nV1, parseEliJson } from './c14n.ts';

export const ELI_PREDICATE = 'https://evident.dev/eli/v1';

/** An `eli` receipt request: transaction fields parsed losslessly (json_c14n_v1 keeps `1.0`); `now` stamps a missing gateway_timestamp_utc. */
export interface EliReceiptRequest {
  format: 'eli';
  transaction: JsonObject;
  texts?: EliTexts;
  now?: Date;
}

export type EliTexts = Partial<Record<'prompt' | 'rag' | 'multimodal' | 'output', string>>;

/**
 * Statement for an ELI transaction: the gateway packet is built by the ELI library (defaults for transaction_id,
 * timestamp, client_key_fingerprint, the no-policy denial), its HALO chain computed; subject = final_hash. The
 * receipt is an Evident DSSE signature over that packet, not an RS256 ELI signature: the packet carries no
 * `verification` block. A `halo_chain` given with the fields must equal the recomputed one (HALO_MISMATCH).
 */
export function eliStatement(transaction: JsonObject, opts: { texts?: EliTexts; now?: Date } = {}): Statement {
  if (!isJsonObject(transaction)) throw new EvidentError('INPUT_INVALID', 'transaction must be a JSON object');
  if ('verification' in transaction) throw new EvidentError('INPUT_INVALID', 'transaction.verification is not accepted: Evident signs the packet itself (DSSE), not RS256');
  const fields: JsonObject = { ...transaction };
  const claimed = fields.halo_chain;
  delete fields.halo_chain;
  const packet = buildUnsignedPacket(fields, { now: opts.now, texts: opts.texts });
  const chain = packet.halo_chain as unknown as HaloChain;
  if (claimed !== undefined) {
    const { mismatches } = checkHaloChain(packet, claimed);
    if (mismatches.length) throw new EvidentError('HALO_MISMATCH', `halo_chain does not match the transaction fields: ${mismatches.map((m) => m.block).join(', ')} (recomputed ${m0(mismatches)})`);
  }
  const txId = packet.transaction_id as string;
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: txId, digest: { sha256: hexOf(chain.final_hash) } }],
    predicateType: ELI_PREDICATE,
    predicate: {
      profile: 'halo_v1',
      transaction_id: txId,
      final_hash: chain.final_hash,
      halo_chain: { ...chain },
      packet_json_c14n_v1: jsonC14nV1(packet),
    },
  };
}

const m0 = (ms: Array<{ block: string; expected: string }>) => `${ms[0]!.block} = ${ms[0]!.expected}`;


function checkEli(p: Record<string, unknown>, problems: PredicateProblem[]): Subject[] {
  const text = p.packet_json_c14n_v1;
  if (typeof text !== 'string') {
    problems.push({ id: 'predicate.packet', message: 'packet_json_c14n_v1 must be a string' });
    return [];
  }
  const packet = parseEliJson(text, { duplicateKeys: 'reject' });
  if (!isJsonObject(packet)) throw new EvidentError('INPUT_INVALID', 'packet is not a JSON object');
  if (jsonC14nV1(packet) !== text) problems.push({ id: 'predicate.packet', message: 'packet_json_c14n_v1 is not in json_c14n_v1 form' });
  const { chain, mismatches } = checkHaloChain(packet, packet.halo_chain ?? null);
  for (const m of mismatches) problems.push({ id: `predicate.halo.${m.block}`, message: `${m.block} mismatch`, expected: m.expected, actual: m.actual });
  const claimed = obj(p.halo_chain) ?? {};
  for (const b of HALO_BLOCKS) if (claimed[b] !== chain[b]) problems.push({ id: `predicate.halo_chain.${b}`, message: `predicate halo_chain.${b} differs from the packet's recomputed chain`, expected: chain[b], actual: String(claimed[b]) });
  if (p.final_hash !== chain.final_hash) problems.push({ id: 'predicate.final_hash', message: 'final_hash differs from the recomputed chain', expected: chain.final_hash, actual: String(p.final_hash) });
  const txId = toPlain(packet.transaction_id as JsonValue);
  if (p.transaction_id !== txId) problems.push({ id: 'predicate.transaction_id', message: 'transaction_id differs from the packet', expected: String(txId), actual: String(p.transaction_id) });
  return [{ name: String(txId), digest: { sha256: hexOf(chain.final_hash) } }];
}

export const eliStatementProfile: StatementProfile = {
  format: 'eli',
  predicateType: ELI_PREDICATE,
  check: checkEli,
  rejectCodes: ['HALO_MISMATCH'],
};
