// The lab's own signer and its DNSSEC-aware authoritative server, judged by a real
// validator: the embedded lab (startLab, signed zones) on 127.71.0.0/16 port 53,
// and Debian's unbound validating it with the lab root's trust anchor. Secure
// names must come back with AD, the insecure delegation without AD, the three
// bogus zones SERVFAIL (and their data with CD=1), signed NXDOMAIN and NODATA
// (NSEC and NSEC3), wildcard answers and NODATA with AD.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG, RCODE, TYPE } from '../../dns/constants.js';
import { lowerName } from '../../dns/name.js';
import { rdataToText } from '../../dns/rdata.js';
import { query } from '../../bench/harness/client.js';
import { startUnbound, type Running } from '../../bench/harness/daemons.js';
import { startLab, type Lab } from '../../lab/index.js';

const PREFIX = '127.71';
const UNBOUND = `${PREFIX}.200.1`;

let lab: Lab;
let unbound: Running;

beforeAll(async () => {
  lab = await startLab({ host: PREFIX, port: 53 });
  unbound = await startUnbound({ address: UNBOUND, rootHintsFile: lab.rootHintsFile, trustAnchorFile: lab.trustAnchorFile, label: 'labdnssec' });
}, 60_000);

afterAll(async () => {
  await unbound?.stop();
  await lab?.stop();
});

async function ask(name: string, type: number, o: { cd?: boolean } = {}) {
  const r = await query(name, type, { server: UNBOUND, dnssecOk: true, cd: o.cd, timeoutMs: 4000 });
  const m = r.msg;
  return {
    rcode: m.rcode, ad: (m.flags & FLAG.AD) !== 0,
    answers: m.answers.filter((a) => a.type === type).map((a) => `${lowerName(a.name)} ${rdataToText(a.type, a.rdata)}`),
    sigs: m.answers.filter((a) => a.type === TYPE.RRSIG).length,
    proofs: m.authority.filter((a) => a.type === TYPE.NSEC || a.type === TYPE.NSEC3).length,
  };
}

describe('the signed lab, validated by unbound', () => {
  it('writes a DS trust anchor for the lab root', () => {
    expect(lab.trustAnchor).toMatch(/^\. 3600 IN DS \d+ 13 2 [0-9A-F]{64}$/m);
    expect(lab.zones.find((z) => z.name === 'glueless.lab.')?.signed).toBeUndefined();
  });

  it.each([
    ['www.example.lab', TYPE.A, 'www.example.lab 192.0.2.10'],       // alg 13 under alg 13 under alg 13
    ['example.lab', TYPE.MX, 'example.lab 10 mail.example.lab.'],
    ['ns1.hosting.example', TYPE.A, 'ns1.hosting.example 127.71.3.1'], // alg 15 under alg 8
    ['www.nsec3.lab', TYPE.A, 'www.nsec3.lab 192.0.2.105'],
    ['anything.wild.example.lab', TYPE.A, 'anything.wild.example.lab 192.0.2.1'],
    ['x.wild.nsec3.lab', TYPE.A, 'x.wild.nsec3.lab 192.0.2.99'],
  ])('secure: %s %s has AD and the data', async (name, type, want) => {
    const a = await ask(name, type);
    expect(a.rcode).toBe(RCODE.NOERROR);
    expect(a.ad).toBe(true);
    if (name !== 'anything.wild.example.lab') expect(a.answers).toContain(want);
    else expect(a.answers.length).toBeGreaterThan(0);
    expect(a.sigs).toBeGreaterThan(0);
  });

  it('secure across zones: the CNAME chain ends in the unsigned glueless.lab, so no AD', async () => {
    const a = await ask('alias.example.lab', TYPE.A);
    expect(a.rcode).toBe(RCODE.NOERROR);
    expect(a.answers).toEqual(['web.glueless.lab 192.0.2.80']);
    expect(a.ad).toBe(false);
  });

  it('insecure: the unsigned glueless.lab (no DS in lab.) answers without AD', async () => {
    const a = await ask('web.glueless.lab', TYPE.A);
    expect(a.rcode).toBe(RCODE.NOERROR);
    expect(a.answers).toEqual(['web.glueless.lab 192.0.2.80']);
    expect(a.ad).toBe(false);
  });

  it.each([
    ['nope.example.lab', RCODE.NXDOMAIN],     // NSEC NXDOMAIN
    ['nope.nsec3.lab', RCODE.NXDOMAIN],       // NSEC3 NXDOMAIN
    ['nope.nope.lab', RCODE.NXDOMAIN],        // in a TLD, covering a delegation's neighbourhood
    ['nope', RCODE.NXDOMAIN],                 // at the root
    ['b.ent.example.lab', RCODE.NOERROR],     // NSEC NODATA at an empty non-terminal
    ['b.ent.nsec3.lab', RCODE.NOERROR],       // NSEC3 NODATA at an empty non-terminal
    ['www.nsec3.lab', RCODE.NOERROR],         // NSEC3 NODATA (TXT at a name with A/AAAA)
    ['www.example.lab', RCODE.NOERROR],       // NSEC NODATA
    ['x.wild.nsec3.lab', RCODE.NOERROR],      // NSEC3 wildcard NODATA
  ])('signed negative: %s TXT is rcode %i with AD', async (name, rcode) => {
    const a = await ask(name, TYPE.TXT);
    expect(a.rcode).toBe(rcode);
    expect(a.answers).toEqual([]);
    expect(a.ad).toBe(true);
  });

  it.each(['www.badsig.lab', 'www.expired.lab', 'www.badds.lab'])('bogus: %s is SERVFAIL, and its data comes back with CD=1', async (name) => {
    const a = await ask(name, TYPE.A);
    expect(a.rcode).toBe(RCODE.SERVFAIL);
    expect(a.answers).toEqual([]);
    const cd = await ask(name, TYPE.A, { cd: true });
    expect(cd.rcode).toBe(RCODE.NOERROR);
    expect(cd.answers.length).toBe(1);
    expect(cd.ad).toBe(false);
  });

  it('the lab server itself: DO=1 gets RRSIGs and NSEC proofs, DO=0 none', async () => {
    const ns = lab.servers.find((s) => s.name === 'ns1.example.lab')!;
    const withDo = await query('nope.example.lab', TYPE.A, { server: ns.address, dnssecOk: true, rd: false });
    expect(withDo.msg.authority.filter((r) => r.type === TYPE.NSEC).length).toBeGreaterThanOrEqual(1);
    expect(withDo.msg.authority.filter((r) => r.type === TYPE.RRSIG).length).toBeGreaterThanOrEqual(2);
    expect(withDo.msg.edns?.dnssecOk).toBe(true);
    const without = await query('nope.example.lab', TYPE.A, { server: ns.address, rd: false });
    expect(without.msg.authority.map((r) => r.type)).toEqual([TYPE.SOA]);
    const dnskey = await query('example.lab', TYPE.DNSKEY, { server: ns.address, dnssecOk: true, rd: false });
    expect(dnskey.msg.answers.map((r) => r.type)).toEqual([TYPE.DNSKEY, TYPE.RRSIG]);
  });
});
