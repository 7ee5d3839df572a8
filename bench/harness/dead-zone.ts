// Time to answer a question into a dead zone, for each resolver of a bench: the
// zone's only server reads every query and answers none (a host gone dark: no ICMP
// comes back, as on the internet). Three new names in the zone, one after the other:
//   first    first contact: the servers' state is unknown, the budget may be spent;
//   repeat   asked as soon as the first is answered;
//   +8 s     asked 8 s after the first answer, when a dead server's back-off
//            (1 s doubling) has run out and a retry is due.
// Each name is new, so no answer cache or serve-stale data can help. A resolver
// that never answers within the client's timeout shows "none in N s".

import dgram from 'node:dgram';
import { rcodeName, TYPE } from '../../dns/constants.js';
import { query, QueryTimeout } from './client.js';
import { sleep } from './proc.js';

export interface DeadZoneTimes {
  first: string;
  repeat: string;
  after8s: string;
}

const CLIENT_TIMEOUT_MS = 10_000;
const REPEAT_AFTER_MS = 8_000;

/** "12 ms SERVFAIL", or "none in 10 s". */
async function timed(server: string, name: string): Promise<string> {
  const t0 = performance.now();
  try {
    const r = await query(name, TYPE.A, { server, timeoutMs: CLIENT_TIMEOUT_MS });
    const ms = performance.now() - t0;
    return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms ${rcodeName(r.msg.rcode)}`;
  } catch (e) {
    if (e instanceof QueryTimeout) return `none in ${CLIENT_TIMEOUT_MS / 1000} s`;
    throw e;
  }
}

/**
 * Binds a silent server on `silentAddress`:53 (the zone's only server) for the
 * measurement and asks every resolver at once (they do not share anything).
 */
export async function measureDeadZone(servers: Array<{ label: string; address: string }>, silentAddress: string, zone: string): Promise<Map<string, DeadZoneTimes>> {
  const silent = dgram.createSocket('udp4');
  silent.on('message', () => { /* read and never answer */ });
  await new Promise<void>((resolve, reject) => { silent.once('error', reject); silent.bind(53, silentAddress, resolve); });
  try {
    const out = new Map<string, DeadZoneTimes>();
    await Promise.all(servers.map(async (s, i) => {
      const tag = `dz${process.pid.toString(36)}${i}`;
      const first = await timed(s.address, `${tag}-first.${zone}`);
      const firstDone = performance.now();
      const repeat = await timed(s.address, `${tag}-repeat.${zone}`);
      await sleep(Math.max(0, firstDone + REPEAT_AFTER_MS - performance.now()));
      const after8s = await timed(s.address, `${tag}-later.${zone}`);
      out.set(s.label, { first, repeat, after8s });
    }));
    return out;
  } finally {
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
}
