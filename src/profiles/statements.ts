/**
 * The receipt statement profiles, composed (the only place that lists them): HashMatch, ELI-Sentinel, WCP. Each is
 * owned by its profile (src/profiles/<x>/statement.ts); src/receipts/ stays profile-agnostic and gets this list
 * passed in (verify/detectors.ts for the receipt verifier, the service for issuing).
 */
import { checkProfileStatement, type PredicateProblem, type Statement, type StatementProfile } from '../receipts/statement.ts';
import { hashMatchRequestStatement, hashMatchStatementProfile, type HashMatchReceiptRequest } from './hashmatch/statement.ts';
import { eliStatement, eliStatementProfile, type EliReceiptRequest } from './eli/statement.ts';
import { wcpStatement, wcpStatementProfile, type WcpReceiptRequest } from './wcp/statement.ts';

export { hashMatchMatchStatement, hashMatchTournamentStatement, HASHMATCH_PREDICATE, MAX_TOURNAMENT_MATCHES } from './hashmatch/statement.ts';
export type { HashMatchMatchInput, HashMatchTournamentInput, HashMatchReceiptRequest } from './hashmatch/statement.ts';
export { eliStatement, ELI_PREDICATE } from './eli/statement.ts';
export type { EliTexts, EliReceiptRequest } from './eli/statement.ts';
export { wcpStatement, wcpRecordFacts, WCP_PREDICATE } from './wcp/statement.ts';
export type { WcpRecordFacts, WcpReceiptRequest } from './wcp/statement.ts';

export const STATEMENT_PROFILES: readonly StatementProfile[] = [hashMatchStatementProfile, eliStatementProfile, wcpStatementProfile];

/** A receipt request for a profile statement (the service builds the statement from the artifact). */
export type FormatReceiptRequest = HashMatchReceiptRequest | EliReceiptRequest | WcpReceiptRequest;

/** The `format` of every profile receipt request. */
export const FORMAT_REQUEST_FORMATS = ['hashmatch', 'eli', 'wcp'] as const;

export const FORMAT_PREDICATES: ReadonlySet<string> = new Set(STATEMENT_PROFILES.map((p) => p.predicateType));

/**
 * Library refusals meaning "well-formed, but the artifact contradicts itself or is refused by policy" (HTTP 422),
 * as opposed to INPUT_* / JSON_* (malformed request, HTTP 400).
 */
export const REJECT_CODES: ReadonlySet<string> = new Set(STATEMENT_PROFILES.flatMap((p) => p.rejectCodes));

/** The in-toto Statement a profile request stands for. Throws coded refusals. */
export function formatStatement(req: FormatReceiptRequest, issuerKid: string): Statement {
  switch (req.format) {
    case 'hashmatch':
      return hashMatchRequestStatement(req, issuerKid);
    case 'eli':
      return eliStatement(req.transaction, { texts: req.texts, now: req.now });
    case 'wcp':
      return wcpStatement(req.record);
  }
}

/** {@link checkProfileStatement} over every profile: undefined when the predicate type is none of ours. */
export function checkFormatStatement(statement: unknown): PredicateProblem[] | undefined {
  return checkProfileStatement(statement, STATEMENT_PROFILES);
}
