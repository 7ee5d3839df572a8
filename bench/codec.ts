// Our wire codec against dns2 on the same messages, plus the hostile pointer chain
// described in docs/field-notes.md ("dns2"). This is the measurement behind writing dns/ ourselves.

import dns2 from 'dns2';
import { performance } from 'node:perf_hooks';
import { CLASS, TYPE } from '../dns/constants.js';
import { buildQuery, encodeMessage, parseMessage, type Message } from '../dns/message.js';
import { rdataFromText } from '../dns/rdata.js';
import type { BenchOptions, BenchReport } from './types.js';

const { Packet } = dns2 as unknown as { Packet: { parse(b: Buffer): unknown } & { new (m?: unknown): { toBuffer(): Buffer } } };

function response(): Message {
  const answers = [];
  for (let i = 0; i < 11; i++) answers.push({ name: 'www.example.com', type: TYPE.A, class: CLASS.IN, ttl: 300, rdata: rdataFromText(TYPE.A, `192.0.2.${i + 1}`) });
  return { id: 7, flags: 0x8180, rcode: 0, opcode: 0, questions: [{ name: 'www.example.com', type: TYPE.A, class: CLASS.IN }], answers, authority: [], additional: [] };
}

/** Runs fn for `iterations` (bounded) and returns calls per second. */
function rate(iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return iterations / ((performance.now() - t0) / 1000);
}

/**
 * The quadratic shape: one record's unknown-type rdata holds a chain of k backward
 * pointers, and every later record's owner name points at the chain's end, so a
 * decoder without a hop bound walks k pointers per record.
 */
function pointerChain(k: number): Buffer {
  const records = Math.floor((65535 - 12 - 5 - 11 - (2 * k + 1)) / 16);
  const buf = Buffer.alloc(12 + 5 + 11 + 2 * k + 1 + records * 16);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(1 + records, 6);
  let p = 12;
  buf[p++] = 0; buf.writeUInt16BE(TYPE.A, p); buf.writeUInt16BE(CLASS.IN, p + 2); p += 4;
  buf[p++] = 0; buf.writeUInt16BE(65280, p); buf.writeUInt16BE(CLASS.IN, p + 2); buf.writeUInt32BE(0, p + 4); buf.writeUInt16BE(2 * k + 1, p + 8); p += 10;
  const root = p;
  buf[p++] = 0;
  for (let i = 0; i < k; i++) {
    const target = i === 0 ? root : p - 2;
    buf[p++] = 0xc0 | (target >> 8); buf[p++] = target & 0xff;
  }
  const last = p - 2;
  for (let r = 0; r < records; r++) {
    buf[p++] = 0xc0 | (last >> 8); buf[p++] = last & 0xff;
    buf.writeUInt16BE(TYPE.A, p); buf.writeUInt16BE(CLASS.IN, p + 2); buf.writeUInt32BE(60, p + 4); buf.writeUInt16BE(4, p + 8); p += 10;
    buf.writeUInt32BE(0xc0000201, p); p += 4;
  }
  return buf.subarray(0, p);
}

export async function bench(opts: BenchOptions): Promise<BenchReport> {
  const n = opts.quick ? 20_000 : 200_000;
  const query = buildQuery({ id: 1, name: 'www.example.com', type: TYPE.A, rd: true, ednsUdpSize: 1232 });
  const resp = encodeMessage(response());
  const parsedForDns2 = Packet.parse(resp) as object;
  const rows: BenchReport['rows'] = [];
  const add = (op: string, ours: number, theirs: number) => rows.push({ operation: op, 'anycast-kit /s': Math.round(ours), 'dns2 /s': Math.round(theirs), ratio: +(ours / theirs).toFixed(2) });
  add('parse a query', rate(n, () => parseMessage(query)), rate(n, () => Packet.parse(query)));
  add('parse an 11-record response', rate(n / 4, () => parseMessage(resp)), rate(n / 4, () => Packet.parse(resp)));
  const msg = response();
  add('encode an 11-record response', rate(n / 4, () => encodeMessage(msg)), rate(n / 20, () => new (Packet as any)(parsedForDns2).toBuffer()));
  const hostile = pointerChain(opts.quick ? 4000 : 12000);
  let t0 = performance.now();
  let oursErr = '';
  try { parseMessage(hostile); } catch (e) { oursErr = (e as Error).message; }
  const oursMs = performance.now() - t0;
  t0 = performance.now();
  try { Packet.parse(hostile); } catch { /* dns2 records errors or throws: either way we only time it */ }
  const theirsMs = performance.now() - t0;
  rows.push({ operation: `hostile ${hostile.length}-byte pointer chain (ms, lower is better)`, 'anycast-kit /s': +oursMs.toFixed(3), 'dns2 /s': +theirsMs.toFixed(1), ratio: +(theirsMs / Math.max(oursMs, 0.001)).toFixed(0) });
  return {
    title: 'DNS wire codec: anycast-kit dns/ vs dns2 3.1.1 (same messages, same process)',
    rows,
    notes: [
      `ratio > 1 means ours is faster; the hostile row's ratio is dns2 time / our time. Ours rejects it: "${oursErr}".`,
      'Why dns/ is our own code: dns2 follows unbounded pointer chains and encodes bit by bit (docs/field-notes.md).',
    ],
  };
}
