// --workers 2 and a dead zone: once one worker has found every server of a zone dead,
// the other answers that zone's new names SERVFAIL at once too, instead of spending
// its own whole budget to learn the same (the bench's dead-zone row showed 4,003 ms
// for the repeat that reached the second worker). Real NSD lab, the built CLI, a
// blackhole server that reads and never answers. Loopback: 127.30.160.0/24.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RCODE, TYPE } from '../../dns/constants.js';
import { query } from '../../bench/harness/client.js';
import { startAuthLab, startOurs, type AuthLab, type Running } from '../../bench/harness/daemons.js';
import { HOST } from '../../bench/harness/zones.js';

const P = '127.30.160';
/** The first question may spend the resolution budget (4 s by default); a client waits this long. */
const FIRST_MS = 6000;
/** Once the zone is known dead: the 50 ms, with room for a loaded CI box. */
const KNOWN_DEAD_MS = 1000;

let auth: AuthLab;
let blackhole: dgram.Socket;
let ours: Running;

beforeAll(async () => {
  auth = await startAuthLab(P, 'workers-dead');
  blackhole = dgram.createSocket('udp4');
  blackhole.on('message', () => {});
  await new Promise<void>((resolve) => blackhole.bind(53, `${P}.${HOST.blackhole}`, () => resolve()));
  ours = await startOurs({ address: `${P}.${HOST.ours}`, rootHintsFile: auth.rootHintsFile, workers: 2, validate: false });
}, 60_000);

afterAll(async () => {
  await ours?.stop();
  blackhole?.close();
  await auth?.stop();
});

describe('--workers 2, a zone whose only server never answers', () => {
  it('after one worker finds it dead, every question into it gets SERVFAIL fast, whichever worker the kernel picks', async () => {
    const first = await query('first.blackhole.interop', TYPE.A, { server: ours.address, timeoutMs: FIRST_MS });
    expect(first.msg.rcode).toBe(RCODE.SERVFAIL);
    // Each question from a socket of its own: a new source port, so SO_REUSEPORT spreads
    // them over both workers (all twelve on one worker: 1 chance in 2,048).
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      const r = await query(`n${i}.blackhole.interop`, TYPE.A, { server: ours.address, timeoutMs: FIRST_MS });
      times.push(Math.round(performance.now() - t0));
      expect(r.msg.rcode, `n${i}.blackhole.interop`).toBe(RCODE.SERVFAIL);
    }
    expect(Math.max(...times), `answer times, ms: ${times.join(', ')}`).toBeLessThan(KNOWN_DEAD_MS);
    // A live zone is not affected.
    const good = await query('www.a.interop', TYPE.A, { server: ours.address, timeoutMs: FIRST_MS });
    expect(good.msg.answers.length).toBe(2);
  }, 60_000);
});
