// Root hints: where resolution starts before the root NS set has been primed.
// The built-in set is IANA's named.root (the thirteen root server letters, IPv4 and
// IPv6). A file in the same format can replace it (--root-hints), which is how the
// lab and the tests point the resolver at a root served on loopback.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ConfigError, type ConfigIssue } from '../../common/yaml-source.js';
import { lowerName, normalizeName } from '../../dns/name.js';
import { parseClass, parseType, TYPE, CLASS } from '../../dns/constants.js';

export interface RootHints {
  /** Root server names, lower case, in file order. */
  nsNames: string[];
  /** Addresses per root server name (lower case); IPv4 first. */
  addresses: Map<string, string[]>;
  /** TTL of the NS set in the hints, seconds (3600000 in IANA's file). */
  ttl: number;
}

const IANA: Array<[string, string, string]> = [
  ['a', '198.41.0.4', '2001:503:ba3e::2:30'],
  ['b', '170.247.170.2', '2801:1b8:10::b'],
  ['c', '192.33.4.12', '2001:500:2::c'],
  ['d', '199.7.91.13', '2001:500:2d::d'],
  ['e', '192.203.230.10', '2001:500:a8::e'],
  ['f', '192.5.5.241', '2001:500:2f::f'],
  ['g', '192.112.36.4', '2001:500:12::d0d'],
  ['h', '198.97.190.53', '2001:500:1::53'],
  ['i', '192.36.148.17', '2001:7fe::53'],
  ['j', '192.58.128.30', '2001:503:c27::2:30'],
  ['k', '193.0.14.129', '2001:7fd::1'],
  ['l', '199.7.83.42', '2001:500:9f::42'],
  ['m', '202.12.27.33', '2001:dc3::35'],
];

/** IANA's root hints (named.root, last changed when b.root-servers.net renumbered in 2023). */
export function builtinRootHints(): RootHints {
  const nsNames: string[] = [];
  const addresses = new Map<string, string[]>();
  for (const [letter, v4, v6] of IANA) {
    const name = `${letter}.root-servers.net`;
    nsNames.push(name);
    addresses.set(name, [v4, v6]);
  }
  return { nsNames, addresses, ttl: 3600000 };
}

/**
 * Parses the named.root format: one record per line, `OWNER [TTL] [CLASS] TYPE RDATA`,
 * comments after ';'. Only NS records at the root and A/AAAA records for those NS
 * names are meaningful; anything else is an error, so a typo cannot silently leave
 * the resolver without a root. Every problem is reported as FILE:LINE: FIELD: MESSAGE.
 */
export function parseRootHints(text: string, file = 'root-hints'): RootHints {
  const issues: ConfigIssue[] = [];
  const err = (line: number, field: string, message: string) => issues.push({ file, line, field, message });
  const nsNames: string[] = [];
  const nsLine = new Map<string, number>();
  const addrs: Array<{ name: string; ip: string; line: number }> = [];
  let ttl = Infinity;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const body = stripComment(lines[i]).trim();
    if (body === '') continue;
    if (body.startsWith('$')) { err(lineNo, 'directive', `directive "${body.split(/\s+/)[0]}" is not supported in root hints`); continue; }
    const tok = body.split(/\s+/);
    let owner: string;
    try {
      owner = lowerName(normalizeName(tok[0]));
    } catch (e) {
      err(lineNo, 'owner', `"${tok[0]}" is not a valid name: ${(e as Error).message}`);
      continue;
    }
    let p = 1;
    let recTtl: number | undefined;
    // TTL and class may come in either order (RFC 1035 section 5.1).
    for (let k = 0; k < 2 && p < tok.length; k++) {
      if (/^\d+$/.test(tok[p])) { recTtl = Number(tok[p]); p++; continue; }
      const cls = parseClass(tok[p]);
      if (cls !== undefined && parseType(tok[p]) === undefined) {
        if (cls !== CLASS.IN) err(lineNo, 'class', `class ${tok[p]} is not IN`);
        p++;
        continue;
      }
      break;
    }
    const typeText = tok[p];
    if (typeText === undefined) { err(lineNo, 'type', 'record has no type'); continue; }
    const type = parseType(typeText);
    const rdata = tok.slice(p + 1);
    if (rdata.length !== 1) { err(lineNo, 'rdata', `expected one rdata field, got ${rdata.length}`); continue; }
    if (type === TYPE.NS) {
      if (owner !== '') { err(lineNo, 'owner', `NS record for "${tok[0]}": root hints hold only the root's NS set (owner ".")`); continue; }
      let target: string;
      try {
        target = lowerName(normalizeName(rdata[0]));
      } catch (e) {
        err(lineNo, 'rdata', `NS target "${rdata[0]}" is not a valid name: ${(e as Error).message}`);
        continue;
      }
      if (!nsLine.has(target)) { nsNames.push(target); nsLine.set(target, lineNo); }
      if (recTtl !== undefined) ttl = Math.min(ttl, recTtl);
    } else if (type === TYPE.A || type === TYPE.AAAA) {
      const want = type === TYPE.A ? 4 : 6;
      if (isIP(rdata[0]) !== want) { err(lineNo, 'rdata', `"${rdata[0]}" is not an IPv${want} address`); continue; }
      addrs.push({ name: owner, ip: rdata[0], line: lineNo });
    } else {
      err(lineNo, 'type', `type ${typeText} is not allowed in root hints (only NS, A, AAAA)`);
    }
  }
  const addresses = new Map<string, string[]>();
  for (const a of addrs) {
    if (!nsLine.has(a.name)) { err(a.line, 'owner', `address for "${a.name}", which is not a root NS name`); continue; }
    const list = addresses.get(a.name) ?? [];
    if (!list.includes(a.ip)) list.push(a.ip);
    addresses.set(a.name, list);
  }
  if (nsNames.length === 0 && issues.length === 0) err(1, 'NS', 'no NS records for the root (".")');
  for (const n of nsNames) {
    if (!addresses.has(n)) err(nsLine.get(n)!, 'NS', `root server "${n}" has no A or AAAA record`);
  }
  if (issues.length) throw new ConfigError(issues);
  for (const list of addresses.values()) list.sort((a, b) => isIP(a) - isIP(b));
  return { nsNames, addresses, ttl: Number.isFinite(ttl) ? ttl : 3600000 };
}

function stripComment(line: string): string {
  const at = line.indexOf(';');
  return at < 0 ? line : line.slice(0, at);
}

/** Reads a named.root file; an unreadable file becomes a ConfigError naming it. */
export function loadRootHints(file: string): RootHints {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file, line: 0, field: '', message: `cannot read root hints: ${(e as Error).message}` }]);
  }
  return parseRootHints(text, file);
}
