// Side by side: what the answer cache and the RRset cache count against their
// byte bounds, and what the heap (V8 heap plus array buffers, after forced full
// GCs) really grows by when they fill the way resolutions fill them (replies
// encoded, parsed back, stored). Used by test/resolver/memory.test.ts, which keeps
// the counts honest, and for the figures in resolver/README.md ("Memory").

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeMessage, parseMessage, type Message } from '../dns/message.js';
import { encodeSoa, ipv4ToBytes } from '../dns/rdata.js';
import { RRsetCache, TRUST } from './cache/rrset-cache.js';
import { AnswerCache } from './fastpath/cache.js';
import { buildEntry } from './fastpath/entry.js';
import { TtlPolicy } from './ttl-policy.js';

export interface AccountingFigures {
  /** Bytes per name the cache counts against its bound. */
  countedPerName: number;
  /** Bytes per name the heap grew by. */
  heapPerName: number;
}

let gcFn: (() => void) | undefined;
function gc(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

function heapNow(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const SOA = {
  name: 'perf.interop', type: 6, class: 1, ttl: 60,
  rdata: encodeSoa({ mname: 'ns.perf.interop', rname: 'hostmaster.perf.interop', serial: 1, refresh: 3600, retry: 900, expire: 604800, minimum: 60 }),
};

/** The i-th reply of the stream bench/memory.ts sends: 3 in 10 NXDOMAIN, the rest one A record under a wildcard. */
function reply(i: number): { nx: boolean; msg: Message } {
  const nx = i % 10 < 3;
  const name = nx ? `n${i.toString(36)}.nx.perf.interop` : `m${i.toString(36)}.miss.perf.interop`;
  const wire = encodeMessage({
    id: 1, flags: 0x8400, rcode: nx ? 3 : 0, opcode: 0, questions: [{ name, type: 1, class: 1 }],
    answers: nx ? [] : [{ name, type: 1, class: 1, ttl: 3600, rdata: ipv4ToBytes('192.0.2.200') }],
    authority: nx ? [SOA] : [], additional: [],
  });
  return { nx, msg: parseMessage(wire) };
}

const TTL = new TtlPolicy({ minTtl: 0, maxTtl: 86400, maxNegativeTtl: 3600, servfailTtl: 5 });

function fillRRsets(n: number): AccountingFigures {
  const before = heapNow();
  const cache = new RRsetCache({ maxBytes: 2 ** 40, ttl: TTL, now: () => 1000 });
  for (let i = 0; i < n; i++) {
    const { nx, msg } = reply(i);
    if (nx) cache.putNegative(msg.questions[0].name, 1, 1, 3, msg.authority[0], 60);
    else cache.putRRset(msg.answers, TRUST.ANSWER_AA);
  }
  const grown = heapNow() - before;
  return { countedPerName: cache.bytes / n, heapPerName: grown / n };
}

function fillAnswers(n: number): AccountingFigures {
  const before = heapNow();
  const cache = new AnswerCache(2 ** 40);
  for (let i = 0; i < n; i++) {
    const { msg } = reply(i);
    const q = msg.questions[0];
    const e = buildEntry({ name: q.name, type: q.type, class: q.class, rcode: msg.rcode, answers: msg.answers, authority: msg.authority, additional: [] }, 1000, 3600);
    cache.store(i, e, 1000);
  }
  const grown = heapNow() - before;
  return { countedPerName: cache.bytes / n, heapPerName: grown / n };
}

/** Fills a fresh cache of each kind with `n` names and compares its count with the heap's growth. */
export function measureCacheAccounting(n: number): { rrset: AccountingFigures; answers: AccountingFigures } {
  return { rrset: fillRRsets(n), answers: fillAnswers(n) };
}
