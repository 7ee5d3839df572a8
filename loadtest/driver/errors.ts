// The load generator's errors: a closed set of machine codes (like dns/errors.ts and
// undici's UND_ERR_*), so a caller can tell a bad option from an unreachable server
// without reading the message, which is for operators.

export type DriverErrorCode =
  | 'BAD_OPTION'   // an option that cannot work (qps 0, no window, a source of the other IP family)
  | 'BIND'         // a UDP socket could not be opened or bound to its source address
  | 'CONNECT'      // the server address cannot be used (name does not resolve, connect refused)
  | 'UNREACHABLE'  // not one TCP connection to the server came up
  | 'WORKER';      // a generator thread (--threads) failed

const CODES: ReadonlySet<string> = new Set<DriverErrorCode>(['BAD_OPTION', 'BIND', 'CONNECT', 'UNREACHABLE', 'WORKER']);

/** True when `code` is one of DriverErrorCode (a code that crossed a thread boundary as a string). */
export function isDriverErrorCode(code: unknown): code is DriverErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

/** A run that could not start or could not do anything useful; the message is for operators. */
export class DriverError extends Error {
  readonly code: DriverErrorCode;
  constructor(code: DriverErrorCode, message: string) {
    super(message);
    this.name = 'DriverError';
    this.code = code;
  }
}
