import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { AnswerCache } from '../fastpath/cache.js';
import { buildEntry, render } from '../fastpath/entry.js';
import { MAX_KEY_LEN, QueryInfo, readQuery } from '../listener/query.js';
import { buildQuery, parseMessage } from '../../dns/message.js';
import { ipv4ToBytes, encodeSoa } from '../../dns/rdata.js';
import { nameToWire } from '../../dns/name.js';
import { cacheEntries, decodeDump, DUMP_FORMAT_VERSION, DumpError, encodeDump, loadIntoCache, mergeDumps } from './dump.js';

const A = 1, CNAME = 5, SOA = 6;

function keyOf(name: string, type: number): { hash: number; key: Buffer; len: number; query: Buffer } {
  const query = buildQuery({ id: 7, name, type, rd: true });
  const q = new QueryInfo();
  const key = Buffer.alloc(MAX_KEY_LEN + 4);
  readQuery(query, q, key);
  return { hash: q.keyHash, key, len: q.keyLen, query };
}

/** A cache with a positive answer, a CNAME chain, an NXDOMAIN with SOA and an EDE answer. */
function filledCache(now: number): AnswerCache {
  const c = new AnswerCache(1 << 20);
  const put = (name: string, type: number, e: ReturnType<typeof buildEntry>) => c.store(keyOf(name, type).hash, e, now);
  put('www.example.com.', A, buildEntry({ name: 'www.example.com.', type: A, class: 1, rcode: 0,
    answers: [{ name: 'www.example.com.', type: A, class: 1, ttl: 300, rdata: ipv4ToBytes('192.0.2.1') }], authority: [], additional: [] }, now, 300));
  put('alias.example.com.', A, buildEntry({ name: 'alias.example.com.', type: A, class: 1, rcode: 0,
    answers: [
      { name: 'alias.example.com.', type: CNAME, class: 1, ttl: 600, rdata: nameToWire('www.example.com.') },
      { name: 'www.example.com.', type: A, class: 1, ttl: 300, rdata: ipv4ToBytes('192.0.2.1') },
    ], authority: [], additional: [] }, now, 300));
  const soa = encodeSoa({ mname: 'ns.example.com.', rname: 'h.example.com.', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 60 });
  put('nx.example.com.', A, buildEntry({ name: 'nx.example.com.', type: A, class: 1, rcode: 3,
    answers: [], authority: [{ name: 'example.com.', type: SOA, class: 1, ttl: 60, rdata: soa }], additional: [] }, now, 60));
  put('ede.example.com.', A, buildEntry({ name: 'ede.example.com.', type: A, class: 1, rcode: 2,
    answers: [], authority: [], additional: [], ede: { code: 22, text: 'no reachable authority' } }, now, 2));
  return c;
}

function answerOf(c: AnswerCache, name: string, type: number, now: number) {
  const k = keyOf(name, type);
  const e = c.lookup(k.hash, k.key, k.len, now);
  return e ? parseMessage(render(e, k.query, null, 0xffff, now, 0)) : undefined;
}

describe('cache dump', () => {
  it('round-trips every entry and counts TTLs down by the time that passed', () => {
    const t0 = 10_000;
    const c = filledCache(t0);
    // 20 s after storing, the node stops; the dump says so.
    const dump = encodeDump(cacheEntries(c, t0 + 20_000), 1_000_000);
    const parsed = decodeDump(dump);
    // The 2 s SERVFAIL had run out before the dump: it is not written.
    expect(parsed.entries).toHaveLength(3);
    // It starts again 30 s later, in a process whose monotonic clock reads 500.
    const fresh = new AnswerCache(1 << 20);
    const r = loadIntoCache(fresh, parsed, 500, 1_030_000);
    expect(r).toEqual({ loaded: 3, expired: 0 });
    const www = answerOf(fresh, 'www.example.com.', A, 500)!;
    expect(www.answers.map((a) => a.ttl)).toEqual([250]);
    expect(www.answers[0].rdata).toEqual(ipv4ToBytes('192.0.2.1'));
    const alias = answerOf(fresh, 'ALIAS.example.com.', A, 500)!;
    expect(alias.answers.map((a) => [a.name, a.ttl])).toEqual([['ALIAS.example.com', 550], ['www.example.com', 250]]);
    // The NXDOMAIN had 60 s: 10 s are left, then it is gone.
    expect(answerOf(fresh, 'nx.example.com.', A, 500)!.authority[0].ttl).toBe(10);
    expect(answerOf(fresh, 'nx.example.com.', A, 10_500)).toBeUndefined();
    // The loaded entry expires with the TTL it had left.
    expect(answerOf(fresh, 'www.example.com.', A, 500 + 249_000)).toBeDefined();
    expect(answerOf(fresh, 'www.example.com.', A, 500 + 250_000)).toBeUndefined();
  });

  it('keeps NXDOMAIN with its SOA and EDE options when they are still fresh', () => {
    const c = filledCache(0);
    const parsed = decodeDump(encodeDump(cacheEntries(c, 1000), 5_000));
    const fresh = new AnswerCache(1 << 20);
    // Loaded half a second after the dump: the SERVFAIL's last second is too little to keep.
    expect(loadIntoCache(fresh, parsed, 0, 5_500)).toEqual({ loaded: 3, expired: 1 });
    const nx = answerOf(fresh, 'nx.example.com.', A, 0)!;
    expect(nx.rcode).toBe(3);
    expect(nx.authority[0].ttl).toBe(59);
    // The SERVFAIL had 1 s left: too little to load.
    expect(answerOf(fresh, 'ede.example.com.', A, 0)).toBeUndefined();
    const p = decodeDump(encodeDump(cacheEntries(c, 0), 0));
    const withEde = p.entries.find((e) => e.ede !== null)!;
    expect(withEde.ede!.readUInt16BE(4)).toBe(22);
  });

  it('rejects a dump of another format version, bad magic, truncation and every single bit flip', () => {
    const good = encodeDump(cacheEntries(filledCache(0), 1000), 5_000);
    expect(() => decodeDump(good)).not.toThrow();
    const other = Buffer.from(good);
    other.writeUInt16BE(DUMP_FORMAT_VERSION + 1, 8);
    expect(() => decodeDump(other)).toThrow(new DumpError(`dump format version ${DUMP_FORMAT_VERSION + 1}, this build reads version ${DUMP_FORMAT_VERSION}`));
    expect(() => decodeDump(Buffer.from('hello world, not a dump at all, really'))).toThrow(/bad magic/);
    expect(() => decodeDump(Buffer.alloc(0))).toThrow(/bad magic/);
    for (const len of [8, 30, 100, good.length - 33, good.length - 1]) {
      expect(() => decodeDump(good.subarray(0, len)), `truncated to ${len}`).toThrow(DumpError);
    }
    // Flip each bit of the file in turn (a sample of bit positions per byte keeps it quick).
    let rejected = 0;
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] ^= 1 << (i % 8);
      expect(() => decodeDump(bad), `bit flip at byte ${i}`).toThrow(DumpError);
      rejected++;
    }
    expect(rejected).toBe(good.length);
  });

  it('rejects a well-checksummed dump whose messages do not hold together', () => {
    const good = encodeDump(cacheEntries(filledCache(0), 1000), 5_000);
    // Corrupt the first stored message's ANCOUNT, then fix the checksum, as a buggy writer would.
    const bad = Buffer.from(good);
    const firstWire = 24 + 12 + bad.readUInt16BE(24 + 8);
    bad.writeUInt16BE(9, firstWire + 6);
    const body = bad.subarray(0, bad.length - 32);
    createHash('sha256').update(body).digest().copy(bad, bad.length - 32);
    expect(() => decodeDump(bad)).toThrow(/entry 0: /);
  });

  it('merges workers\' dumps on one clock and drops what ran out', () => {
    const a = decodeDump(encodeDump(cacheEntries(filledCache(0), 1000), 10_000));
    const b = decodeDump(encodeDump(cacheEntries(filledCache(0), 1000), 40_000));
    const merged = mergeDumps([a, b], 40_000);
    // a's entries are 30 s older: its NXDOMAIN (59 s left) stays, its SERVFAIL goes.
    expect(merged.filter((e) => e.wire.readUInt16BE(6) === 0 && (e.wire[3] & 0xf) === 3)).toHaveLength(2);
    const www = merged.filter((e) => e.wire.includes(Buffer.from('www')) && e.wire.readUInt16BE(6) === 1);
    expect(www.map((e) => e.remainingMs).sort()).toEqual([269_000, 299_000]);
  });
});
