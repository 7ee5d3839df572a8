// DNSSEC validation cost (issue 14, item 9), two parts:
//
// 1. Our resolver validating beside unbound validating, the same zones, the same
//    trust anchor: the ldns-signed tree of bench/harness/signed-zones.ts on NSD
//    (127.90.5.0/24), dnsperf with DO=1.
//      cache hit:  perf0..perf99.ecdsa.signed A (ECDSA P-256), warmed first;
//      cold miss:  unique names under *.wild.nsec3.signed: each needs an upstream
//                  query and the validation of a wildcard answer (the A RRset's
//                  RRSIG and the NSEC3 proving no closer name). NSEC3, because
//                  unbound's aggressive use of the cache (RFC 8198) synthesises
//                  wildcard answers from cached NSEC, not NSEC3: every name is a
//                  real miss for both.
//    Targets: cache hit >= 1.0x unbound, cold miss >= 0.8x unbound.
//
// 2. Signature verifications per second for each algorithm (5, 7, 8, 10, 13, 14,
//    15, 16): one A RRset signed by lab/dnssec, verified (a) by the resolver's own
//    verify path (resolver/validator/verify.ts: verifyRRset, from DNSKEY and RRSIG
//    rdata to verdict) and (b) by node:crypto's verify() alone with the key object
//    and the signed bytes prepared once: the ceiling the project can reach.
//    Without resolver/validator/ only the ceiling is printed.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CLASS, TYPE } from '../dns/constants.js';
import type { ResourceRecord } from '../dns/message.js';
import { ALGORITHMS, generateKey, publicKeyFromDnskey } from '../lab/dnssec/keys.js';
import { signRRset, signedData } from '../lab/dnssec/sign.js';
import { query } from './harness/client.js';
import { oursUnavailableReason, startOurs, startUnbound, DNSPERF_BIN, type Running } from './harness/daemons.js';
import { runDnsperf, type DnsperfResult } from './harness/dnsperf.js';
import { repoRoot, requireBinary } from './harness/proc.js';
import { SIGNED_HOST, SIGNED_PERF_NAMES, startSignedTree } from './harness/signed-zones.js';
import type { BenchOptions, BenchReport } from './types.js';

const PREFIX = '127.90.5';
const CLIENTS = 8;
const OUTSTANDING = 200;
const OUTSTANDING_MISS = 50;

/** The resolver's verify path, as resolver/validator/ exports it (loaded at run time: it may not be there). */
interface ProjectVerify {
  verifyRRset(rrset: readonly ResourceRecord[], sigs: readonly unknown[], keys: readonly unknown[], zone: string, nowSec: number): { ok: boolean };
  zoneKeys(records: readonly ResourceRecord[]): unknown[];
  sigsFor(rrset: readonly ResourceRecord[], sigs: readonly ResourceRecord[]): unknown[];
  /** Drops remembered verification outcomes, so each call below does the public-key work. */
  forgetVerifications?(): void;
}

/** Imports resolver/validator/verify.js next to this module (dist/ or the source tree), or says why not. */
export async function loadProjectVerify(): Promise<ProjectVerify | string> {
  const here = new URL('.', import.meta.url);
  const candidate = new URL('../resolver/validator/verify.js', here);
  const source = new URL('../resolver/validator/verify.ts', here);
  if (!existsSync(candidate) && !existsSync(source)) return 'resolver/validator/verify.ts is not in this tree (the validator is not merged): only the node:crypto ceiling is measured';
  try {
    const mod = (await import(existsSync(candidate) ? candidate.href : source.href)) as Partial<ProjectVerify>;
    if (typeof mod.verifyRRset !== 'function' || typeof mod.zoneKeys !== 'function' || typeof mod.sigsFor !== 'function') {
      return 'resolver/validator/verify.js does not export verifyRRset, zoneKeys and sigsFor: only the ceiling is measured';
    }
    return mod as ProjectVerify;
  } catch (e) {
    return `resolver/validator/verify.js failed to load (${(e as Error).message}): only the ceiling is measured`;
  }
}

/** Calls fn repeatedly for about `ms` and returns calls per second (at least `min` calls). */
function rate(fn: () => boolean, ms: number, min = 20): number {
  for (let i = 0; i < 5; i++) if (!fn()) throw new Error('verification failed during warm-up');
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms || n < min) {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

export interface VerifyRow {
  algorithm: number;
  name: string;
  ceiling: number;
  project?: number;
}

/** Verifications per second per algorithm: the project's path (when given) and node:crypto's ceiling. */
export function verifyRates(project: ProjectVerify | undefined, msEach: number): VerifyRow[] {
  const now = Math.floor(Date.now() / 1000);
  const rows: VerifyRow[] = [];
  for (const [alg, info] of ALGORITHMS) {
    const key = generateKey(alg);
    const zone = 'bench.example';
    const rrset: ResourceRecord[] = [1, 2].map((i) => ({ name: `www.${zone}`, type: TYPE.A, class: CLASS.IN, ttl: 300, rdata: Buffer.from([192, 0, 2, i]) }));
    const rrsig = signRRset(rrset, key, { signer: zone, inception: now - 3600, expiration: now + 86400 });
    const head = rrsig.rdata.subarray(0, 18 + zone.length + 2);
    const sig = rrsig.rdata.subarray(head.length);
    const data = signedData(head, rrset);
    const pub = publicKeyFromDnskey(key.dnskey);
    const ceiling = rate(info.kind === 'ec'
      ? () => verify(info.hash, data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)
      : () => verify(info.hash, data, pub, sig), msEach);
    const row: VerifyRow = { algorithm: alg, name: info.name, ceiling };
    if (project) {
      const keys = project.zoneKeys([{ name: zone, type: TYPE.DNSKEY, class: CLASS.IN, ttl: 300, rdata: key.dnskey }]);
      const sigs = project.sigsFor(rrset, [rrsig]);
      // The validator remembers outcomes (the same RRset, RRSIG and key verify once): forgotten before
      // every call, so this row is the verification itself, not a lookup.
      row.project = rate(() => { project.forgetVerifications?.(); return project.verifyRRset(rrset, sigs, keys, zone, now).ok; }, msEach);
    }
    rows.push(row);
  }
  return rows;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export interface DnssecBenchScale {
  seconds: number;
  rounds: number;
  verifyMs: number;
}

/** Whether the resolver here validates (its validator is in the tree). */
export function validatorPresent(): boolean {
  return existsSync(join(repoRoot(), 'resolver', 'validator'));
}

export async function runDnssecBench(scale: DnssecBenchScale): Promise<BenchReport> {
  const notes: string[] = [];
  const rows: Array<Record<string, string | number>> = [];

  // Part 2 first: it needs no daemons.
  const loaded = await loadProjectVerify();
  const project = typeof loaded === 'string' ? undefined : loaded;
  if (typeof loaded === 'string') notes.push(loaded);
  const verifyRows = verifyRates(project, scale.verifyMs);
  for (const v of verifyRows) {
    rows.push({
      what: `verify/s, alg ${v.algorithm} ${v.name}`, unbound: '', 'anycast-kit': v.project === undefined ? '' : Math.round(v.project),
      'node:crypto ceiling': Math.round(v.ceiling), ratio: v.project === undefined ? '' : Math.round((v.project / v.ceiling) * 100) / 100,
    });
  }
  notes.push(`verify/s: one A RRset of two records, one signature, key made by lab/dnssec (RSA: 2048 bits), ${scale.verifyMs} ms per figure, one core; ratio = project path / ceiling`);

  // Part 1: beside unbound.
  requireBinary(DNSPERF_BIN, 'dnsperf');
  const tree = await startSignedTree(PREFIX, 'bench-dnssec');
  const started: Array<{ r: Running; label: string; hit: DnsperfResult[]; miss: DnsperfResult[] }> = [];
  try {
    const hits = join(tree.dir, 'hits.txt');
    writeFileSync(hits, Array.from({ length: SIGNED_PERF_NAMES }, (_, i) => `perf${i}.ecdsa.signed A\n`).join(''));
    const unbound = await startUnbound({ address: tree.addr(SIGNED_HOST.unbound), rootHintsFile: tree.rootHintsFile, trustAnchorFile: tree.trustAnchorFile, threads: 1, label: 'bench-dnssec' });
    started.push({ r: unbound, label: 'unbound 1.17, 1 thread, validating', hit: [], miss: [] });
    const why = oursUnavailableReason() ?? (validatorPresent() ? undefined : 'resolver/validator/ is not in this tree: our resolver does not validate yet');
    if (why) notes.push(`anycast-kit not measured: ${why}`);
    else {
      const config = join(tree.dir, 'ours-validating.yaml');
      writeFileSync(config, `resolver:\n  validator:\n    enabled: true\n    trust_anchor_files: [${JSON.stringify(tree.trustAnchorFile)}]\n`);
      const ours = await startOurs({ address: tree.addr(SIGNED_HOST.ours), rootHintsFile: tree.rootHintsFile, workers: 1, identity: 'bench-dnssec', validate: true, extraArgs: ['--config', config] });
      started.push({ r: ours, label: 'anycast-kit, --workers 1, validating', hit: [], miss: [] });
    }
    for (const { r } of started) {
      // Warm: the chain of trust (DNSKEYs, DS), the NSEC3 zone's delegation, every hit name.
      await query('warm.wild.nsec3.signed', TYPE.A, { server: r.address, dnssecOk: true, timeoutMs: 5000 });
      for (let i = 0; i < SIGNED_PERF_NAMES; i++) {
        const a = await query(`perf${i}.ecdsa.signed`, TYPE.A, { server: r.address, dnssecOk: true, timeoutMs: 5000 });
        if (i === 0 && !(a.msg.flags & 0x0020)) notes.push(`${r.name}: perf0.ecdsa.signed came back without AD: not validating?`);
      }
    }
    const missCount = scale.seconds * 40_000;
    for (let round = 0; round < scale.rounds; round++) {
      for (const [i, s] of started.entries()) {
        s.hit.push(await runDnsperf({ server: s.r.address, file: hits, seconds: scale.seconds, clients: CLIENTS, outstanding: OUTSTANDING, dnssecOk: true }));
        const misses = join(tree.dir, `misses-${round}-${i}.txt`);
        writeFileSync(misses, Array.from({ length: missCount }, (_, k) => `r${round}t${i}-${k.toString(36)}.wild.nsec3.signed A\n`).join(''));
        s.miss.push(await runDnsperf({ server: s.r.address, file: misses, seconds: scale.seconds, maxRuns: 1, clients: CLIENTS, outstanding: OUTSTANDING_MISS, dnssecOk: true }));
      }
    }
  } finally {
    await Promise.all(started.map((s) => s.r.stop()));
    await tree.stop();
  }
  const hitQ = (s: (typeof started)[number]) => median(s.hit.map((d) => d.qps));
  const missQ = (s: (typeof started)[number]) => median(s.miss.map((d) => d.qps));
  for (const s of started) {
    rows.push({ what: `${s.label}: cache-hit qps`, unbound: s.r.name === 'unbound' ? Math.round(hitQ(s)) : '', 'anycast-kit': s.r.name === 'unbound' ? '' : Math.round(hitQ(s)), 'node:crypto ceiling': '', ratio: '' });
    rows.push({ what: `${s.label}: cold-miss qps`, unbound: s.r.name === 'unbound' ? Math.round(missQ(s)) : '', 'anycast-kit': s.r.name === 'unbound' ? '' : Math.round(missQ(s)), 'node:crypto ceiling': '', ratio: '' });
    const rc: Record<string, number> = {};
    for (const d of s.miss) for (const [k, v] of Object.entries(d.rcodes)) rc[k] = (rc[k] ?? 0) + v;
    const bad = Object.entries(rc).filter(([k]) => k !== 'NOERROR');
    if (bad.length) notes.push(`${s.label}: cold-miss answers other than NOERROR: ${bad.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const [ub, ours] = started;
  if (ub && ours) {
    const r = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const hitR = r(hitQ(ours), hitQ(ub)), missR = r(missQ(ours), missQ(ub));
    rows.push({ what: 'ratio, validating: cache hit, anycast-kit / unbound', unbound: '', 'anycast-kit': '', 'node:crypto ceiling': '', ratio: hitR });
    rows.push({ what: 'ratio, validating: cold miss, anycast-kit / unbound', unbound: '', 'anycast-kit': '', 'node:crypto ceiling': '', ratio: missR });
    notes.push(`targets (validation on, 1 worker vs 1 unbound thread): cache hit >= 1.0x: ${hitR >= 1 ? 'met' : 'NOT met'} (${hitR}x); cold miss >= 0.8x: ${missR >= 0.8 ? 'met' : 'NOT met'} (${missR}x)`);
  }
  notes.push(`dnsperf -D (DO=1) -c ${CLIENTS} -T 1 -t 2, -q ${OUTSTANDING} (hit) / ${OUTSTANDING_MISS} (miss), ${scale.rounds} round(s) of ${scale.seconds} s, median; the tree is signed with ldns (bench/harness/signed-zones.ts); unbound: module-config "validator iterator", trust-anchor-file = the tree's root DS, qname-minimisation off, otherwise defaults; ours: validator.enabled, the same anchor file, otherwise defaults`);
  return { title: 'dnssec: validation on, anycast-kit vs unbound; signature verifications per second', rows, notes };
}

export async function bench(opts: BenchOptions): Promise<BenchReport> {
  return runDnssecBench(opts.quick ? { seconds: 3, rounds: 1, verifyMs: 200 } : { seconds: 6, rounds: 3, verifyMs: 1000 });
}

