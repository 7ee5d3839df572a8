// forward_zones against real servers. The ldns-signed tree on NSD (127.73.0.1-3)
// with Debian's unbound (.20) resolving it, and an NSD (.4) that alone serves
// corp.internal, a zone no root delegates.
//   ours .21: its root hints point at an address where nothing listens, and "."
//             is forwarded to unbound: every answer can only come through unbound,
//             and a cold unbound only recurses for RD=1.
//   ours .22: real root hints; corp.internal forwarded to the NSD; rsa.signed
//             forwarded to a dead address with forward_first (falls back to the
//             root); ed.signed forwarded to a dead address without it (SERVFAIL).
// Both of ours run with --no-validate: this file is about where questions go (corp.internal
// is under no signed parent); validation over the signed tree is test/interop/dnssec.test.ts.
// Loopback: 127.73.0.0/24.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RCODE, TYPE } from '../../dns/constants.js';
import { lowerName } from '../../dns/name.js';
import { rdataToText } from '../../dns/rdata.js';
import { query } from '../../bench/harness/client.js';
import { startNsd, startOurs, startUnbound, type Running } from '../../bench/harness/daemons.js';
import { leafAddress, SIGNED_HOST, startSignedTree, type SignedTree } from '../../bench/harness/signed-zones.js';

const PREFIX = '127.73.0';
const a = (h: number) => `${PREFIX}.${h}`;
const DEAD = a(99);
let tree: SignedTree;
let unbound: Running;
let corp: Running;
let viaUnbound: Running;
let mixed: Running;

beforeAll(async () => {
  tree = await startSignedTree(PREFIX, 'forward');
  unbound = await startUnbound({ address: a(SIGNED_HOST.unbound), rootHintsFile: tree.rootHintsFile, trustAnchorFile: tree.trustAnchorFile, label: 'fwd' });
  corp = await startNsd({ name: 'fwd-corp', address: a(4), zones: [{ origin: 'corp.internal', text: `$ORIGIN corp.internal.
$TTL 300
@    SOA ns.corp.internal. h.corp.internal. 1 3600 900 604800 60
@    NS  ns.corp.internal.
ns   A   ${a(4)}
intranet A 10.20.30.40
` }] }, tree.dir);
  const deadHints = join(tree.dir, 'dead.hints');
  writeFileSync(deadHints, `. 3600000 NS A.ROOT.DEAD.\nA.ROOT.DEAD. 3600000 A ${DEAD}\n`);
  const cfgA = join(tree.dir, 'fwd-all.yaml');
  writeFileSync(cfgA, `resolver:\n  forward_zones:\n    - zone: "."\n      addresses: ["${a(SIGNED_HOST.unbound)}"]\n`);
  viaUnbound = await startOurs({ address: a(21), rootHintsFile: deadHints, validate: false, extraArgs: ['--config', cfgA], identity: 'fwd-all' });
  const cfgB = join(tree.dir, 'fwd-mixed.yaml');
  writeFileSync(cfgB, `resolver:
  forward_zones:
    - { zone: corp.internal, addresses: ["${a(4)}@53"] }
    - { zone: rsa.signed, addresses: ["${DEAD}"], forward_first: true }
    - { zone: ed.signed, addresses: ["${DEAD}"] }
`);
  mixed = await startOurs({ address: a(22), rootHintsFile: tree.rootHintsFile, validate: false, extraArgs: ['--config', cfgB], identity: 'fwd-mixed' });
}, 120_000);

afterAll(async () => {
  await Promise.all([viaUnbound, mixed, unbound, corp].map((s) => s?.stop()));
  await tree?.stop();
});

async function ask(target: Running, name: string, type: number = TYPE.A) {
  const r = await query(name, type, { server: target.address, port: target.port, timeoutMs: 6000 });
  return { rcode: r.msg.rcode, answer: r.msg.answers.map((x) => `${lowerName(x.name)} ${rdataToText(x.type, x.rdata)}`) };
}

describe('forward_zones: "." to unbound, with root hints that lead nowhere', () => {
  it('answers through the forwarder (RD=1: a cold unbound recurses), CNAME chains included', async () => {
    expect(await ask(viaUnbound, 'www.rsa.signed')).toEqual({ rcode: RCODE.NOERROR, answer: [`www.rsa.signed ${leafAddress('rsa')}`] });
    expect(await ask(viaUnbound, 'alias.ed.signed')).toEqual({ rcode: RCODE.NOERROR, answer: ['alias.ed.signed www.ed.signed.', `www.ed.signed ${leafAddress('ed')}`] });
  });

  it('passes NXDOMAIN and NODATA on, with the SOA', async () => {
    const nx = await query('nope.ecdsa.signed', TYPE.A, { server: viaUnbound.address, timeoutMs: 6000 });
    expect(nx.msg.rcode).toBe(RCODE.NXDOMAIN);
    expect(nx.msg.authority.map((r) => r.type)).toEqual([TYPE.SOA]);
    expect(await ask(viaUnbound, 'www.ecdsa.signed', TYPE.AAAA)).toEqual({ rcode: RCODE.NOERROR, answer: [] });
  });

  it('a forwarder\'s SERVFAIL (unbound on a bogus zone) is a SERVFAIL', async () => {
    expect((await ask(viaUnbound, 'www.badsig.signed')).rcode).toBe(RCODE.SERVFAIL);
  });
});

describe('forward_zones beside iteration', () => {
  it('a zone only the forwarder serves (NSD, authoritative, RD ignored) resolves', async () => {
    expect(await ask(mixed, 'intranet.corp.internal')).toEqual({ rcode: RCODE.NOERROR, answer: ['intranet.corp.internal 10.20.30.40'] });
  });

  it('names outside every forward zone are resolved from the root as before', async () => {
    expect(await ask(mixed, 'www.ecdsa.signed')).toEqual({ rcode: RCODE.NOERROR, answer: [`www.ecdsa.signed ${leafAddress('ecdsa')}`] });
    // A sibling of the forwarded corp.internal: asked of the tree's root, which has no internal. TLD.
    expect((await ask(mixed, 'other.internal')).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('forward_first: dead forwarders, then resolution from the root', async () => {
    expect(await ask(mixed, 'www.rsa.signed')).toEqual({ rcode: RCODE.NOERROR, answer: [`www.rsa.signed ${leafAddress('rsa')}`] });
  });

  it('without forward_first, dead forwarders are a SERVFAIL even though the root could answer', async () => {
    expect((await ask(mixed, 'www.ed.signed')).rcode).toBe(RCODE.SERVFAIL);
  });
});
