// Calibration: compare the model's hashes with what a real switch says. Feed it captured
// `show ip cef exact-route SRC DST` output; it reports, per algorithm, how often the
// model names the same next hop. Two scores: exact (paths ordered by address, as the
// model assumes) and best-order (the best one-to-one relabelling of paths), which
// separates "wrong hash" from "right hash, different path order".

import { readFileSync } from 'node:fs';
import { ConfigError } from '../../common/yaml-source.js';
import { CEF_ALGORITHMS, flowKey, tableRows, type CefAlgorithm } from './hash.js';
import { parseIPv4 } from './ipv4.js';
import { sortEndpoints, type Endpoint } from './cef.js';

export interface ExactRouteObservation {
  /** Line of the result in the capture. */
  line: number;
  src: number;
  dst: number;
  srcPort?: number;
  dstPort?: number;
  /** Next-hop address as printed, or the interface when no address is shown. */
  nextHop: string;
}

const IPV4 = String.raw`(\d{1,3}(?:\.\d{1,3}){3})`;
// IOS / IOS-XE:  10.1.1.1 -> 192.0.2.53 => IP adj out of Vlan10, addr 10.1.0.11
// (some platforms print ports as 10.1.1.1[1234]).
const IOS_RESULT = new RegExp(String.raw`${IPV4}(?:\[(\d+)\])?\s*->\s*${IPV4}(?:\[(\d+)\])?\s*=>(.*)$`);
const ADDR = new RegExp(String.raw`addr\s+${IPV4}`);
const OUT_OF = /out of\s+([^\s,]+)/;
// NX-OS: the result line names no flow, so it belongs to the command above it.
const NXOS_RESULT = /Hashing to path \*?\s*(\S+)/;

/** Parses captured exact-route output; ignores prompts, banners and other noise. */
export function parseExactRouteCapture(file: string, text: string): ExactRouteObservation[] {
  const out: ExactRouteObservation[] = [];
  let pending: { src: number; dst: number; srcPort?: number; dstPort?: number } | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const cmd = /exact-route\s+(.*)$/.exec(line);
    if (cmd && /\bshow\b/.test(line)) {
      pending = parseCommandArgs(cmd[1]);
      continue;
    }
    const ios = IOS_RESULT.exec(line);
    if (ios) {
      const src = parseIPv4(ios[1]);
      const dst = parseIPv4(ios[3]);
      if (src === undefined || dst === undefined) continue;
      const samePending = pending && pending.src === src && pending.dst === dst ? pending : undefined;
      const srcPort = ios[2] !== undefined ? Number(ios[2]) : samePending?.srcPort;
      const dstPort = ios[4] !== undefined ? Number(ios[4]) : samePending?.dstPort;
      const hop = ADDR.exec(ios[5])?.[1] ?? OUT_OF.exec(ios[5])?.[1];
      if (hop === undefined) continue;
      out.push({ line: i + 1, src, dst, srcPort, dstPort, nextHop: hop });
      pending = undefined;
      continue;
    }
    const nx = NXOS_RESULT.exec(line);
    if (nx && pending) {
      out.push({ line: i + 1, ...pending, nextHop: nx[1] });
      pending = undefined;
    }
  }
  if (!out.length) {
    throw new ConfigError([{ file, line: 0, field: '', message: 'no exact-route results found; expected lines like "10.1.1.1 -> 192.0.2.53 => IP adj out of Vlan10, addr 10.1.0.11"' }]);
  }
  return out;
}

function parseCommandArgs(rest: string): { src: number; dst: number; srcPort?: number; dstPort?: number } | undefined {
  const words = rest.trim().split(/\s+/);
  const addrs: number[] = [];
  let srcPort: number | undefined;
  let dstPort: number | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 'src-port') srcPort = Number(words[++i]);
    else if (w === 'dest-port' || w === 'dst-port') dstPort = Number(words[++i]);
    else {
      const a = parseIPv4(w);
      if (a !== undefined) addrs.push(a);
    }
  }
  if (addrs.length < 2) return undefined;
  return { src: addrs[0], dst: addrs[1], srcPort: Number.isFinite(srcPort) ? srcPort : undefined, dstPort: Number.isFinite(dstPort) ? dstPort : undefined };
}

export function loadExactRouteCapture(file: string): ExactRouteObservation[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, line: 0, field: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseExactRouteCapture(file, text);
}

export interface AlgorithmAgreement {
  algorithm: CefAlgorithm;
  /** Observations the algorithm could be checked on (include-ports needs a source port). */
  compared: number;
  agree: number;
  /** agree / compared, 0..1 (0 when nothing was compared). */
  agreement: number;
  /** Agreements under the best one-to-one mapping of model paths to observed next hops. */
  bestOrderAgree: number;
  bestOrderAgreement: number;
  note?: string;
}

export interface CalibrationResult {
  observations: number;
  endpoints: string[];
  id: number;
  /** What a coin with N sides would score: 1/N. */
  chance: number;
  algorithms: AlgorithmAgreement[];
  /** The algorithm with the highest exact agreement, if it agrees on at least 90% of flows. */
  best?: CefAlgorithm;
  warnings: string[];
}

/**
 * Scores every CEF algorithm against the observations. `endpoints` default to the distinct
 * next-hop addresses seen, sorted; give them when the capture may not have hit every path.
 */
export function calibrate(obs: readonly ExactRouteObservation[], opts: { endpoints?: readonly Endpoint[]; id?: number } = {}): CalibrationResult {
  const warnings: string[] = [];
  let eps: Endpoint[];
  if (opts.endpoints?.length) {
    eps = sortEndpoints(opts.endpoints);
  } else {
    const seen = new Map<number, string>();
    for (const o of obs) {
      const a = parseIPv4(o.nextHop);
      if (a !== undefined) seen.set(a, o.nextHop);
    }
    if (!seen.size) throw new RangeError('the capture shows no next-hop addresses; pass --endpoints ADDR,ADDR,... in the order the switch has them');
    eps = sortEndpoints([...seen].map(([address, label]) => ({ address, label })));
    warnings.push(`endpoints taken from the capture (${eps.length}); if some path never appeared, pass --endpoints`);
  }
  const n = eps.length;
  const labels = eps.map((e) => e.label);
  const hops = [...new Set(obs.map((o) => o.nextHop))];
  const unknown = hops.filter((h) => !labels.includes(h));
  if (unknown.length) warnings.push(`next hops not among the endpoints: ${unknown.join(', ')}`);
  const b = tableRows(n);
  const id = opts.id ?? 0;
  const algorithms: AlgorithmAgreement[] = [];
  for (const algorithm of CEF_ALGORITHMS) {
    const usable = algorithm === 'include-ports' ? obs.filter((o) => o.srcPort !== undefined) : obs;
    const confusion = Array.from({ length: n }, () => new Map<string, number>());
    let agree = 0;
    for (const o of usable) {
      const key = flowKey(algorithm, { src: o.src, dst: o.dst, id, srcPort: o.srcPort, dstPort: o.dstPort ?? 53 });
      const path = (key % b) % n;
      if (labels[path] === o.nextHop) agree++;
      confusion[path].set(o.nextHop, (confusion[path].get(o.nextHop) ?? 0) + 1);
    }
    const best = bestAssignment(confusion, hops);
    algorithms.push({
      algorithm,
      compared: usable.length,
      agree,
      agreement: usable.length ? agree / usable.length : 0,
      bestOrderAgree: best,
      bestOrderAgreement: usable.length ? best / usable.length : 0,
      note: algorithm === 'include-ports' && !usable.length ? 'no observation carries a source port (use exact-route ... src-port N ... dest-port 53)' : undefined,
    });
  }
  const chance = 1 / n;
  const top = [...algorithms].sort((a, b2) => b2.agreement - a.agreement)[0];
  if (obs.length < 4 * n) warnings.push(`only ${obs.length} observations for ${n} paths; capture at least ${4 * n} (ideally 50+) for a meaningful score`);
  return {
    observations: obs.length,
    endpoints: labels,
    id,
    chance,
    algorithms,
    // A right model reproduces the switch flow for flow; partial agreement is a wrong model.
    best: top && top.compared > 0 && top.agreement >= 0.9 ? top.algorithm : undefined,
    warnings,
  };
}

/** Maximum matching weight between model paths and observed next hops (bitmask DP; greedy past 16 hops). */
function bestAssignment(confusion: Array<Map<string, number>>, hops: string[]): number {
  const m = hops.length;
  const w = confusion.map((row) => hops.map((h) => row.get(h) ?? 0));
  if (m > 16) {
    const used = new Set<number>();
    let total = 0;
    for (const row of w) {
      let bi = -1;
      for (let j = 0; j < m; j++) if (!used.has(j) && (bi < 0 || row[j] > row[bi])) bi = j;
      if (bi >= 0) {
        used.add(bi);
        total += row[bi];
      }
    }
    return total;
  }
  let dp = new Float64Array(1 << m).fill(-1);
  dp[0] = 0;
  for (const row of w) {
    const next = Float64Array.from(dp);
    for (let mask = 0; mask < 1 << m; mask++) {
      if (dp[mask] < 0) continue;
      for (let j = 0; j < m; j++) {
        if (mask & (1 << j)) continue;
        const v = dp[mask] + row[j];
        if (v > next[mask | (1 << j)]) next[mask | (1 << j)] = v;
      }
    }
    dp = next;
  }
  let best = 0;
  for (const v of dp) if (v > best) best = v;
  return best;
}

