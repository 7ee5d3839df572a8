import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import dns2 from 'dns2';
import { CLASS, TYPE } from './constants.js';
import { WireError } from './errors.js';
import { buildQuery, encodeMessage, parseMessage, type Message } from './message.js';
import { isSubdomain, lowerName, nameToWire, normalizeName, readName } from './name.js';
import { rdataFromText, rdataToText } from './rdata.js';

const { Packet } = dns2 as unknown as { Packet: { parse(b: Buffer): any } };

function sample(): Message {
  const rr = (name: string, type: number, text: string, ttl = 300) => ({ name, type, class: CLASS.IN, ttl, rdata: rdataFromText(type, text) });
  return {
    id: 0xbeef, flags: 0x8180, rcode: 0, opcode: 0,
    questions: [{ name: 'www.Example.com', type: TYPE.A, class: CLASS.IN }],
    answers: [rr('www.Example.com', TYPE.CNAME, 'web.example.com.'), rr('web.example.com', TYPE.A, '192.0.2.7', 60)],
    authority: [rr('example.com', TYPE.NS, 'ns1.example.com.')],
    additional: [rr('ns1.example.com', TYPE.AAAA, '2001:db8::53'), rr('example.com', TYPE.TXT, '"a b" "c\\"d"')],
    edns: { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: true, options: [{ code: 3, data: Buffer.from('node1') }] },
  };
}

describe('message codec', () => {
  it('round-trips and records TTL offsets', () => {
    const ttlOffsets: number[] = [];
    const wire = encodeMessage(sample(), { ttlOffsets });
    const back = parseMessage(wire);
    expect(back.questions[0].name).toBe('www.Example.com');
    expect(back.answers.map((r) => rdataToText(r.type, r.rdata))).toEqual(['web.example.com.', '192.0.2.7']);
    expect(rdataToText(TYPE.AAAA, back.additional[0].rdata)).toBe('2001:db8::53');
    expect(rdataToText(TYPE.TXT, back.additional[1].rdata)).toBe('"a b" "c\\"d"');
    expect(back.edns?.options[0].data.toString()).toBe('node1');
    expect(back.edns?.dnssecOk).toBe(true);
    expect(ttlOffsets).toHaveLength(5);
    expect(wire.readUInt32BE(ttlOffsets[1])).toBe(60);
  });

  it('is read the same by dns2, an independent decoder', () => {
    const wire = encodeMessage(sample());
    const p = Packet.parse(wire);
    expect(p.errors ?? []).toEqual([]);
    expect(p.answers.map((a: any) => a.name)).toEqual(['www.Example.com', 'web.example.com']);
    expect(p.answers[1].address).toBe('192.0.2.7');
    expect(p.authorities[0].ns).toBe('ns1.example.com');
  });

  it('compresses owner names', () => {
    const wire = encodeMessage(sample());
    // "example" appears once in the owner names and question; rdata names are uncompressed.
    const count = wire.toString('latin1').split('xample').length - 1;
    expect(count).toBeLessThanOrEqual(4);
  });

  it('rejects forward and looping pointers with bounded work', () => {
    const q = buildQuery({ id: 1, name: 'a.example', type: TYPE.A });
    const forward = Buffer.from(q);
    forward[12] = 0xc0; forward[13] = 0x20;
    expect(() => parseMessage(forward)).toThrow(WireError);
    const self = Buffer.from(q);
    self[12] = 0xc0; self[13] = 12;
    expect(() => parseMessage(self)).toThrowError(/backwards/);
  });

  it('bounds a 64 KB chain of backward pointers', () => {
    // Each pointer points at the previous one: the chain dns2 spends seconds on.
    const n = 30000;
    const buf = Buffer.alloc(12 + 1 + n * 2 + 4);
    buf.writeUInt16BE(1, 4);
    let p = 12;
    buf[p++] = 0;
    for (let i = 0; i < n; i++) { const target = i === 0 ? 12 : p - 2; buf[p++] = 0xc0 | (target >> 8); buf[p++] = target & 0xff; }
    expect(() => readName(buf, p - 2)).toThrowError(/compression pointers/);
  });

  it('rejects counts that cannot fit', () => {
    const q = buildQuery({ id: 1, name: 'x', type: TYPE.A });
    q.writeUInt16BE(5000, 6);
    expect(() => parseMessage(q)).toThrowError(/exceed/);
  });

  it('keeps dots inside labels distinct from label separators', () => {
    const twoLabels = nameToWire('a.b');
    const oneLabel = nameToWire('a\\.b');
    expect(twoLabels.equals(oneLabel)).toBe(false);
    expect(readName(oneLabel, 0).name).toBe('a\\.b');
    expect(normalizeName('Example.COM.')).toBe('Example.COM');
    expect(isSubdomain('a\\.example.com', 'example.com')).toBe(false);
    expect(isSubdomain('a.b\\.c.example.com', 'example.com')).toBe(true);
    expect(isSubdomain('xexample.com', 'example.com')).toBe(false);
    expect(isSubdomain('a\\.com', 'com')).toBe(false);
  });

  it('refuses names with empty labels instead of re-shaping them', () => {
    expect(() => buildQuery({ id: 1, name: 'bad..name', type: TYPE.A })).toThrowError(/empty label/);
    expect(() => buildQuery({ id: 1, name: 'a'.repeat(64) + '.example', type: TYPE.A })).toThrowError(/63/);
  });

  it('compresses a label containing a dot separately from two labels', () => {
    const m = sample();
    m.answers = [{ ...m.answers[1], name: 'a\\.b.example.com' }, { ...m.answers[1], name: 'a.b.example.com' }];
    const back = parseMessage(encodeMessage(m));
    expect(back.answers.map((r) => r.name)).toEqual(['a\\.b.example.com', 'a.b.example.com']);
  });

  it('round-trips any names, plain or escaped, through compression (both encoder paths)', () => {
    // Labels from a small alphabet (so suffixes repeat and compression kicks in), with
    // bytes that force escapes (. \\ space 0x00 0xff) now and then, in mixed case.
    const byte = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...Buffer.from('abAB-0')) }, { weight: 1, arbitrary: fc.constantFrom(0x2e, 0x5c, 0x20, 0, 0xff) });
    const label = fc.array(byte, { minLength: 1, maxLength: 5 });
    const wireName = fc.array(label, { minLength: 0, maxLength: 5 }).map((ls) => Buffer.concat([...ls.map((l) => Buffer.from([l.length, ...l])), Buffer.from([0])]));
    fc.assert(fc.property(fc.array(wireName, { minLength: 1, maxLength: 8 }), (wires) => {
      const names = wires.map((w) => readName(w, 0).name);
      const m = sample();
      m.answers = names.map((name) => ({ ...m.answers[1], name }));
      const wire = encodeMessage(m);
      const back = parseMessage(wire);
      expect(back.answers.map((r) => r.name)).toEqual(names);
      // And the bytes are the same labels: each name reads back to its original wire form.
      expect(back.answers.map((r) => nameToWire(r.name))).toEqual(wires);
    }), { numRuns: 500 });
  });

  it('folds only ASCII letters to lower case (RFC 4343)', () => {
    expect(lowerName('WwW.Example.COM')).toBe('www.example.com');
    expect(lowerName('www.example.com')).toBe('www.example.com');
    expect(lowerName('A\\.B.\\065x')).toBe('a\\.b.\\065x');
    // A raw latin1 letter is not ASCII: DNS does not fold it, String.toLowerCase would.
    expect(lowerName('\u00C0B.Com')).toBe('\u00C0b.com');
  });

  it('passes unknown types through byte for byte (RFC 3597)', () => {
    const rdata = rdataFromText(65280, '\\# 3 abcdef');
    expect(rdataToText(65280, rdata)).toBe('\\# 3 abcdef');
  });
});
