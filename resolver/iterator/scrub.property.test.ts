// Property: whatever a server sends, what survives scrubbing lies inside the
// server's zone and bears on the question. Random messages built from a small
// universe of names (inside, beside and above the zone) and types.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { scrubResponse, nsTargets } from './scrub.js';
import { classifyResponse } from './classify.js';
import type { Message, ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, nameToWire } from '../../dns/name.js';
import { rdataName } from '../../dns/rdata.js';
import { TYPE } from '../../dns/constants.js';

const ZONE = 'example.com';
const NAMES = ['', 'com', 'example.com', 'www.example.com', 'a.www.example.com', 'ns1.example.com', 'sub.example.com',
  'ns.sub.example.com', 'x.sub.example.com', 'bank.com', 'www.bank.com', 'ns.evil.net', 'WWW.EXAMPLE.COM', 'Sub.Example.Com'];
const TYPES = [TYPE.A, TYPE.AAAA, TYPE.NS, TYPE.CNAME, TYPE.DNAME, TYPE.SOA, TYPE.TXT, TYPE.MX, 65000];

function rdataFor(type: number, target: string): Buffer {
  switch (type) {
    case TYPE.A: return Buffer.from([192, 0, 2, 1]);
    case TYPE.AAAA: return Buffer.alloc(16, 1);
    case TYPE.NS: case TYPE.CNAME: case TYPE.DNAME: return nameToWire(target);
    case TYPE.SOA: return Buffer.concat([nameToWire(target), nameToWire('h'), Buffer.alloc(20, 0)]);
    case TYPE.MX: return Buffer.concat([Buffer.from([0, 10]), nameToWire(target)]);
    default: return Buffer.from([3, 0x61, 0x62, 0x63]);
  }
}

const record = fc.record({ name: fc.constantFrom(...NAMES), type: fc.constantFrom(...TYPES), target: fc.constantFrom(...NAMES), cls: fc.constantFrom(1, 1, 1, 3) })
  .map(({ name, type, target, cls }): ResourceRecord => ({ name, type, class: cls, ttl: 300, rdata: rdataFor(type, target) }));

const message = fc.record({
  rcode: fc.constantFrom(0, 0, 3, 2, 5),
  flags: fc.constantFrom(0x8000, 0x8400, 0x8080, 0x8480),
  an: fc.array(record, { maxLength: 8 }), ns: fc.array(record, { maxLength: 6 }), ar: fc.array(record, { maxLength: 6 }),
}).map((m): Message => ({ id: 1, flags: m.flags, rcode: m.rcode, opcode: 0, questions: [], answers: m.an, authority: m.ns, additional: m.ar }));

describe('scrub (property)', () => {
  it('keeps only in-zone, on-chain, in-delegation data, and never throws', () => {
    fc.assert(fc.property(message, fc.constantFrom('www.example.com', 'a.www.example.com', 'x.sub.example.com'), fc.constantFrom(TYPE.A, TYPE.TXT, TYPE.NS, TYPE.CNAME), (msg, qname, qtype) => {
      const s = scrubResponse(msg, { name: qname, type: qtype, class: 1 }, ZONE);
      classifyResponse(msg, s, ZONE);
      // Answer: a chain starting at the question, every owner inside the zone, one class.
      let cur = lowerName(qname);
      for (const r of s.answers) {
        expect(r.class).toBe(1);
        expect(isSubdomain(r.name, ZONE)).toBe(true);
        if (r.type === TYPE.DNAME) { expect(isSubdomain(cur, r.name)).toBe(true); continue; }
        expect(lowerName(r.name)).toBe(cur);
        if (r.type === TYPE.CNAME && qtype !== TYPE.CNAME) cur = lowerName(rdataName(r.rdata));
      }
      // Authority: one NS owner and one SOA, inside the zone, above the chain's end.
      const owners = new Set(s.ns.map((r) => lowerName(r.name)));
      expect(owners.size).toBeLessThanOrEqual(1);
      for (const r of [...s.ns, ...(s.soa ? [s.soa] : [])]) {
        expect(isSubdomain(r.name, ZONE)).toBe(true);
        expect(isSubdomain(s.finalName, r.name)).toBe(true);
      }
      // Additional: addresses of kept NS names only, inside the zone.
      const allowed = new Set([...nsTargets(s.ns), ...nsTargets(s.answers.filter((r) => r.type === TYPE.NS))]);
      for (const g of s.glue) {
        expect([TYPE.A, TYPE.AAAA]).toContain(g.type);
        expect(allowed.has(lowerName(g.name))).toBe(true);
        expect(isSubdomain(g.name, ZONE)).toBe(true);
      }
      // Nothing from another name space survives anywhere.
      for (const r of [...s.answers, ...s.ns, ...s.glue]) expect(isSubdomain(r.name, 'bank.com') || isSubdomain(r.name, 'evil.net')).toBe(false);
    }), { numRuns: 3000 });
  });
});
