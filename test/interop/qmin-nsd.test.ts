// Interop: QNAME minimisation (RFC 9156) of the built resolver (dist/, run as
// operators run it, minimisation at its default: relaxed) against real NSD.
// NSD serves the root and the zones; a small UDP relay on each address the
// delegations name passes every query to NSD unchanged and logs the question, so
// the test sees exactly what each server was asked (NSD keeps no query log).
//   example.  a.b.c.example exists; c.example and b.c.example are empty
//             non-terminals, which NSD answers NOERROR/NODATA as it should;
//   broken.   served by the same NSD, but its relay turns every NODATA into
//             NXDOMAIN: a server that answers NXDOMAIN for empty non-terminals.
// A second resolver with minimisation off shows the relays see the difference.
// Loopback: 127.30.13.0/24 (.1-.3 relays on port 53, .101-.102 NSD, .21 and .22 ours).

import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RCODE, TYPE, typeName } from '../../dns/constants.js';
import { parseMessage } from '../../dns/message.js';
import { rdataToText } from '../../dns/rdata.js';
import { query } from '../../bench/harness/client.js';
import { startOurs, type Running } from '../../bench/harness/daemons.js';
import { startNsd, type NsdHandle } from '../lab/harness.js';

const P = '127.30.13';
const ROOT = `${P}.1`, EXAMPLE = `${P}.2`, BROKEN = `${P}.3`;
const NSD_ROOT = { address: `${P}.101`, port: 15313 };
const NSD_ZONES = { address: `${P}.102`, port: 15313 };
const OURS = `${P}.21`, OURS_OFF = `${P}.22`;

/** A UDP relay on ADDRESS:53 to an NSD instance that logs each question ("name TYPE", lower case). */
class Relay {
  readonly log: string[] = [];
  private readonly sock = dgram.createSocket('udp4');
  private readonly upstream = new Set<dgram.Socket>();
  constructor(readonly address: string, private readonly to: { address: string; port: number }, private readonly rewrite?: (reply: Buffer) => Buffer) {}

  start(): Promise<void> {
    this.sock.on('message', (buf, rinfo) => {
      try {
        const q = parseMessage(buf).questions[0];
        this.log.push(`${q.name.toLowerCase()} ${typeName(q.type)}`);
      } catch { return; }
      const up = dgram.createSocket('udp4');
      this.upstream.add(up);
      const done = () => { clearTimeout(timer); this.upstream.delete(up); up.close(); };
      const timer = setTimeout(done, 3000);
      up.on('message', (reply) => {
        this.sock.send(this.rewrite ? this.rewrite(reply) : reply, rinfo.port, rinfo.address);
        done();
      });
      up.send(buf, this.to.port, this.to.address);
    });
    return new Promise((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.bind(53, this.address, () => { this.sock.off('error', reject); resolve(); });
    });
  }

  async stop(): Promise<void> {
    for (const up of this.upstream) up.close();
    await new Promise<void>((r) => this.sock.close(() => r()));
  }
}

/** NOERROR with an empty answer section (NODATA, an empty non-terminal) becomes NXDOMAIN. */
function nodataToNxdomain(reply: Buffer): Buffer {
  const out = Buffer.from(reply);
  const rcode = out[3] & 0x0f;
  const ancount = out.readUInt16BE(6);
  if (rcode === RCODE.NOERROR && ancount === 0 && (out[2] & 0x04)) out[3] = (out[3] & 0xf0) | RCODE.NXDOMAIN;
  return out;
}

const ZONES = {
  root: `$ORIGIN .
$TTL 86400
.                   SOA a.root-servers.net. hostmaster.root-servers.net. 1 1800 900 604800 86400
.                   NS  a.root-servers.net.
a.root-servers.net. A   ${ROOT}
example.            NS  ns.example.
ns.example.         A   ${EXAMPLE}
broken.             NS  ns.broken.
ns.broken.          A   ${BROKEN}
`,
  example: `$ORIGIN example.
$TTL 3600
@        SOA ns.example. hostmaster.example. 1 3600 900 604800 300
@        NS  ns
ns       A   ${EXAMPLE}
a.b.c    A   192.0.2.1
`,
  broken: `$ORIGIN broken.
$TTL 3600
@        SOA ns.broken. hostmaster.broken. 1 3600 900 604800 300
@        NS  ns
ns       A   ${BROKEN}
x.y.z    A   192.0.2.2
`,
};

let dir: string;
const nsd: NsdHandle[] = [];
const relays = {
  root: new Relay(ROOT, NSD_ROOT),
  example: new Relay(EXAMPLE, NSD_ZONES),
  broken: new Relay(BROKEN, NSD_ZONES, nodataToNxdomain),
};
let ours: Running | undefined;
let oursOff: Running | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'anycast-kit-qmin-nsd-'));
  for (const [name, text] of Object.entries(ZONES)) writeFileSync(join(dir, `${name}.zone`), text);
  writeFileSync(join(dir, 'root.hints'), `.  3600000  NS  A.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET.  3600000  A  ${ROOT}\n`);
  nsd.push(await startNsd(NSD_ROOT.address, NSD_ROOT.port, [{ name: '.', file: join(dir, 'root.zone') }]));
  nsd.push(await startNsd(NSD_ZONES.address, NSD_ZONES.port, [
    { name: 'example.', file: join(dir, 'example.zone') },
    { name: 'broken.', file: join(dir, 'broken.zone') },
  ]));
  for (const r of Object.values(relays)) await r.start();
  ours = await startOurs({ address: OURS, rootHintsFile: join(dir, 'root.hints'), validate: false, allow: ['127.0.0.0/8'] });
  writeFileSync(join(dir, 'off.yaml'), 'resolver:\n  upstream:\n    qname_minimisation: "off"\n');
  oursOff = await startOurs({ address: OURS_OFF, rootHintsFile: join(dir, 'root.hints'), validate: false, allow: ['127.0.0.0/8'], extraArgs: ['--config', join(dir, 'off.yaml')] });
});

afterAll(async () => {
  await ours?.stop();
  await oursOff?.stop();
  for (const r of Object.values(relays)) await r.stop();
  for (const n of nsd) await n.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function resolve(name: string, server = OURS): Promise<{ rcode: number; answers: string[] }> {
  for (const relay of Object.values(relays)) relay.log.length = 0;
  const r = await query(name, TYPE.A, { server, port: 53, timeoutMs: 5000 });
  return { rcode: r.msg.rcode, answers: r.msg.answers.map((a) => `${a.name.toLowerCase()} ${typeName(a.type)} ${rdataToText(a.type, a.rdata)}`) };
}

describe('QNAME minimisation against NSD (relaxed, the default)', () => {
  it('empty non-terminals: the right answer; each server was asked one label more than its cut, the last one the full name', async () => {
    const r = await resolve('a.b.c.example');
    expect(r).toEqual({ rcode: RCODE.NOERROR, answers: ['a.b.c.example A 192.0.2.1'] });
    // The root is asked for the TLD only, never the full name.
    expect(relays.root.log.filter((q) => q !== ' NS' && q !== '. NS')).toEqual(['example A']);
    expect(relays.example.log).toEqual(['c.example A', 'b.c.example A', 'a.b.c.example A']);
  });

  it('a server answering NXDOMAIN for an empty non-terminal: the full question follows at once, the answer is right', async () => {
    const r = await resolve('x.y.z.broken');
    expect(r).toEqual({ rcode: RCODE.NOERROR, answers: ['x.y.z.broken A 192.0.2.2'] });
    expect(relays.broken.log).toEqual(['z.broken A', 'x.y.z.broken A']);
  });

  it('with qname_minimisation "off" every server is asked the full name', async () => {
    const r = await resolve('a.b.c.example', OURS_OFF);
    expect(r).toEqual({ rcode: RCODE.NOERROR, answers: ['a.b.c.example A 192.0.2.1'] });
    expect(relays.root.log.filter((q) => q !== ' NS' && q !== '. NS')).toEqual(['a.b.c.example A']);
    expect(relays.example.log).toEqual(['a.b.c.example A']);
  });
});
