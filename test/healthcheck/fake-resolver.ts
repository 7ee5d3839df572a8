// A small stand-in ResolverHandle for healthcheck tests: a real UDP DNS listener that
// answers the probe name per setProbeMode (TXT "ok", REFUSED or nothing) and every other name
// with a fixed A record, counting into ResolverStats. It can be told to go silent or
// slow, to exercise the health state machine end to end over real sockets.

import { createSocket, type Socket } from 'node:dgram';
import { encodeMessage, FLAG, lowerName, parseMessage, RCODE, TYPE } from '../../dns/index.js';
import type { ProbeAnswerMode, ResolverHandle } from '../../resolver/api.js';
import type { ResolverConfig } from '../../resolver/config.js';
import { emptyStats, latencyBucket, qtypeClass, rcodeLabel, type ResolverStats } from '../../resolver/stats.js';

export interface FakeResolver extends ResolverHandle {
  mode: ProbeAnswerMode;
  /** Drop every query (a hung node). */
  silent: boolean;
  /** Delay every answer by this many ms (a busy node). */
  delayMs: number;
  /** Probe-mode changes, in order. */
  modeLog: ProbeAnswerMode[];
  counts: ResolverStats;
}

export async function startFakeResolver(cfg: Pick<ResolverConfig, 'listen' | 'probe'>, workers = 1): Promise<FakeResolver> {
  const probeName = lowerName(cfg.probe.name);
  const stats = emptyStats();
  stats.workers = workers;
  const sockets: Socket[] = [];
  const listening: ResolverHandle['listening'] = [];
  const fake: FakeResolver = {
    mode: 'refused',
    silent: false,
    delayMs: 0,
    modeLog: [],
    counts: stats,
    listening,
    async stats() { return structuredClone(stats); },
    setProbeMode(m) { fake.mode = m; fake.modeLog.push(m); },
    async close() { await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r())))); },
  };
  for (const l of cfg.listen) {
    const sock = createSocket(l.host.includes(':') ? 'udp6' : 'udp4');
    sock.on('message', (buf, rinfo) => {
      const t0 = performance.now();
      if (fake.silent) { stats.dropped++; return; }
      let q;
      try { q = parseMessage(buf); } catch { stats.dropped++; return; }
      if (q.flags & FLAG.QR || q.questions.length !== 1) { stats.dropped++; return; }
      const qu = q.questions[0];
      stats.queriesByProtocol.udp++;
      stats.queriesByQtype[qtypeClass(qu.type)]++;
      const isProbe = lowerName(qu.name) === probeName;
      if (isProbe && fake.mode === 'silent') return; // drained: no reply, as the real resolver
      let rcode: number = RCODE.NOERROR;
      const answers = [];
      if (isProbe) {
        if (fake.mode === 'healthy') answers.push({ name: qu.name, type: TYPE.TXT, class: 1, ttl: 0, rdata: Buffer.from('\x02ok') });
        else rcode = RCODE.REFUSED;
      } else {
        stats.cacheHits++;
        if (qu.type === TYPE.A) answers.push({ name: qu.name, type: TYPE.A, class: 1, ttl: 60, rdata: Buffer.from([192, 0, 2, 1]) });
      }
      const out = encodeMessage({
        id: q.id, flags: FLAG.QR | FLAG.RA | (q.flags & FLAG.RD), rcode, opcode: 0,
        questions: q.questions, answers, authority: [], additional: [],
      });
      const send = () => {
        sock.send(out, rinfo.port, rinfo.address);
        const ms = performance.now() - t0;
        stats.answersByRcode[rcodeLabel(rcode)]++;
        stats.latency.counts[latencyBucket(ms)]++;
        stats.latency.sumMs += ms;
        stats.latency.count++;
      };
      if (fake.delayMs > 0) setTimeout(send, fake.delayMs); else send();
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(l.port, l.host, () => { sock.off('error', reject); resolve(); });
    });
    const a = sock.address();
    listening.push({ address: a.address, port: a.port, family: a.family === 'IPv6' ? 6 : 4 });
    sockets.push(sock);
  }
  return fake;
}
