import { describe, expect, it } from 'vitest';
import { RCODE, TYPE } from '../dns/constants.js';
import type { ResourceRecord } from '../dns/message.js';
import { nameToWire } from '../dns/name.js';
import { ANY_HINFO_TTL, anyFromCname, minimalAny } from './any.js';
import type { ResolveRequest, ResolveResult } from './iterator/types.js';

const rr = (name: string, type: number, rdata: Buffer, ttl = 300): ResourceRecord => ({ name, type, class: 1, ttl, rdata });
const A = (name: string, ttl = 300) => rr(name, TYPE.A, Buffer.from([192, 0, 2, 1]), ttl);
const CNAME = (name: string, target: string, ttl = 300) => rr(name, TYPE.CNAME, nameToWire(target), ttl);
const SIG = (name: string, covered: number) => rr(name, TYPE.RRSIG, Buffer.concat([Buffer.from([covered >> 8, covered & 0xff]), Buffer.alloc(16)]));
const SOA = rr('example', TYPE.SOA, Buffer.alloc(22), 60);
const result = (o: Partial<ResolveResult>): ResolveResult => ({ rcode: RCODE.NOERROR, answers: [], authority: [], additional: [], cacheTtl: 300, ...o });
const shape = (res: ResolveResult) => ({ rcode: res.rcode, answers: res.answers.map((r) => `${r.name} ${r.type} ${r.ttl}`), authority: res.authority.map((r) => r.type), ad: res.ad });

describe('ANY questions (RFC 8482) from a CNAME resolution', () => {
  it('a name that exists without a CNAME (NODATA): one synthesised HINFO "RFC8482" "", never AD', () => {
    const nodata = anyFromCname('www.example', 1, result({ authority: [SOA, SIG('example', TYPE.SOA)], cacheTtl: 60, ad: true }));
    expect(shape(nodata)).toEqual({ rcode: RCODE.NOERROR, answers: [`www.example ${TYPE.HINFO} 60`], authority: [], ad: undefined });
    expect(nodata.answers[0].rdata.toString('latin1')).toBe('\x07RFC8482\x00');
    // The TTL is at most ANY_HINFO_TTL, and the negative answer's when that is shorter.
    expect(anyFromCname('www.example', 1, result({ authority: [SOA], cacheTtl: 86400 })).answers[0].ttl).toBe(ANY_HINFO_TTL);
  });

  it('a name that does not exist is NXDOMAIN, with the negative answer (and AD) of the A question', () => {
    const nx = anyFromCname('nope.example', 1, result({ rcode: RCODE.NXDOMAIN, authority: [SOA, SIG('example', TYPE.SOA)], cacheTtl: 60, ad: true }));
    expect(shape(nx)).toEqual({ rcode: RCODE.NXDOMAIN, answers: [], authority: [TYPE.SOA, TYPE.RRSIG], ad: true });
  });

  it('a CNAME at the name is the answer, not followed, with its RRSIG; so is a DNAME\'s synthesis', () => {
    // (A chain as a resolver that followed it would give: only the CNAME is kept.)
    const chain = [CNAME('alias.example', 'www.example', 200), SIG('alias.example', TYPE.CNAME), A('www.example'), SIG('www.example', TYPE.A)];
    const c = anyFromCname('ALIAS.example', 1, result({ answers: chain, ad: true }));
    expect(shape(c)).toEqual({ rcode: RCODE.NOERROR, answers: [`alias.example ${TYPE.CNAME} 200`, `alias.example ${TYPE.RRSIG} 300`], authority: [], ad: true });
    expect(c.cacheTtl).toBe(200);
    // An rcode that speaks of the target (NXDOMAIN after the chain) does not make the name asked vanish.
    const dangling = anyFromCname('alias.example', 1, result({ rcode: RCODE.NXDOMAIN, answers: [CNAME('alias.example', 'gone.example')], authority: [SOA] }));
    expect(shape(dangling)).toEqual({ rcode: RCODE.NOERROR, answers: [`alias.example ${TYPE.CNAME} 300`], authority: [], ad: undefined });
    const dname = rr('old.example', TYPE.DNAME, nameToWire('new.example'));
    const d = anyFromCname('www.old.example', 1, result({ answers: [dname, CNAME('www.old.example', 'www.new.example'), A('www.new.example')] }));
    expect(shape(d).answers).toEqual([`old.example ${TYPE.DNAME} 300`, `www.old.example ${TYPE.CNAME} 300`]);
  });

  it('a failure stays a failure, with its EDE and nothing else', () => {
    const f = anyFromCname('x.dead.example', 1, result({ rcode: RCODE.SERVFAIL, answers: [A('x')], authority: [SOA], cacheTtl: 0, ede: { code: 22, text: 'no reachable authority' } }));
    expect(shape(f)).toEqual({ rcode: RCODE.SERVFAIL, answers: [], authority: [], ad: undefined });
    expect(f.ede).toEqual({ code: 22, text: 'no reachable authority' });
  });

  it('minimalAny asks the inner resolution for CNAME instead of ANY, and passes every other question through untouched', async () => {
    const asked: ResolveRequest[] = [];
    const inner = { resolve: async (req: ResolveRequest) => { asked.push(req); return result(req.type === TYPE.CNAME ? { answers: [CNAME(req.name, 'www.example')] } : { answers: [A(req.name)] }); } };
    const resolve = minimalAny(inner);
    const any = await resolve({ name: 'alias.example', type: TYPE.ANY, class: 1, dnssecOk: true, cd: false });
    expect(asked[0]).toEqual({ name: 'alias.example', type: TYPE.CNAME, class: 1, dnssecOk: true, cd: false });
    expect(any.answers.map((r) => r.type)).toEqual([TYPE.CNAME]);
    const mx = await resolve({ name: 'www.example', type: TYPE.MX, class: 1 });
    expect(asked[1]).toEqual({ name: 'www.example', type: TYPE.MX, class: 1 });
    expect(mx.answers.map((r) => r.type)).toEqual([TYPE.A]);
  });
});
