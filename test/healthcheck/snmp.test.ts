// The SNMP agent through Debian's net-snmp clients: snmpwalk/snmpget v2c and v3
// authPriv (SHA-2 + AES) with the shipped MIB loaded, a wrong community and a wrong
// v3 key getting nothing, writes refused, garbage datagrams surviving, and a v2c
// trap on a health change.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import snmp from 'net-snmp';
import { startNode, type NodeHandle } from '../../node/node.js';
import { startFakeResolver, type FakeResolver } from './fake-resolver.js';
import { MIB_DIR, nodeConfig, requireTool, run, waitFor } from './helpers.js';

const DNS = '127.60.4.1';
const HTTP = '127.60.4.2';
const AGENT = '127.60.4.3';
const TRAPS = '127.60.4.4';
const BASE = '1.3.6.1.4.1.32473.53';
const COMMUNITY = 'ak-ro-test';
const V3 = { name: 'akops', authKey: 'auth-secret-1', privKey: 'priv-secret-1' };

describe('SNMP agent (stand-in resolver)', () => {
  let node: NodeHandle;
  let fake: FakeResolver;
  let target: string;
  let receiver: { close(cb?: () => void): void };
  const traps: Array<{ oid: string; varbinds: Array<{ oid: string; value: unknown }> }> = [];

  const mib = ['-M', `+${MIB_DIR}`, '-m', 'ANYCAST-KIT-MIB'];
  const v2 = (c = COMMUNITY) => ['-v2c', '-c', c, '-t', '1', '-r', '0'];
  const v3 = (auth = 'SHA-256', authKey = V3.authKey) => ['-v3', '-l', 'authPriv', '-u', V3.name, '-a', auth, '-A', authKey, '-x', 'AES', '-X', V3.privKey, '-t', '1', '-r', '0'];

  beforeAll(async () => {
    requireTool('snmpwalk', 'snmp');
    requireTool('snmpget', 'snmp');
    // A trap receiver (net-snmp's, decoding the PDU) on a port of our own.
    const trapPort = await new Promise<number>((resolve) => {
      const s = createSocket('udp4');
      s.bind(0, TRAPS, () => { const p = s.address().port; s.close(() => resolve(p)); });
    });
    receiver = snmp.createReceiver({ port: trapPort, address: TRAPS, disableAuthorization: true, includeAuthentication: false }, (err, data) => {
      if (err || !data?.pdu) return;
      const vbs = data.pdu.varbinds as Array<{ oid: string; value: unknown }>;
      const trapOid = vbs.find((v) => v.oid === '1.3.6.1.6.3.1.1.4.1.0');
      traps.push({ oid: String(trapOid?.value ?? ''), varbinds: vbs });
    });
    const cfg = nodeConfig({
      dnsListen: `${DNS}:0`, healthListen: `${HTTP}:0`,
      sections: {
        health: { intervalMs: 200, probeTimeoutMs: 200, rise: 2, fall: 2 },
        snmp: {
          listen: { host: AGENT, port: 0 }, communities: [COMMUNITY],
          users: [
            { name: V3.name, authProtocol: 'sha256', authKey: V3.authKey, privProtocol: 'aes', privKey: V3.privKey },
            { name: 'akops512', authProtocol: 'sha512', authKey: V3.authKey, privProtocol: 'aes', privKey: V3.privKey },
          ],
          traps: [{ host: TRAPS, port: trapPort, community: 'trapcomm' }],
        },
      },
    });
    node = await startNode(cfg, { startResolver: async (rc) => { fake = await startFakeResolver(rc, 2); return fake; }, log: () => {} });
    target = `${AGENT}:${node.snmp!.port}`;
    await waitFor('node up', () => node.health === 'up', 5000);
  });
  afterAll(async () => {
    await node?.close();
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  });

  it('snmpwalk v2c with the MIB loaded shows names, enums, Counter64 and tables', async () => {
    // Large counters must travel as Counter64 (above 2^32) without hurting the agent.
    fake.counts.cacheHits = 2 ** 40 + 5;
    fake.counts.answersByRcode.NXDOMAIN = 2 ** 33;
    fake.counts.udpRepliesUnsent = 7;
    fake.counts.defence.zoneQueued = 11;
    fake.counts.defence.zoneQueueWaiting = 3;
    await waitFor('values pushed', async () => (await run('snmpget', [...v2(), '-On', target, `${BASE}.1.6.1.0`])).stdout.includes('1099511627781'), 3000, 100);
    const r = await run('snmpwalk', [...v2(), ...mib, target, 'ANYCAST-KIT-MIB::anycastKitMIB']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akNodeIdentity\.0 = STRING: "?hc-test-node"?/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akNodeWorkers\.0 = Gauge32: 2/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akHealthState\.0 = INTEGER: up\(2\)/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akHealthServing\.0 = INTEGER: true\(1\)/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akCacheHits\.0 = Counter64: 1099511627781/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akRcodeName\.4 = STRING: "?NXDOMAIN"?/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akRcodeResponses\.4 = Counter64: 8589934592/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akQtypeName\.5 = STRING: "?TXT"?/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akQtypeQueries\.5 = Counter64: [1-9]/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akLatencyP50Usec\.0 = Gauge32: \d+ microseconds/);
    // The fastudp reply-loss counter and the per-zone cap's queue, summed over the two workers.
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akQueriesUdpRepliesUnsent\.0 = Counter64: 7\b/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akDefenceZoneQueued\.0 = Counter64: 11\b/);
    expect(r.stdout).toMatch(/ANYCAST-KIT-MIB::akDefenceZoneQueueWaiting\.0 = Gauge32: 3\b/);
    // Every object in the walk resolved to a name (none printed as a bare enterprises.* number).
    expect(r.stdout).not.toMatch(/SNMPv2-SMI::enterprises|iso\.3\.6/);
  });

  it('snmpget v3 authPriv with SHA-256/AES and SHA-512/AES', async () => {
    const a = await run('snmpget', [...v3(), ...mib, target, 'ANYCAST-KIT-MIB::akHealthState.0', 'ANYCAST-KIT-MIB::akQueriesUdp.0']);
    expect(a.stderr).toBe('');
    expect(a.stdout).toMatch(/akHealthState\.0 = INTEGER: up\(2\)/);
    expect(a.stdout).toMatch(/akQueriesUdp\.0 = Counter64: \d+/);
    const b = await run('snmpget', ['-v3', '-l', 'authPriv', '-u', 'akops512', '-a', 'SHA-512', '-A', V3.authKey, '-x', 'AES', '-X', V3.privKey, '-t', '1', '-r', '0', ...mib, target, 'ANYCAST-KIT-MIB::akHealthServing.0']);
    expect(b.stdout).toMatch(/akHealthServing\.0 = INTEGER: true\(1\)/);
  });

  it('a wrong community, a wrong v3 key or an unknown user get nothing', async () => {
    const before = await run('snmpget', [...v2(), '-On', target, `${BASE}.1.2.1.0`]);
    expect(before.stdout).toMatch(/INTEGER: 2/);
    const wrong = await run('snmpget', [...v2('public'), '-On', target, `${BASE}.1.2.1.0`]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(/Timeout: No Response/);
    const walk = await run('snmpwalk', [...v2('private'), target, BASE]);
    expect(walk.stdout).toBe('');
    const badKey = await run('snmpget', [...v3('SHA-256', 'not-the-key'), target, `${BASE}.1.2.1.0`]);
    expect(badKey.code).not.toBe(0);
    expect(badKey.stdout).toBe('');
    const noUser = await run('snmpget', ['-v3', '-l', 'authPriv', '-u', 'nobody', '-a', 'SHA-256', '-A', 'whatever1', '-x', 'AES', '-X', 'whatever1', '-t', '1', '-r', '0', target, `${BASE}.1.2.1.0`]);
    expect(noUser.stdout).toBe('');
  });

  it('refuses writes', async () => {
    const r = await run('snmpset', [...v2(), target, `${BASE}.1.2.1.0`, 'i', '3']);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/notWritable|noAccess|noSuchName|readOnly|authorizationError/i);
    expect(node.health).toBe('up');
  });

  it('survives garbage, truncated and oversized requests, then still answers', async () => {
    const s = createSocket('udp4');
    const port = node.snmp!.port;
    // A valid v2c GetBulk with max-repetitions 65535 and a v2c GetRequest to chop up.
    const bulk = await run('snmpbulkget', [...v2(), '-Cr65535', '-On', target, BASE]);
    expect(bulk.code).toBe(0);
    const sample = Buffer.from('302902010104' + Buffer.from(COMMUNITY).length.toString(16).padStart(2, '0') + Buffer.from(COMMUNITY).toString('hex') + 'a01c02047a6b1c4a020100020100300e300c06082b06010201010100050000', 'hex');
    const packets: Buffer[] = [];
    for (let i = 0; i < 300; i++) packets.push(randomBytes(1 + (i % 200)));
    for (let i = 1; i < sample.length; i++) packets.push(sample.subarray(0, i));
    for (let i = 0; i < 200; i++) { const b = Buffer.from(sample); b[i % b.length] ^= 1 + (i % 255); packets.push(b); }
    packets.push(Buffer.from('30820000', 'hex'), Buffer.from('3084ffffffff', 'hex'), Buffer.alloc(0), Buffer.alloc(9000, 0x30));
    for (const p of packets) s.send(p, port, AGENT);
    await new Promise((r) => setTimeout(r, 500));
    s.close();
    // A v3 request naming a context goes down net-snmp's proxy path (no proxy configured).
    const ctx = await run('snmpget', [...v3(), '-n', 'elsewhere', '-On', target, `${BASE}.1.2.1.0`]);
    expect(ctx.stdout).not.toMatch(/INTEGER: 2/);
    const after = await run('snmpget', [...v3(), '-On', target, `${BASE}.1.2.1.0`]);
    expect(after.stdout).toMatch(/INTEGER: 2/);
  });

  it('sends an akHealthStateChange trap when the state changes', async () => {
    traps.length = 0;
    fake.silent = true;
    await waitFor('down', () => node.health === 'down', 5000, 20);
    await waitFor('trap', () => traps.length > 0, 3000, 20);
    const t = traps.at(-1)!;
    expect(t.oid).toBe(`${BASE}.0.1`);
    const state = t.varbinds.find((v) => v.oid === `${BASE}.1.2.1.0`);
    expect(state?.value).toBe(3); // down(3)
    const reason = t.varbinds.find((v) => v.oid === `${BASE}.1.2.5.0`);
    expect(String(reason?.value)).toMatch(/probes in a row failed/);
    fake.silent = false;
    await waitFor('up', () => node.health === 'up', 5000, 20);
    await waitFor('second trap', () => traps.some((x) => x.varbinds.some((v) => v.oid === `${BASE}.1.2.1.0` && v.value === 2)), 3000, 20);
  });
});
