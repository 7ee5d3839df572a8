import { describe, expect, it } from 'vitest';
import { CLASS, RCODE, TYPE } from '../dns/constants.js';
import { rdataToText } from '../dns/rdata.js';
import { LocalAnswers, PROBE_SILENT } from './local.js';

const la = new LocalAnswers({ identity: 'node-7', probeName: 'health.anycast-kit.invalid' });
const ask = (name: string, type: number, cls: number = CLASS.IN, l = la) => l.answer(name, name.toLowerCase(), type, cls);
const texts = (a: ReturnType<typeof ask>) => a!.answers.map((r) => rdataToText(r.type, r.rdata));

describe('LocalAnswers', () => {
  it('answers CHAOS id.server and hostname.bind with the identity, refuses the rest of CHAOS', () => {
    expect(texts(ask('id.server', TYPE.TXT, CLASS.CH))).toEqual(['"node-7"']);
    expect(texts(ask('HOSTNAME.BIND', TYPE.TXT, CLASS.CH))).toEqual(['"node-7"']);
    expect(ask('version.bind', TYPE.TXT, CLASS.CH)!.rcode).toBe(RCODE.REFUSED);
    expect(ask('id.server', TYPE.A, CLASS.CH)!.rcode).toBe(RCODE.REFUSED);
    expect(ask('www.example', TYPE.A, CLASS.HS)!.rcode).toBe(RCODE.REFUSED);
  });

  it('answers the probe name only while healthy', () => {
    const l = new LocalAnswers({ identity: 'n', probeName: 'probe.example' });
    expect(texts(ask('probe.example', TYPE.TXT, CLASS.IN, l))).toEqual(['"healthy" "n"']);
    expect(texts(ask('Probe.Example', TYPE.A, CLASS.IN, l))).toEqual(['127.0.0.1']);
    expect(ask('probe.example', TYPE.A, CLASS.IN, l)!.answers[0].ttl).toBe(0);
    expect(ask('probe.example', TYPE.MX, CLASS.IN, l)!.answers).toEqual([]);
    l.probeMode = 'refused';
    const r = ask('probe.example', TYPE.A, CLASS.IN, l)!;
    expect(r.rcode).toBe(RCODE.REFUSED);
    expect(r.answers).toEqual([]);
    l.probeMode = 'silent';
    expect(ask('probe.example', TYPE.A, CLASS.IN, l)).toBe(PROBE_SILENT);
    expect(ask('x.probe.example', TYPE.A, CLASS.IN, l)).toBeNull();
    // A name below the probe name is not the probe name.
    expect(ask('x.probe.example', TYPE.A, CLASS.IN, l)).toBeNull();
  });

  it('answers localhost and every name below it with loopback, like unbound\'s redirect zone', () => {
    expect(texts(ask('localhost', TYPE.A))).toEqual(['127.0.0.1']);
    expect(texts(ask('foo.bar.localhost', TYPE.AAAA))).toEqual(['::1']);
    const mx = ask('localhost', TYPE.MX)!;
    expect(mx.rcode).toBe(RCODE.NOERROR);
    expect(mx.answers).toEqual([]);
    expect(mx.authority[0].type).toBe(TYPE.SOA);
    expect(mx.aa).toBe(true);
  });

  it('answers special-use and AS112 zones: NXDOMAIN below the apex, NODATA at it, data where unbound has it', () => {
    for (const n of ['foo.test', 'x.invalid', 'abc.onion', 'printer.home.arpa', '4.3.2.10.in-addr.arpa', '1.1.168.192.in-addr.arpa', '5.4.20.172.in-addr.arpa']) {
      const a = ask(n, TYPE.A)!;
      expect(a.rcode, n).toBe(RCODE.NXDOMAIN);
      expect(a.authority[0].type, n).toBe(TYPE.SOA);
    }
    expect(ask('test', TYPE.A)!.rcode).toBe(RCODE.NOERROR);
    expect(texts(ask('test', TYPE.NS))).toEqual(['localhost.']);
    expect(texts(ask('1.0.0.127.in-addr.arpa', TYPE.PTR))).toEqual(['localhost.']);
    expect(ask('2.0.0.127.in-addr.arpa', TYPE.PTR)!.rcode).toBe(RCODE.NXDOMAIN);
    // An empty non-terminal above local data is NODATA.
    expect(ask('0.0.127.in-addr.arpa', TYPE.PTR)!.rcode).toBe(RCODE.NOERROR);
    expect(texts(ask('1' + '.0'.repeat(31) + '.ip6.arpa', TYPE.PTR))).toEqual(['localhost.']);
    // Not local: public names, and 172.15 which is outside 172.16/12.
    expect(ask('www.example.com', TYPE.A)).toBeNull();
    expect(ask('1.0.15.172.in-addr.arpa', TYPE.PTR)).toBeNull();
    expect(ask('testing', TYPE.A)).toBeNull();
  });

  it('answers ANY from local zones only: elsewhere it is resolved (resolver/any.ts)', () => {
    expect(ask('www.example.com', TYPE.ANY)).toBeNull();
    expect(ask('localhost', TYPE.ANY)!.answers.map((r) => r.type).sort((a, b) => a - b)).toEqual([TYPE.A, TYPE.NS, TYPE.SOA, TYPE.AAAA]);
    expect(ask('x.invalid', TYPE.ANY)!.rcode).toBe(RCODE.NXDOMAIN);
  });

  it('lets operators switch default zones off (nodefault)', () => {
    const l = new LocalAnswers({ identity: 'n', probeName: '', nodefault: ['test', '10.in-addr.arpa'] });
    expect(ask('foo.test', TYPE.A, CLASS.IN, l)).toBeNull();
    expect(ask('1.2.3.10.in-addr.arpa', TYPE.PTR, CLASS.IN, l)).toBeNull();
    expect(ask('foo.invalid', TYPE.A, CLASS.IN, l)!.rcode).toBe(RCODE.NXDOMAIN);
    // The probe is off with an empty name.
    expect(ask('health.anycast-kit.invalid', TYPE.A, CLASS.IN, l)!.rcode).toBe(RCODE.NXDOMAIN);
  });
});
