// A closed set of wire errors with stable machine codes (like undici's UND_ERR_*),
// so callers can map them to FORMERR, drop the packet or count them by code.

export type WireErrorCode =
  | 'TRUNCATED'       // the message ends before a field it promised
  | 'BAD_POINTER'     // a compression pointer that points forward, loops or hops too often
  | 'BAD_LABEL'       // a label type other than a plain length (0x40, 0x80 extended labels)
  | 'NAME_TOO_LONG'   // a name above 255 bytes on the wire
  | 'BAD_NAME'        // a presentation name that cannot be encoded
  | 'BAD_RDATA'       // rdata that does not match its type's layout
  | 'TOO_MANY_RECORDS'// record counts beyond what the message can hold
  | 'BAD_OPT'         // a second OPT, an OPT not at the root, or an OPT outside additional
  | 'TOO_BIG';        // an encoded message above 65535 bytes

export class WireError extends Error {
  readonly code: WireErrorCode;
  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.name = 'WireError';
    this.code = code;
  }
}
