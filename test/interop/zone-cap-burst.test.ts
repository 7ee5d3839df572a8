// False SERVFAIL from the per-zone cap (issue 16), at a small scale against real NSD.
//
// flood.max_outstanding_per_zone caps the upstream queries one zone may have
// outstanding, so a random-subdomain flood cannot take every slot. A legitimate
// burst of fresh names under one busy zone whose servers are healthy and fast
// also goes past the cap: those queries must wait a moment for one of the zone's
// slots (NSD frees them within a millisecond), not get SERVFAIL at once. The full
// bench saw 61,513 such SERVFAILs (200,000 fresh names, 500 outstanding, 70% under
// one wildcard zone, cap 200). Here: cap 20, 300 fresh names under the lab's
// wildcard `*.miss.perf.interop` sent by dnsperf with 100 outstanding.
// Loopback: 127.30.23.0/24 (NSD lab), the resolver on 127.30.23.250.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RCODE, TYPE } from '../../dns/constants.js';
import { query } from '../../bench/harness/client.js';
import { startAuthLab, startOurs, type AuthLab, type Running } from '../../bench/harness/daemons.js';
import { runDnsperf } from '../../bench/harness/dnsperf.js';

const PREFIX = '127.30.23';
const OURS = `${PREFIX}.250`;
const CAP = 20;
const NAMES = 300;
const OUTSTANDING = 100;

let lab: AuthLab;
let ours: Running | undefined;
let dir: string;

beforeAll(async () => {
  lab = await startAuthLab(PREFIX, 'zonecap');
  dir = mkdtempSync(join(tmpdir(), 'anycast-kit-zonecap-'));
  writeFileSync(join(dir, 'resolver.yaml'), `resolver:\n  control:\n    socket: control.sock\n  flood:\n    max_outstanding_per_zone: ${CAP}\n`);
  ours = await startOurs({ address: OURS, rootHintsFile: lab.rootHintsFile, validate: false, extraArgs: ['--config', join(dir, 'resolver.yaml')] });
}, 30_000);

afterAll(async () => {
  await ours?.stop();
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The resolver's counters, over its control socket (one JSON line each way), bounded at 5 s. */
function defenceStats(): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const c = net.connect(join(dir, 'control.sock'));
    const timer = setTimeout(() => { c.destroy(); reject(new Error('control socket: no reply within 5 s')); }, 5000);
    let buf = '';
    c.on('data', (b) => {
      buf += b.toString();
      if (!buf.includes('\n')) return;
      clearTimeout(timer);
      c.end();
      const r = JSON.parse(buf.slice(0, buf.indexOf('\n'))) as { ok: boolean; data?: { defence: Record<string, number> } };
      if (!r.ok || !r.data) reject(new Error(`control socket: ${buf}`)); else resolve(r.data.defence);
    });
    c.on('error', (e) => { clearTimeout(timer); reject(e); });
    c.write(JSON.stringify({ command: 'stats', args: [], json: true }) + '\n');
  });
}

describe('per-zone cap under a legitimate burst', () => {
  it(`${NAMES} fresh names under one fast zone, ${OUTSTANDING} outstanding, cap ${CAP}: every one answered NOERROR, no SERVFAIL`, async () => {
    // The delegations (root, interop., perf.interop) are known, as in a node that has run a while.
    const warm = await query('warm.miss.perf.interop', TYPE.A, { server: OURS, port: 53, timeoutMs: 3000 });
    expect(warm.msg.rcode).toBe(RCODE.NOERROR);

    const tag = randomBytes(4).toString('hex');
    const file = join(dir, 'names.txt');
    writeFileSync(file, Array.from({ length: NAMES }, (_, i) => `b${i}-${tag}.miss.perf.interop A`).join('\n') + '\n');
    // Sent once (-n 1), bounded at 20 s; each query may take up to 5 s before dnsperf counts it lost.
    const r = await runDnsperf({ server: OURS, file, seconds: 20, maxRuns: 1, outstanding: OUTSTANDING, clients: 4, timeoutS: 5 });
    expect(r.sent, r.output).toBe(NAMES);
    expect(r.rcodes['SERVFAIL'] ?? 0, r.output).toBe(0);
    expect(r.lost, r.output).toBe(0);
    expect(r.rcodes, r.output).toEqual({ NOERROR: NAMES });
    // The burst did go past the cap: queries waited for a slot, and none was refused.
    const d = await defenceStats();
    if (process.env.ZONECAP_DEBUG) process.stderr.write(`zone cap burst: ${r.qps.toFixed(0)} qps, avg ${r.avgLatencyMs.toFixed(1)} ms; ${JSON.stringify(d)}\n`);
    expect(d.zoneQueued).toBeGreaterThan(0);
    expect(d).toMatchObject({ zoneLimited: 0, zoneQueueFull: 0, zoneQueueExpired: 0, zoneQueueWaiting: 0 });
  }, 60_000);
});
