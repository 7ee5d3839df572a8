// Warm-up before listening: the first burst of cold misses after start cost
// 2.5 times the CPU per answer of the same misses a minute later (334-368 µs
// against ~144 µs, bench/miss-workloads.ts), because V8 had not yet compiled
// the miss path (listener, front, wait list, iterator, transport, codec, caches)
// to optimised code. So before the real listeners bind, and therefore before
// `anycast-kit node` puts /health up, the resolver sends itself a few thousand
// synthetic cold misses through a throwaway instance of the same code: its own
// front, iterator, caches and query sockets, listening on 127.0.0.1 at a port the
// kernel picks, resolving names under the reserved name "warmup.invalid" through
// two tiny authoritative servers it runs on 127.0.0.1 and 127.0.0.2 (a root that
// refers to a child zone that answers). Nothing leaves loopback, nothing of it is
// kept (the instance and its caches are closed), and the real instance then
// starts with the compiled code. Bounded in queries and in time (WARMUP_MAX_MS).
// server.ts runs it as warmUpInTwoPasses: half the queries each through two
// throwaway instances (code optimised for the first one's closures is reoptimised
// by the second), both passes within WARMUP_MAX_MS.

import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { CLASS, FLAG, RCODE, TYPE } from '../dns/constants.js';
import { buildQuery, encodeMessage, parseMessage, type Message, type ResourceRecord } from '../dns/message.js';
import { rdataFromText } from '../dns/rdata.js';
import type { ClosableResolution, StartOptions } from './api.js';
import type { ResolverConfig } from './config.js';
import { createIterator } from './iterator/index.js';
import { parseRootHints } from './iterator/roothints.js';
import { emptyStats } from './stats.js';

/** Names are asked under this zone (".invalid" is reserved: RFC 6761). */
const ZONE = 'warmup.invalid';
const ROOT_ADDR = '127.0.0.1';
const CHILD_ADDR = '127.0.0.2';
/** Queries outstanding at once during the warm-up. */
const WINDOW = 50;
/**
 * The warm-up stops after this long, whatever is left: about 1 s covers 3000
 * queries on an idle 2-core box; a loaded one gets a shorter warm-up rather than
 * a start delayed by many seconds.
 */
export const WARMUP_MAX_MS = 2000;

/** How the warm-up starts its throwaway instance: server.ts passes startSingle (which imports this module). */
export type StartInstance = (cfg: ResolverConfig, o: StartOptions & { resolution: ClosableResolution }) => Promise<{ close(): Promise<void>; listening: Array<{ port: number }> }>;

export interface WarmupResult {
  sent: number;
  answered: number;
  /** Answers by rcode: NOERROR, NXDOMAIN, anything else. */
  noerror: number;
  nxdomain: number;
  other: number;
  /** Queries the warm-up's two authoritative servers received (0 means the iterator never ran). */
  upstream: number;
  ms: number;
}

const rr = (name: string, type: number, text: string, ttl = 300): ResourceRecord => ({ name, type, class: CLASS.IN, ttl, rdata: rdataFromText(type, text) });

/** The two authoritative servers' answers: the root refers "invalid" names to the child, the child answers. */
function authAnswer(q: Message, child: boolean): Buffer | undefined {
  const qq = q.questions[0];
  if (!qq || (q.flags & FLAG.QR) !== 0) return undefined;
  const name = qq.name.toLowerCase();
  const base = { id: q.id, opcode: 0, questions: q.questions, answers: [] as ResourceRecord[], authority: [] as ResourceRecord[], additional: [] as ResourceRecord[] };
  const soa = (zone: string) => rr(zone, TYPE.SOA, `ns.${zone === '' ? 'root' : zone}. host. 1 3600 900 604800 60`);
  const edns = q.edns ? { edns: { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: [] } } : {};
  if (!child) {
    if (name === '' && qq.type === TYPE.NS) {
      return encodeMessage({ ...base, ...edns, flags: FLAG.QR | FLAG.AA, rcode: 0, answers: [rr('', TYPE.NS, 'a.root.warmup.')], additional: [rr('a.root.warmup', TYPE.A, ROOT_ADDR)] });
    }
    if (name === ZONE || name.endsWith('.' + ZONE) || name === 'invalid') {
      if (name === 'invalid') return encodeMessage({ ...base, ...edns, flags: FLAG.QR | FLAG.AA, rcode: 0, authority: [soa('invalid')] });
      return encodeMessage({
        ...base, ...edns, flags: FLAG.QR, rcode: 0,
        authority: [rr(ZONE, TYPE.NS, `ns.${ZONE}.`)], additional: [rr(`ns.${ZONE}`, TYPE.A, CHILD_ADDR)],
      });
    }
    return encodeMessage({ ...base, ...edns, flags: FLAG.QR | FLAG.AA, rcode: RCODE.NXDOMAIN, authority: [soa('')] });
  }
  if (name === ZONE && qq.type === TYPE.NS) return encodeMessage({ ...base, ...edns, flags: FLAG.QR | FLAG.AA, rcode: 0, answers: [rr(ZONE, TYPE.NS, `ns.${ZONE}.`)] });
  if (name.startsWith('nx')) return encodeMessage({ ...base, ...edns, flags: FLAG.QR | FLAG.AA, rcode: RCODE.NXDOMAIN, authority: [soa(ZONE)] });
  if (qq.type === TYPE.A) return encodeMessage({ ...base, ...edns, flags: FLAG.QR | FLAG.AA, rcode: 0, answers: [rr(qq.name, TYPE.A, '192.0.2.1')] });
  return encodeMessage({ ...base, ...edns, flags: FLAG.QR | FLAG.AA, rcode: 0, authority: [soa(ZONE)] });
}

async function bindAuth(address: string, port: number, child: boolean, counted: () => void): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('message', (buf, rinfo) => {
    counted();
    let q: Message;
    try { q = parseMessage(buf); } catch { return; }
    const out = authAnswer(q, child);
    if (out) s.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, address, () => { s.off('error', reject); resolve(); }); });
  return s;
}

/** Two authoritative servers on the same port of 127.0.0.1 and 127.0.0.2. */
async function startAuths(counted: () => void): Promise<{ port: number; close(): void }> {
  for (let attempt = 0; ; attempt++) {
    const root = await bindAuth(ROOT_ADDR, 0, false, counted);
    const port = root.address().port;
    try {
      const child = await bindAuth(CHILD_ADDR, port, true, counted);
      return { port, close: () => { root.close(); child.close(); } };
    } catch (e) {
      root.close();
      if (attempt >= 5) throw e;
    }
  }
}

/**
 * Sends `queries` synthetic cold misses (and some repeats, which hit the cache)
 * through a throwaway instance built like the real one. Resolves when they are
 * answered or maxMs (WARMUP_MAX_MS) has passed; never throws for a failed warm-up (it only
 * makes the first burst slower): it logs and returns.
 */
export async function warmUp(cfg: ResolverConfig, queries: number, log: (msg: string) => void, start: StartInstance, maxMs = WARMUP_MAX_MS): Promise<WarmupResult> {
  const t0 = performance.now();
  const result: WarmupResult = { sent: 0, answered: 0, noerror: 0, nxdomain: 0, other: 0, upstream: 0, ms: 0 };
  if (queries <= 0) return result;
  let auths: { port: number; close(): void } | undefined;
  let handle: { close(): Promise<void>; listening: Array<{ port: number }> } | undefined;
  let client: dgram.Socket | undefined;
  try {
    auths = await startAuths(() => { result.upstream++; });
    const wcfg: ResolverConfig = {
      ...cfg,
      listen: [{ host: ROOT_ADDR, port: 0 }],
      allow: ['127.0.0.0/8'],
      workers: 1,
      upstream: { ...cfg.upstream, port: auths.port, queryLocalhost: true, ipv6: false },
      // The throwaway must not touch the node's state: no cache dump read or written,
      // no warm names, no control socket (resolver/control/).
      ops: undefined,
      // "invalid" is one of the special-use zones every instance answers itself
      // (NXDOMAIN, resolver/local.ts, as unbound does). Left on, it answered all of the
      // warm-up locally: its authoritative servers got no query at all, and the first
      // real burst still ran the iterator, transport and codec in the interpreter
      // (resolver/README.md, "First burst after start"). Nothing under warmup.invalid
      // may reach a forwarder of the node's config either, nor be rate limited or
      // refused for want of a server cookie (its client sends none, like most).
      localZonesNodefault: [...(cfg.localZonesNodefault ?? []).filter((z) => z !== 'invalid'), 'invalid'],
      forwardZones: undefined,
      rateLimit: undefined,
      cookies: cfg.cookies ? { ...cfg.cookies, enforce: false } : undefined,
    };
    const stats = emptyStats();
    const hints = parseRootHints(`. 3600000 NS a.root.warmup.\na.root.warmup. 3600000 A ${ROOT_ADDR}\n`, 'warm-up root hints');
    const resolution = createIterator(wcfg, stats, { rootHints: hints });
    handle = await start(wcfg, { resolution, log: () => {}, closeGraceMs: 100 });
    const port = handle.listening[0].port;
    const sock = dgram.createSocket('udp4');
    client = sock;
    await new Promise<void>((r) => sock.bind(0, ROOT_ADDR, () => r()));
    await new Promise<void>((resolve) => {
      let next = 0;
      const deadline = setTimeout(resolve, maxMs);
      const sendOne = () => {
        if (next >= queries) return;
        const i = next++;
        // 1 in 5 a repeat of an earlier name (a cache hit), 1 in 5 a name that does not exist.
        const name = i % 5 === 4 ? `w${i >> 1}.${ZONE}` : i % 5 === 3 ? `nx${i}.${ZONE}` : `w${i}.${ZONE}`;
        result.sent++;
        sock.send(buildQuery({ id: i & 0xffff, name, type: TYPE.A, rd: true, ednsUdpSize: 1232 }), port, ROOT_ADDR);
      };
      let lastAnswer = performance.now();
      sock.on('message', (reply: Buffer) => {
        lastAnswer = performance.now();
        result.answered++;
        const rcode = reply.length >= 4 ? reply[3] & 0x0f : -1;
        if (rcode === RCODE.NOERROR) result.noerror++;
        else if (rcode === RCODE.NXDOMAIN) result.nxdomain++;
        else result.other++;
        if (result.answered >= queries) { clearTimeout(deadline); resolve(); return; }
        sendOne();
      });
      for (let k = 0; k < WINDOW; k++) sendOne();
      // A lost datagram would stall the window: top it up now and then, and stop
      // waiting for the last few once all are sent and nothing came for a second.
      const topUp = setInterval(() => {
        if (result.sent - result.answered < WINDOW) sendOne();
        if (result.sent >= queries && performance.now() - lastAnswer > 1000) { clearInterval(topUp); clearTimeout(deadline); resolve(); }
      }, 50);
      topUp.unref();
      deadline.unref();
    });
  } catch (e) {
    log(`warm-up skipped: ${(e as Error).message}`);
  } finally {
    client?.close();
    await handle?.close();
    auths?.close();
  }
  result.ms = performance.now() - t0;
  return result;
}

/**
 * warmUp in two passes, one throwaway instance each, half the queries each, both
 * within WARMUP_MAX_MS (a loaded box starts late by no more than one pass). Code
 * optimised in the first pass is specialised on that instance's closures and
 * objects and deoptimises when the next instance calls it with its own; the second
 * pass optimises it again without them, so the real instance starts with code it
 * can keep (29-40 deoptimisations in the first burst became 5-9; resolver/README.md,
 * "First burst: what the warm-up's code is worth"). Returns both passes' sums.
 */
export async function warmUpInTwoPasses(cfg: ResolverConfig, queries: number, log: (msg: string) => void, start: StartInstance): Promise<WarmupResult> {
  const w = await warmUp(cfg, Math.ceil(queries / 2), log, start);
  if (queries > 1 && w.ms < WARMUP_MAX_MS) {
    const w2 = await warmUp(cfg, Math.floor(queries / 2), log, start, WARMUP_MAX_MS - w.ms);
    for (const k of Object.keys(w) as Array<keyof WarmupResult>) w[k] += w2[k];
  }
  return w;
}
