import { describe, expect, it } from 'vitest';
import { RCODE, TYPE, typeName } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { rdataToText } from '../../dns/rdata.js';
import { Zone, ZoneSet } from './zone.js';
import { parseZoneText, ZoneFileError } from './zonefile.js';

function zone(origin: string, text: string): Zone {
  const r = parseZoneText(text, { file: origin + 'zone', origin: origin + '.' });
  if (r.issues.length) throw new ZoneFileError(r.issues);
  return Zone.fromRecords(origin, r.records, origin + 'zone');
}

const PARENT = zone('example.lab', `$TTL 300
@ SOA ns1 hostmaster 1 3600 900 604800 60
  NS ns1
ns1 A 192.0.2.1
www A 192.0.2.10
    AAAA 2001:db8::10
ftp CNAME www
alias CNAME www.other.lab.
chain1 CNAME chain2
chain2 CNAME ftp
loop CNAME loop
*.wild A 192.0.2.99
exists.wild TXT "here"
a.b.ent A 192.0.2.77
child NS ns.child
child NS ns1
child NS ns.far.lab.
ns.child A 192.0.2.50
tochild CNAME x.child
dn DNAME www.example.lab.
`);
const OTHER = zone('other.lab', `$TTL 60
@ SOA ns hm 1 2 3 4 5
  NS ns.example.lab.
www A 192.0.2.200
`);
const zones = new ZoneSet([PARENT, OTHER]);

const show = (rrs: ResourceRecord[]) => rrs.map((r) => `${r.name} ${typeName(r.type)} ${rdataToText(r.type, r.rdata)}`);
function ask(name: string, type: number) {
  const r = zones.lookup(name, type);
  return { rcode: r.rcode, aa: r.aa, answer: show(r.answers), authority: show(r.authority), additional: show(r.additional) };
}

describe('zone lookup (RFC 1034 4.3.2)', () => {
  it('answers authoritatively, keeping the case of the question', () => {
    expect(ask('WWW.example.lab', TYPE.A)).toEqual({ rcode: 0, aa: true, answer: ['WWW.example.lab A 192.0.2.10'], authority: [], additional: [] });
  });

  it('NODATA carries the SOA with TTL min(SOA TTL, MINIMUM)', () => {
    const r = zones.lookup('www.example.lab', TYPE.MX);
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers).toEqual([]);
    expect(r.authority.map((x) => [x.type, x.ttl])).toEqual([[TYPE.SOA, 60]]);
  });

  it('NXDOMAIN carries the SOA', () => {
    expect(ask('nope.example.lab', TYPE.A)).toMatchObject({ rcode: RCODE.NXDOMAIN, aa: true, answer: [], authority: [expect.stringContaining('SOA')] });
  });

  it('follows CNAMEs inside the zone and into other zones it serves', () => {
    expect(ask('chain1.example.lab', TYPE.A).answer).toEqual([
      'chain1.example.lab CNAME chain2.example.lab.', 'chain2.example.lab CNAME ftp.example.lab.',
      'ftp.example.lab CNAME www.example.lab.', 'www.example.lab A 192.0.2.10',
    ]);
    expect(ask('alias.example.lab', TYPE.A).answer).toEqual(['alias.example.lab CNAME www.other.lab.', 'www.other.lab A 192.0.2.200']);
    expect(ask('ftp.example.lab', TYPE.CNAME).answer).toEqual(['ftp.example.lab CNAME www.example.lab.']);
  });

  it('stops a CNAME loop', () => {
    expect(ask('loop.example.lab', TYPE.A)).toMatchObject({ rcode: 0, answer: ['loop.example.lab CNAME loop.example.lab.'] });
  });

  it('refers at a zone cut: NS in authority, in-zone addresses as glue, no AA', () => {
    expect(ask('deep.x.child.example.lab', TYPE.A)).toEqual({
      rcode: 0, aa: false, answer: [],
      authority: ['child.example.lab NS ns.child.example.lab.', 'child.example.lab NS ns1.example.lab.', 'child.example.lab NS ns.far.lab.'],
      additional: ['ns.child.example.lab A 192.0.2.50', 'ns1.example.lab A 192.0.2.1'],
    });
    // Glue below the cut is not authoritative data: asking for it is a referral too.
    expect(ask('ns.child.example.lab', TYPE.A).aa).toBe(false);
    // A CNAME into the child: the CNAME (authoritative) then the referral.
    expect(ask('tochild.example.lab', TYPE.A)).toMatchObject({ aa: true, answer: ['tochild.example.lab CNAME x.child.example.lab.'], authority: expect.arrayContaining([expect.stringContaining('NS ns.child')]) });
  });

  it('answers DS at the cut from the parent side', () => {
    expect(ask('child.example.lab', TYPE.DS)).toMatchObject({ rcode: 0, aa: true, answer: [], authority: [expect.stringContaining('SOA')] });
  });

  it('synthesises from a wildcard, but not for existing names or below them', () => {
    expect(ask('foo.wild.example.lab', TYPE.A).answer).toEqual(['foo.wild.example.lab A 192.0.2.99']);
    expect(ask('a.b.wild.example.lab', TYPE.A).answer).toEqual(['a.b.wild.example.lab A 192.0.2.99']);
    expect(ask('foo.wild.example.lab', TYPE.TXT)).toMatchObject({ rcode: 0, answer: [], authority: [expect.stringContaining('SOA')] });
    expect(ask('exists.wild.example.lab', TYPE.A)).toMatchObject({ rcode: 0, answer: [] });
    expect(ask('x.exists.wild.example.lab', TYPE.A).rcode).toBe(RCODE.NXDOMAIN);
    expect(ask('wild.example.lab', TYPE.A)).toMatchObject({ rcode: 0, answer: [] }); // an empty non-terminal
  });

  it('treats empty non-terminals as existing (NODATA, not NXDOMAIN)', () => {
    expect(ask('b.ent.example.lab', TYPE.A)).toMatchObject({ rcode: 0, aa: true, answer: [] });
    expect(ask('ent.example.lab', TYPE.A)).toMatchObject({ rcode: 0, answer: [] });
    expect(ask('c.b.ent.example.lab', TYPE.A).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('substitutes DNAME targets (RFC 6672)', () => {
    expect(ask('x.dn.example.lab', TYPE.A)).toMatchObject({
      rcode: RCODE.NXDOMAIN,
      answer: ['dn.example.lab DNAME www.example.lab.', 'x.dn.example.lab CNAME x.www.example.lab.'],
    });
  });

  it('answers ANY with one RRset (RFC 8482)', () => {
    expect(ask('www.example.lab', TYPE.ANY).answer).toEqual(['www.example.lab A 192.0.2.10']);
  });

  it('refuses names and classes it has no zone for', () => {
    expect(zones.lookup('www.example.com', TYPE.A)).toMatchObject({ rcode: RCODE.REFUSED, aa: false });
    expect(zones.lookup('www.example.lab', TYPE.TXT, 3)).toMatchObject({ rcode: RCODE.REFUSED, aa: false });
  });
});

describe('Zone.parse', () => {
  it('builds a zone from text, and names the line of a problem', () => {
    expect(Zone.parse('t.lab.', '$TTL 5\n@ SOA a b 1 2 3 4 5\n@ NS a\nx A 192.0.2.1').node('X.t.lab')?.rrsets.get(TYPE.A)).toHaveLength(1);
    expect(() => Zone.parse('t.lab', '$TTL 5\n@ SOA a b 1 2 3 4 5\n@ NS a\nx A nope', 'mem.zone')).toThrow(/^mem\.zone:4: A rdata "nope"/);
  });
});

describe('zone checks', () => {
  const bad = (text: string) => {
    try { zone('z.lab', text); } catch (e) { return (e as ZoneFileError).issues.map((i) => `${i.line}: ${i.message}`); }
    return [];
  };
  it('rejects data outside the zone, missing SOA or NS, and CNAME beside other data', () => {
    expect(bad('$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\nwww.other.lab. A 192.0.2.1')).toEqual(['4: www.other.lab is outside the zone z.lab']);
    expect(bad('$TTL 1\n@ NS a')[0]).toMatch(/no SOA/);
    expect(bad('$TTL 1\n@ SOA a b 1 2 3 4 5')[0]).toMatch(/no NS/);
    expect(bad('$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\nx CNAME a\nx A 192.0.2.1')).toEqual(['5: x.z.lab has a CNAME and other data (A)']);
    expect(bad('$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\nx SOA a b 1 2 3 4 5')).toEqual(['4: SOA is only allowed at the zone apex']);
  });
});
