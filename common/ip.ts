// IPv4 address text: the project's one parser and one formatter. The parser is written
// by hand because it runs per packet (ACL, fastudp's reply queue), and it is strict
// because what the inventory and topology tools print is pasted into production
// switches: no leading zeros ("010.1.0.1" is octal to some parsers), exactly four
// parts, each 0-255, nothing around them.

/** Parses dotted-quad IPv4 from `text` starting at `start`; returns the address as uint32, or -1. */
export function parseIpv4(text: string, start = 0, end = text.length): number {
  let value = 0;
  let part = -1;
  let dots = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 3 || (digits > 0 && part === 0)) return -1; // too long, or a leading zero
      part = part < 0 ? c - 48 : part * 10 + (c - 48);
      digits++;
      if (part > 255) return -1;
    } else if (c === 46) {
      if (part < 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = -1;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (part < 0 || dots !== 3) return -1;
  return (value * 256 + part) >>> 0;
}

/** Dotted-quad text of an IPv4 address given as a uint32 (the inverse of parseIpv4). */
export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}
