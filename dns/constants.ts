// Numbers as they appear on the wire (RFC 1035, IANA DNS parameters).

export const TYPE = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, RP: 17, AFSDB: 18,
  AAAA: 28, SRV: 33, NAPTR: 35, KX: 36, DNAME: 39, OPT: 41, DS: 43, SSHFP: 44, RRSIG: 46,
  NSEC: 47, DNSKEY: 48, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52, SVCB: 64, HTTPS: 65,
  IXFR: 251, AXFR: 252, MAILB: 253, MAILA: 254, ANY: 255, CAA: 257,
} as const;

export const CLASS = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const RCODE = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5,
  YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10, BADVERS: 16,
} as const;

export const OPCODE = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

/** EDNS option codes we act on. */
export const EDNS_OPTION = { NSID: 3, ECS: 8, COOKIE: 10, PADDING: 12, EDE: 15 } as const;

/** Flag bits inside the 16-bit header flags word. */
export const FLAG = {
  QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, Z: 0x0040, AD: 0x0020, CD: 0x0010,
} as const;

export const HEADER_LEN = 12;
/** Largest UDP payload we send to clients or advertise upstream (DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232;
/** Clients without EDNS are limited to 512 bytes (RFC 1035 section 4.2.1). */
export const CLASSIC_UDP_SIZE = 512;

const TYPE_NAMES = new Map<number, string>(Object.entries(TYPE).map(([k, v]) => [v, k]));
const CLASS_NAMES = new Map<number, string>(Object.entries(CLASS).map(([k, v]) => [v, k]));
const RCODE_NAMES = new Map<number, string>(Object.entries(RCODE).map(([k, v]) => [v, k]));

/** Presentation name of a type: mnemonic when known, else RFC 3597 TYPEnnn. */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

export function className(cls: number): string {
  return CLASS_NAMES.get(cls) ?? `CLASS${cls}`;
}

export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}

/** Parses a type mnemonic or TYPEnnn; returns undefined when it is neither. */
export function parseType(text: string): number | undefined {
  const upper = text.toUpperCase();
  const known = (TYPE as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m) {
    const n = Number(m[1]);
    if (n <= 0xffff) return n;
  }
  return undefined;
}

export function parseClass(text: string): number | undefined {
  const upper = text.toUpperCase();
  const known = (CLASS as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^CLASS(\d{1,5})$/.exec(upper);
  if (m) {
    const n = Number(m[1]);
    if (n <= 0xffff) return n;
  }
  return undefined;
}
