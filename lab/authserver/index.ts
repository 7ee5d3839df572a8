// The lab's authoritative server: zone files in, answers out (see lab/README.md).
export { parseZoneText, parseZoneFile, parseTtl, absoluteName, ZoneFileError, formatZoneIssue, type ZoneFileErrorCode } from './zonefile.js';
export type { ZoneRecord, ZoneFileIssue, ParseOptions, ParseResult } from './zonefile.js';
export { Zone, ZoneSet, MAX_CHAIN } from './zone.js';
export type { LookupResult } from './zone.js';
export { answerQuery, startAuthServer } from './server.js';
export type { AuthServer, AuthServerOptions, AnswerContext } from './server.js';
