import { describe, expect, it } from 'vitest';
import { buildQuery, parseMessage } from '../../dns/message.js';
import { TYPE } from '../../dns/constants.js';
import { rdataFromText } from '../../dns/rdata.js';
import { buildEntry, buildOpt, edeOption, nsidOption, render, sharedEde, type AnswerInit } from './entry.js';

const rr = (name: string, ttl: number, type: number, text: string) => ({ name, type, class: 1, ttl, rdata: rdataFromText(type, text) });

function init(over: Partial<AnswerInit> = {}): AnswerInit {
  return {
    name: 'www.example.com', type: TYPE.A, class: 1, rcode: 0,
    answers: [rr('www.example.com', 300, TYPE.CNAME, 'web.example.com.'), rr('web.example.com', 60, TYPE.A, '192.0.2.1')],
    authority: [],
    additional: [rr('ns.example.com', 3600, TYPE.A, '192.0.2.53')],
    ...over,
  };
}

describe('buildEntry / render', () => {
  const e = buildEntry(init(), 1000, 60);

  it('stores the message without OPT, ID 0, question lower-cased, owner compressed to the question', () => {
    const m = parseMessage(e.wire);
    expect(m.id).toBe(0);
    expect(m.edns).toBeUndefined();
    expect(m.questions[0].name).toBe('www.example.com');
    expect(e.wire.readUInt16BE(e.qEnd)).toBe(0xc00c); // first answer owner = pointer to the question
    expect(e.ttlCount).toBe(3);
    expect(e.ttlOffset(0)).toBe(e.qEnd + 6);
    expect(e.addStart).toBeLessThan(e.len);
    expect(e.expiresMs).toBe(61_000);
  });

  it('patches the ID, echoes RD/CD and copies the client\'s letter case into question and owner', () => {
    const q = buildQuery({ id: 0xbeef, name: 'WWW.Example.COM', type: TYPE.A, rd: true, cd: true });
    const m = parseMessage(render(e, q, null, 512, 1000, 0));
    expect(m.id).toBe(0xbeef);
    expect(m.flags & 0x0100).toBe(0x0100);
    expect(m.flags & 0x0010).toBe(0x0010);
    expect(m.flags & 0x8080).toBe(0x8080);
    expect(m.questions[0].name).toBe('WWW.Example.COM');
    expect(m.answers[0].name).toBe('WWW.Example.COM');
    // Other owners may share the question's suffix through compression, as with unbound:
    // names compare case-insensitively, so only the spelling of the suffix follows the client.
    expect(m.answers[1].name.toLowerCase()).toBe('web.example.com');
    const noRd = parseMessage(render(e, buildQuery({ id: 1, name: 'www.example.com', type: TYPE.A }), null, 512, 1000, 0));
    expect(noRd.flags & 0x0110).toBe(0);
  });

  it('counts TTLs down by whole seconds elapsed, never below 0, without touching the stored bytes', () => {
    const before = Buffer.from(e.wire);
    const q = buildQuery({ id: 1, name: 'www.example.com', type: TYPE.A });
    const at = (ms: number) => parseMessage(render(e, q, null, 512, ms, 0));
    expect(at(1999).answers.map((a) => a.ttl)).toEqual([300, 60]);
    expect(at(11_000).answers.map((a) => a.ttl)).toEqual([290, 50]);
    expect(at(11_000).additional[0].ttl).toBe(3590);
    expect(at(100_000).answers.map((a) => a.ttl)).toEqual([201, 0]);
    expect(e.wire.equals(before)).toBe(true);
  });

  it('appends the client-appropriate OPT record', () => {
    const q = buildQuery({ id: 1, name: 'www.example.com', type: TYPE.A, ednsUdpSize: 4096 });
    const opt = buildOpt(1232, true, [nsidOption('node-1')]);
    const m = parseMessage(render(e, q, opt, 1232, 1000, 0));
    expect(m.edns).toMatchObject({ udpSize: 1232, version: 0, dnssecOk: true });
    expect(m.edns!.options).toEqual([{ code: 3, data: Buffer.from('node-1') }]);
    expect(m.additional.length).toBe(1);
  });

  it('leaves out the additional section before truncating, and truncates to the question with TC=1', () => {
    const q = buildQuery({ id: 1, name: 'www.example.com', type: TYPE.A });
    const full = render(e, q, null, 512, 1000, 0);
    const noAdd = parseMessage(render(e, q, null, full.length - 1, 1000, 0));
    expect(noAdd.flags & 0x0200).toBe(0);
    expect(noAdd.answers.length).toBe(2);
    expect(noAdd.additional.length).toBe(0);
    const tc = render(e, q, null, e.addStart - 1, 1000, 0);
    const m = parseMessage(tc);
    expect(m.flags & 0x0200).toBe(0x0200);
    expect(m.answers.length + m.authority.length + m.additional.length).toBe(0);
    expect(m.questions[0].name).toBe('www.example.com');
    expect(tc.length).toBe(e.qEnd);
    // With EDNS the OPT survives truncation.
    const opt = buildOpt(1232, false);
    const tcOpt = parseMessage(render(e, q, opt, e.addStart, 1000, 0));
    expect(tcOpt.flags & 0x0200).toBe(0x0200);
    expect(tcOpt.edns?.udpSize).toBe(1232);
  });

  it('frames for TCP with a 2-byte length', () => {
    const q = buildQuery({ id: 9, name: 'www.example.com', type: TYPE.A });
    const framed = render(e, q, null, 0xffff, 1000, 2);
    expect(framed.readUInt16BE(0)).toBe(framed.length - 2);
    expect(parseMessage(framed.subarray(2)).answers.length).toBe(2);
  });

  it('applies the record TTL mapping and carries an EDE option', () => {
    const neg = buildEntry(init({ rcode: 3, answers: [], additional: [], authority: [rr('example.com', 3600, TYPE.SOA, 'ns. host. 1 2 3 4 300')], ede: { code: 22, text: 'no reachable authority' } }), 0, 300, (t) => Math.min(t, 300));
    const m = parseMessage(render(neg, buildQuery({ id: 1, name: 'www.example.com', type: TYPE.A }), null, 512, 0, 0));
    expect(m.rcode).toBe(3);
    expect(m.authority[0].ttl).toBe(300);
    expect(neg.ede!.readUInt16BE(0)).toBe(15);
    expect(neg.ede!.readUInt16BE(4)).toBe(22);
    expect(neg.ede!.subarray(6).toString()).toBe('no reachable authority');
  });

  it('shares one EDE buffer per text, never a slice of the Buffer pool (a cached entry would pin the pool chunk)', () => {
    const mk = (text: string) => buildEntry(init({ rcode: 2, answers: [], additional: [], ede: { code: 22, text } }), 0, 2);
    const a = mk('every server of dead.example is unreachable'), b = mk('every server of dead.example is unreachable');
    expect(a.ede).toBe(b.ede);
    expect(a.ede!.buffer.byteLength).toBe(a.ede!.length);
    expect(mk('another reason').ede).not.toBe(a.ede);
    const fromDump = sharedEde(Buffer.concat([Buffer.alloc(8), edeOption(3, 'Stale Answer')]).subarray(8));
    expect(fromDump.equals(edeOption(3, 'Stale Answer'))).toBe(true);
    expect(sharedEde(Buffer.from(fromDump))).toBe(fromDump);
    expect(fromDump.buffer.byteLength).toBe(fromDump.length);
  });
});
