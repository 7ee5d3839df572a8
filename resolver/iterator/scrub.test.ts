import { describe, expect, it } from 'vitest';
import { scrubResponse, dnameSubstitute } from './scrub.js';
import { classifyResponse } from './classify.js';
import type { Message, ResourceRecord } from '../../dns/message.js';
import { rdataFromText, rdataToText } from '../../dns/rdata.js';
import { FLAG, TYPE, parseType, typeName } from '../../dns/constants.js';

function rr(line: string): ResourceRecord {
  const [name, ttl, type, ...rest] = line.split(/\s+/);
  const t = parseType(type)!;
  return { name: name === '.' ? '' : name.replace(/\.$/, ''), type: t, class: 1, ttl: Number(ttl), rdata: rdataFromText(t, rest.join(' ')) };
}

function msg(p: { rcode?: number; aa?: boolean; ra?: boolean; an?: string[]; ns?: string[]; ar?: string[] }): Message {
  let flags = FLAG.QR;
  if (p.aa) flags |= FLAG.AA;
  if (p.ra) flags |= FLAG.RA;
  return { id: 1, flags, rcode: p.rcode ?? 0, opcode: 0, questions: [], answers: (p.an ?? []).map(rr), authority: (p.ns ?? []).map(rr), additional: (p.ar ?? []).map(rr) };
}

const text = (rs: ResourceRecord[]) => rs.map((r) => `${r.name} ${typeName(r.type)} ${rdataToText(r.type, r.rdata)}`);
const q = (name: string, type: number = TYPE.A) => ({ name, type, class: 1 });

describe('scrub', () => {
  it('keeps the answer chain and drops answer records off the chain or out of zone', () => {
    const m = msg({
      aa: true,
      an: [
        'www.example.com 300 CNAME web.example.com.',
        'evil.bank.com 300 A 6.6.6.6',          // out of zone
        'other.example.com 300 A 6.6.6.7',      // in zone but not on the chain
        'web.example.com 300 A 192.0.2.1',
      ],
    });
    const s = scrubResponse(m, q('www.example.com'), 'example.com');
    expect(text(s.answers)).toEqual(['www.example.com CNAME web.example.com.', 'web.example.com A 192.0.2.1']);
    expect(s.answered).toBe(true);
    expect(s.dropped).toBe(2);
    expect(classifyResponse(m, s, 'example.com')).toBe('answer');
  });

  it('stops the chain where a CNAME leaves the zone and drops the forged target data', () => {
    const m = msg({ aa: true, an: ['www.example.com 300 CNAME www.bank.com.', 'www.bank.com 300 A 6.6.6.6'] });
    const s = scrubResponse(m, q('www.example.com'), 'example.com');
    expect(text(s.answers)).toEqual(['www.example.com CNAME www.bank.com.']);
    expect(s.finalName).toBe('www.bank.com');
    expect(s.stop).toBe('out-of-zone');
    expect(classifyResponse(m, s, 'example.com')).toBe('cname');
  });

  it('detects a CNAME loop inside one response', () => {
    const m = msg({ aa: true, an: ['a.example.com 300 CNAME b.example.com.', 'b.example.com 300 CNAME a.example.com.'] });
    const s = scrubResponse(m, q('a.example.com'), 'example.com');
    expect(s.stop).toBe('loop');
  });

  it('synthesises the CNAME from a DNAME and ignores a forged one', () => {
    const m = msg({
      aa: true,
      an: ['example.com 300 DNAME example.net.', 'www.example.com 300 CNAME www.evil.com.'],
    });
    const s = scrubResponse(m, q('www.example.com'), 'example.com');
    expect(text(s.answers)).toEqual(['example.com DNAME example.net.', 'www.example.com CNAME www.example.net.']);
    expect(s.answers[1].ttl).toBe(300);
    expect(s.finalName).toBe('www.example.net');
  });

  it('a DNAME into its own parent applies again to the name it made, listed once, and keeps its RRSIG', () => {
    // x. DNAME . rewrites a.x.x. to a.x. and that to a. (RFC 6672 2.2); the server's
    // own CNAMEs, forged or not, give way to the synthesis.
    const m = msg({
      aa: true,
      an: ['x 300 DNAME .', 'x 300 RRSIG \\# 23 00270801 0000012c 70000000 5e000000 0001 00 deadbeef', 'a.x.x 300 CNAME evil.example.', 'a 300 TXT "end"'],
    });
    const s = scrubResponse(m, q('a.x.x', TYPE.TXT), '');
    expect(text(s.answers)).toEqual(['x DNAME .', 'a.x.x CNAME a.x.', 'a.x CNAME a.', 'a TXT "end"']);
    expect(s.answered).toBe(true);
    // The kept answer is as long as the message: its RRSIG must still be read.
    expect(s.sigs.map((r) => r.name)).toEqual(['x']);
  });

  it('a CNAME question below a DNAME gets the synthesised CNAME, not the one the server sent', () => {
    const m = msg({ aa: true, an: ['example.com 300 DNAME example.net.', 'www.example.com 300 CNAME www.evil.com.'] });
    const s = scrubResponse(m, q('www.example.com', TYPE.CNAME), 'example.com');
    expect(text(s.answers)).toEqual(['example.com DNAME example.net.', 'www.example.com CNAME www.example.net.']);
    expect(s.answered).toBe(true);
  });

  it('DNAME substitution that overflows 255 bytes is YXDOMAIN', () => {
    const long = Array.from({ length: 4 }, () => 'a'.repeat(60)).join('.');
    expect(dnameSubstitute(`abcdefghij.y.example.com`, "example.com", long)).toBeUndefined();
    expect(dnameSubstitute(`x.y.example.com`, "example.com", long)).toHaveLength(4 * 61 - 1 + 4);
    expect(dnameSubstitute('a.b.example.com', 'example.com', 'example.net')).toBe('a.b.example.net');
    expect(dnameSubstitute('a.example.com', 'example.com', '')).toBe('a');
  });

  it('referral keeps the NS set and in-delegation glue only', () => {
    const m = msg({
      ns: [
        'example.com 3600 NS ns1.example.com.',
        'example.com 3600 NS ns.other.net.',
        'bank.com 3600 NS ns.evil.net.',     // not above the question
        'com 3600 NS evil.',                 // the zone itself (upward data): dropped with the deeper cut kept
      ],
      ar: [
        'ns1.example.com 3600 A 192.0.2.53',
        'ns.other.net 3600 A 6.6.6.1',         // out of the delegation (and zone)
        'www.example.com 3600 A 6.6.6.2',      // not an NS name
        'ns.evil.net 3600 A 6.6.6.3',
        'ns1.example.com 3600 TXT "not an address"',
      ],
    });
    const s = scrubResponse(m, q('www.example.com'), 'com');
    expect(text(s.ns)).toEqual(['example.com NS ns1.example.com.', 'example.com NS ns.other.net.']);
    expect(text(s.glue)).toEqual(['ns1.example.com A 192.0.2.53']);
    expect(classifyResponse(m, s, 'com')).toBe('referral');
  });

  it('sibling glue inside the server\'s zone is kept; glue outside it is dropped, or kept apart with looseGlue', () => {
    // The com server may say where ns.sibling.com is (it serves com); it may not say where ns.other.net is.
    const m = msg({ ns: ['example.com 3600 NS ns.sibling.com.', 'example.com 3600 NS ns.other.net.'], ar: ['ns.sibling.com 3600 A 192.0.2.8', 'ns.other.net 3600 A 192.0.2.9'] });
    const s = scrubResponse(m, q('www.example.com'), 'com');
    expect(text(s.glue)).toEqual(['ns.sibling.com A 192.0.2.8']);
    expect(s.looseGlue).toEqual([]);
    expect(s.ns).toHaveLength(2);
    // The root's referral to com with a.gtld-servers.net's address: in the root's bailiwick.
    const root = msg({ ns: ['com 172800 NS a.gtld-servers.net.'], ar: ['a.gtld-servers.net 172800 A 192.5.6.30'] });
    expect(text(scrubResponse(root, q('www.example.com'), '').glue)).toEqual(['a.gtld-servers.net A 192.5.6.30']);
    // harden-glue off: the out-of-bailiwick address comes back apart, never mixed with glue.
    const loose = scrubResponse(m, q('www.example.com'), 'com', { looseGlue: true });
    expect(text(loose.glue)).toEqual(['ns.sibling.com A 192.0.2.8']);
    expect(text(loose.looseGlue)).toEqual(['ns.other.net A 192.0.2.9']);
  });

  it('a referral to the same zone or above is lame', () => {
    const up = msg({ ns: ['. 3600 NS a.root-servers.net.'], ar: ['a.root-servers.net 3600 A 198.41.0.4'] });
    const s = scrubResponse(up, q('www.example.com'), 'example.com');
    expect(s.ns).toEqual([]);
    expect(s.glue).toEqual([]);
    expect(classifyResponse(up, s, 'example.com')).toBe('lame');
    const same = msg({ ns: ['example.com 3600 NS ns1.example.com.'] });
    expect(classifyResponse(same, scrubResponse(same, q('www.example.com'), 'example.com'), 'example.com')).toBe('lame');
  });

  it('negative answers keep the zone SOA and drop a forged one', () => {
    const m = msg({
      rcode: 3, aa: true,
      ns: ['bank.com 3600 SOA ns. host. 1 2 3 4 5', 'example.com 3600 SOA ns1.example.com. host.example.com. 1 2 3 4 300'],
    });
    const s = scrubResponse(m, q('nope.example.com'), 'example.com');
    expect(text(s.soa ? [s.soa] : [])).toEqual(['example.com SOA ns1.example.com. host.example.com. 1 2 3 4 300']);
    expect(classifyResponse(m, s, 'example.com')).toBe('nxdomain');
    const nodata = msg({ aa: true, ns: ['example.com 3600 SOA ns1.example.com. host.example.com. 1 2 3 4 300'] });
    expect(classifyResponse(nodata, scrubResponse(nodata, q('www.example.com', TYPE.AAAA), 'example.com'), 'example.com')).toBe('nodata');
  });

  it('an NXDOMAIN about a CNAME target outside the zone is not believed', () => {
    const m = msg({ rcode: 3, aa: true, an: ['www.example.com 300 CNAME gone.bank.com.'], ns: ['bank.com 300 SOA ns. host. 1 2 3 4 5'] });
    const s = scrubResponse(m, q('www.example.com'), 'example.com');
    expect(s.soa).toBeUndefined();
    expect(classifyResponse(m, s, 'example.com')).toBe('cname');
  });

  it('keeps glue for an apex NS answer inside the zone only (priming and NS questions)', () => {
    const m = msg({
      aa: true,
      an: ['example.com 3600 NS ns1.example.com.', 'example.com 3600 NS ns.other.net.'],
      ar: ['ns1.example.com 3600 A 192.0.2.53', 'ns.other.net 3600 A 6.6.6.6'],
    });
    const s = scrubResponse(m, q('example.com', TYPE.NS), 'example.com');
    expect(text(s.glue)).toEqual(['ns1.example.com A 192.0.2.53']);
    const root = msg({ aa: true, an: ['. 518400 NS a.root-servers.net.'], ar: ['a.root-servers.net 518400 A 198.41.0.4'] });
    expect(text(scrubResponse(root, q('', TYPE.NS), '').glue)).toEqual(['a.root-servers.net A 198.41.0.4']);
  });

  it('classifies REFUSED, recursive non-AA answers and same-zone or upward referrals as lame; an empty non-AA reply as NODATA', () => {
    const refused = msg({ rcode: 5 });
    expect(classifyResponse(refused, scrubResponse(refused, q('a.example.com'), 'example.com'), 'example.com')).toBe('lame');
    const rec = msg({ ra: true, an: ['a.example.com 300 A 192.0.2.1'] });
    expect(classifyResponse(rec, scrubResponse(rec, q('a.example.com'), 'example.com'), 'example.com')).toBe('lame');
    // Empty, no AA, no RA, no NS: NODATA (the type does not exist at the name), as unbound and Knot take it.
    const empty = msg({});
    expect(classifyResponse(empty, scrubResponse(empty, q('a.example.com'), 'example.com'), 'example.com')).toBe('nodata');
    // Empty with RA: a recursive server that does not serve the zone.
    const emptyRa = msg({ ra: true });
    expect(classifyResponse(emptyRa, scrubResponse(emptyRa, q('a.example.com'), 'example.com'), 'example.com')).toBe('lame');
    // Empty with the zone's own NS set (a referral to the zone we asked): lame.
    const same = msg({ ns: ['example.com 3600 NS ns.example.com.'] });
    expect(classifyResponse(same, scrubResponse(same, q('a.example.com'), 'example.com'), 'example.com')).toBe('lame');
    const servfail = msg({ rcode: 2 });
    expect(classifyResponse(servfail, scrubResponse(servfail, q('a.example.com'), 'example.com'), 'example.com')).toBe('server-error');
    const formerr = msg({ rcode: 1 });
    expect(classifyResponse(formerr, scrubResponse(formerr, q('a.example.com'), 'example.com'), 'example.com')).toBe('formerr');
  });

  it('drops records of another class', () => {
    const m = msg({ aa: true, an: ['a.example.com 300 A 192.0.2.1'] });
    m.answers.push({ ...m.answers[0], class: 3 });
    const s = scrubResponse(m, q('a.example.com'), 'example.com');
    expect(s.answers).toHaveLength(1);
    expect(s.answers[0].class).toBe(1);
  });

  it('ANY takes every type at the name', () => {
    const m = msg({ aa: true, an: ['a.example.com 300 A 192.0.2.1', 'a.example.com 300 TXT "x"', 'b.example.com 300 A 192.0.2.2'] });
    const s = scrubResponse(m, q('a.example.com', TYPE.ANY), 'example.com');
    expect(s.answers).toHaveLength(2);
  });
});
