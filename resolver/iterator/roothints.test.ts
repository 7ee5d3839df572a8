import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../common/yaml-source.js';
import { builtinRootHints, loadRootHints, parseRootHints } from './roothints.js';

const SAMPLE = `;       This file holds the information on root name servers needed to
;       initialize cache of Internet domain name servers
;
; FORMERLY NS.INTERNIC.NET
;
.                        3600000      NS    A.ROOT-SERVERS.NET.
A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4
A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30
;
.                        3600000      NS    B.ROOT-SERVERS.NET.
B.ROOT-SERVERS.NET.      3600000      AAAA  2801:1b8:10::b
B.ROOT-SERVERS.NET.      3600000      A     170.247.170.2
; End of file
`;

function issuesOf(text: string): string[] {
  try {
    parseRootHints(text, 'hints.root');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => `${i.file}:${i.line}: ${i.field}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('root hints', () => {
  it('built-in set has the 13 IANA letters with IPv4 and IPv6', () => {
    const h = builtinRootHints();
    expect(h.nsNames).toHaveLength(13);
    expect(h.nsNames[0]).toBe('a.root-servers.net');
    expect(h.addresses.get('a.root-servers.net')).toEqual(['198.41.0.4', '2001:503:ba3e::2:30']);
    expect(h.addresses.get('b.root-servers.net')).toEqual(['170.247.170.2', '2801:1b8:10::b']);
    for (const n of h.nsNames) expect(h.addresses.get(n)).toHaveLength(2);
  });

  it('parses the named.root format, lower-cases names and puts IPv4 first', () => {
    const h = parseRootHints(SAMPLE);
    expect(h.nsNames).toEqual(['a.root-servers.net', 'b.root-servers.net']);
    expect(h.addresses.get('b.root-servers.net')).toEqual(['170.247.170.2', '2801:1b8:10::b']);
    expect(h.ttl).toBe(3600000);
  });

  it('accepts class IN and a missing TTL', () => {
    const h = parseRootHints('. IN NS ns.lab.\nns.lab. IN A 127.53.0.1\n');
    expect(h.addresses.get('ns.lab')).toEqual(['127.53.0.1']);
  });

  it('reports every problem with file and line', () => {
    const issues = issuesOf([
      '. 3600 NS a.root.',          // 1: fine, but no address later
      'a.root. 3600 A 300.1.1.1',   // 2: bad IPv4
      'b.root. 3600 A 192.0.2.1',   // 3: not an NS name
      'x. 3600 NS c.root.',         // 4: NS not at the root
      '. 3600 MX 10 mail.',         // 5: type not allowed (and field count)
      '. 3600 NS',                  // 6: no rdata
    ].join('\n'));
    expect(issues).toEqual([
      'hints.root:2: rdata: "300.1.1.1" is not an IPv4 address',
      'hints.root:4: owner: NS record for "x.": root hints hold only the root\'s NS set (owner ".")',
      'hints.root:5: rdata: expected one rdata field, got 2',
      'hints.root:6: rdata: expected one rdata field, got 0',
      'hints.root:3: owner: address for "b.root", which is not a root NS name',
      'hints.root:1: NS: root server "a.root" has no A or AAAA record',
    ]);
  });

  it('rejects an empty file', () => {
    expect(issuesOf('; nothing\n')).toEqual(['hints.root:1: NS: no NS records for the root (".")']);
  });

  it('loads from a file and names an unreadable one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hints-'));
    const f = join(dir, 'named.root');
    writeFileSync(f, SAMPLE);
    expect(loadRootHints(f).nsNames).toHaveLength(2);
    expect(() => loadRootHints(join(dir, 'missing.root'))).toThrow(/missing\.root:0: .*cannot read root hints/);
  });
});
