// Settings of the node's health, metrics and SNMP parts: the `health:`, `metrics:` and
// `snmp:` sections of node.yaml (the `resolver:` section belongs to resolver/config.ts).
// Every problem is reported as FILE:LINE: FIELD: MESSAGE, all of them in one pass.
// healthcheck/README.md documents every key.

import { isIP } from 'node:net';
import { parseType, normalizeName } from '../dns/index.js';
import type { FieldPath, YamlSource } from '../common/yaml-source.js';

export interface HostPort {
  host: string;
  port: number;
}

/** One switch-side IP SLA operation that probes this node, as configured on the switch. */
export interface SlaSettings {
  /** `frequency` seconds between probes. */
  frequencyS: number;
  /** `timeout` ms a probe waits. */
  timeoutMs: number;
  /** `track N ... delay down X`, seconds (0 when not set). */
  delayDownS: number;
}

export interface CanarySettings {
  name: string;
  type: number;
  /** Prefix a random label so the answer cannot come from the cache. */
  nonce: boolean;
}

export interface HealthSettings {
  listen?: HostPort;
  /** Name the node answers itself; the resolver's probe name is set from it. */
  probeName: string;
  intervalMs: number;
  probeTimeoutMs: number;
  /** Datagrams per probe, spaced evenly within the timeout; any answer counts. */
  probeAttempts: number;
  rise: number;
  fall: number;
  /** Resolved lameduck duration; see lameduckSource for where it came from. */
  lameduckMs: number;
  lameduckSource: 'config' | 'sla' | 'minimum';
  sla: SlaSettings[];
  drainFile?: string;
  canaries: CanarySettings[];
  canaryIntervalMs: number;
  canaryTimeoutMs: number;
  /** Canary failures (degraded) withdraw the node like probe failures. Default false. */
  withdrawOnDegraded: boolean;
  /** Window over which load and latency figures are computed, ms. */
  loadWindowMs: number;
  /**
   * How the probe name is answered while draining or lameducking: 'none' (default) sends no
   * reply, which every platform's IP SLA dns operation counts as a failure; 'refused' answers
   * REFUSED, which only fails the probe if the switch counts an error reply as a failure.
   */
  drainProbeAnswer: 'none' | 'refused';
}

export type SnmpAuthProtocol = 'sha224' | 'sha256' | 'sha384' | 'sha512';
export type SnmpPrivProtocol = 'aes' | 'aes256b' | 'aes256r';

export interface SnmpUserSettings {
  name: string;
  authProtocol: SnmpAuthProtocol;
  authKey: string;
  privProtocol: SnmpPrivProtocol;
  privKey: string;
}

export interface SnmpTrapTarget {
  host: string;
  port: number;
  community: string;
}

export interface SnmpSettings {
  listen?: HostPort;
  /** Read-only v2c communities. */
  communities: string[];
  /** v3 users (authPriv only: SHA-2 authentication, AES privacy). */
  users: SnmpUserSettings[];
  /** Enterprise base OID the agent serves; must match the MIB file's root. */
  baseOid: string;
  /** v2c notification receivers for health state changes. */
  traps: SnmpTrapTarget[];
  /** SNMPv3 engine ID as hex (random when unset, so v3 clients rediscover after restart). */
  engineId?: string;
}

export interface MetricsSettings {
  enabled: boolean;
  /** Separate listener for /metrics; when unset /metrics is served on the health listener. */
  listen?: HostPort;
}

/** The healthcheck part's sections of node.yaml; node/config.ts adds the resolver's to make a NodeConfig. */
export interface NodeSections {
  health: HealthSettings;
  snmp: SnmpSettings;
  metrics: MetricsSettings;
}

/** RFC 5612 reserves enterprise number 32473 for documentation; replace it with your own PEN. */
export const DEFAULT_BASE_OID = '1.3.6.1.4.1.32473.53';
export const DEFAULT_PROBE_NAME = 'health.anycast-kit.invalid';
export const MIN_LAMEDUCK_MS = 5000;

/** What the sections hold before defaults; every field optional. */
export interface NodeSectionsInput {
  health?: Partial<Omit<HealthSettings, 'lameduckMs' | 'lameduckSource'>> & { lameduckMs?: number };
  snmp?: Partial<SnmpSettings>;
  metrics?: Partial<MetricsSettings>;
}

/** Longest time a switch takes to withdraw the route after /health starts failing, ms. */
export function slaDetectionMs(s: SlaSettings): number {
  // The next probe comes at most one `frequency` later and may wait `timeout` before
  // it is counted; then the track waits `delay down`.
  return s.frequencyS * 1000 + s.timeoutMs + s.delayDownS * 1000;
}

/** Lameduck default: 3 × the longest known SLA detection time, at least 5 s. */
export function defaultLameduck(sla: SlaSettings[]): { ms: number; source: 'sla' | 'minimum' } {
  const longest = Math.max(0, ...sla.map(slaDetectionMs));
  return 3 * longest > MIN_LAMEDUCK_MS ? { ms: 3 * longest, source: 'sla' } : { ms: MIN_LAMEDUCK_MS, source: 'minimum' };
}

/** Fills defaults and derived values. */
export function resolveSections(input: NodeSectionsInput, resolverProbeName?: string): NodeSections {
  const h = input.health ?? {};
  const intervalMs = h.intervalMs ?? 1000;
  const sla = h.sla ?? [];
  const lame = h.lameduckMs !== undefined ? { ms: h.lameduckMs, source: 'config' as const } : defaultLameduck(sla);
  const health: HealthSettings = {
    listen: h.listen,
    probeName: h.probeName ?? (resolverProbeName || DEFAULT_PROBE_NAME),
    intervalMs,
    probeTimeoutMs: h.probeTimeoutMs ?? Math.min(1000, intervalMs),
    probeAttempts: h.probeAttempts ?? 3,
    rise: h.rise ?? 2,
    fall: h.fall ?? 3,
    lameduckMs: lame.ms,
    lameduckSource: lame.source,
    sla,
    drainFile: h.drainFile,
    canaries: h.canaries ?? [],
    canaryIntervalMs: h.canaryIntervalMs ?? 10_000,
    canaryTimeoutMs: h.canaryTimeoutMs ?? 3000,
    withdrawOnDegraded: h.withdrawOnDegraded ?? false,
    loadWindowMs: h.loadWindowMs ?? 10_000,
    drainProbeAnswer: h.drainProbeAnswer ?? 'none',
  };
  const s = input.snmp ?? {};
  const snmp: SnmpSettings = {
    listen: s.listen,
    communities: s.communities ?? [],
    users: s.users ?? [],
    baseOid: s.baseOid ?? DEFAULT_BASE_OID,
    traps: s.traps ?? [],
    engineId: s.engineId,
  };
  const m = input.metrics ?? {};
  const metrics: MetricsSettings = { enabled: m.enabled ?? true, listen: m.listen };
  return { health, snmp, metrics };
}

/** Cross-field checks that hold whether values came from flags or the file. Returns problems. */
export function checkSections(c: NodeSections): Array<{ field: string; message: string }> {
  const out: Array<{ field: string; message: string }> = [];
  const h = c.health;
  if (!h.listen) out.push({ field: 'health.listen', message: 'the health endpoint needs an address: give --health-listen ADDR:PORT or health.listen' });
  if (h.probeTimeoutMs > h.intervalMs) out.push({ field: 'health.probeTimeout', message: `probe timeout ${h.probeTimeoutMs} ms exceeds the interval ${h.intervalMs} ms (keep timeout <= interval, as IOS keeps timeout <= frequency)` });
  if (h.canaryTimeoutMs > h.canaryIntervalMs) out.push({ field: 'health.canaryTimeout', message: `canary timeout ${h.canaryTimeoutMs} ms exceeds the canary interval ${h.canaryIntervalMs} ms` });
  const s = c.snmp;
  if (s.listen && s.communities.length === 0 && s.users.length === 0) {
    out.push({ field: 'snmp', message: 'the SNMP agent needs a v2c community (--snmp-community or snmp.communities) or a v3 user (snmp.users)' });
  }
  return out;
}

// ---- YAML section parsing ----------------------------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** "500ms", "2s", "1m", or a bare number of seconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.round(v * 1000);
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000);
}

/** "ADDR:PORT" or "[v6]:PORT"; undefined when malformed. */
export function parseListen(text: string): HostPort | undefined {
  const v6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  const v4 = /^([^:\s]+):(\d{1,5})$/.exec(text);
  const m = v6 ?? v4;
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  if (isIP(m[1]) === 0 && m[1] !== 'localhost') return undefined;
  return { host: m[1], port };
}

/** camelCase key -> its snake_case spelling (the resolver: section uses snake_case). */
function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

/**
 * Reads typed values from a mapping. Every key may be written camelCase (as
 * `anycast-kit ios` emits it: probeName, drainFile) or snake_case (as the resolver:
 * section is written: probe_name, drain_file); errors name the spelling used.
 */
class SectionReader {
  constructor(private readonly src: YamlSource) {}

  /** The mapping at obj[key] (or the root when key is undefined), with unknown keys reported. */
  map(obj: Obj | undefined, key: string, path: FieldPath, known: readonly string[]): { o: Obj; path: FieldPath } | undefined {
    const v = obj ? this.raw(obj, key) : undefined;
    if (!v || v.value === undefined || v.value === null) return undefined;
    const p = [...path, v.key];
    return this.check(v.value, p, known);
  }

  check(v: unknown, p: FieldPath, known: readonly string[]): { o: Obj; path: FieldPath } | undefined {
    if (!isObj(v)) { this.src.error(p, 'must be a mapping'); return undefined; }
    for (const k of Object.keys(v)) {
      if (!known.includes(k) && !known.some((c) => snake(c) === k)) this.src.error([...p, k], `unknown key (known: ${known.join(', ')})`);
      if (known.includes(k) && snake(k) !== k && k in v && snake(k) in v) this.src.error([...p, snake(k)], `given twice, as ${k} and ${snake(k)}`);
    }
    return { o: v, path: p };
  }

  raw(obj: Obj, key: string): { key: string; value: unknown } | undefined {
    if (obj[key] !== undefined) return { key, value: obj[key] };
    const sk = snake(key);
    if (obj[sk] !== undefined) return { key: sk, value: obj[sk] };
    return undefined;
  }

  has(m: { o: Obj }, key: string): boolean {
    return this.raw(m.o, key) !== undefined;
  }

  at(m: { o: Obj; path: FieldPath }, key: string): FieldPath {
    return [...m.path, this.raw(m.o, key)?.key ?? key];
  }

  get(m: { o: Obj; path: FieldPath }, key: string): { v: unknown; p: FieldPath } | undefined {
    const r = this.raw(m.o, key);
    if (!r || r.value === null) return undefined;
    return { v: r.value, p: [...m.path, r.key] };
  }

  int(m: { o: Obj; path: FieldPath }, key: string, min: number, max: number): number | undefined {
    const g = this.get(m, key);
    if (!g) return undefined;
    if (typeof g.v !== 'number' || !Number.isInteger(g.v) || g.v < min || g.v > max) {
      this.src.error(g.p, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(g.v)}`);
      return undefined;
    }
    return g.v;
  }

  duration(m: { o: Obj; path: FieldPath }, key: string, minMs: number, maxMs: number): number | undefined {
    const g = this.get(m, key);
    if (!g) return undefined;
    const ms = parseDuration(g.v);
    if (ms === undefined) { this.src.error(g.p, `must be a duration such as 1, 1s, 500ms or 2m (bare numbers are seconds), got ${JSON.stringify(g.v)}`); return undefined; }
    if (ms < minMs || ms > maxMs) { this.src.error(g.p, `must be between ${minMs} ms and ${maxMs} ms, got ${ms} ms`); return undefined; }
    return ms;
  }

  bool(m: { o: Obj; path: FieldPath }, key: string): boolean | undefined {
    const g = this.get(m, key);
    if (!g) return undefined;
    if (typeof g.v !== 'boolean') { this.src.error(g.p, `must be true or false, got ${JSON.stringify(g.v)}`); return undefined; }
    return g.v;
  }

  strAt(p: FieldPath, v: unknown, maxLen = 255): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > maxLen) { this.src.error(p, `must be a non-empty string of at most ${maxLen} characters`); return undefined; }
    return v;
  }

  str(m: { o: Obj; path: FieldPath }, key: string, maxLen = 255): string | undefined {
    const g = this.get(m, key);
    return g ? this.strAt(g.p, g.v, maxLen) : undefined;
  }

  listen(m: { o: Obj; path: FieldPath }, key: string): HostPort | undefined {
    const g = this.get(m, key);
    if (!g) return undefined;
    const hp = typeof g.v === 'string' ? parseListen(g.v) : undefined;
    if (!hp) this.src.error(g.p, `must be ADDR:PORT or [V6]:PORT with an IP address, got ${JSON.stringify(g.v)}`);
    return hp;
  }

  nameAt(p: FieldPath, v: unknown): string | undefined {
    const s = this.strAt(p, v);
    if (s === undefined) return undefined;
    try {
      const n = normalizeName(s);
      if (n === '') { this.src.error(p, 'must not be the root'); return undefined; }
      return n;
    } catch (err) {
      this.src.error(p, `not a valid DNS name: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** A list (or, when `single`, also one item on its own). */
  list<T>(m: { o: Obj; path: FieldPath }, key: string, item: (p: FieldPath, x: unknown) => T | undefined, single = false): T[] | undefined {
    const g = this.get(m, key);
    if (!g) return undefined;
    const arr = Array.isArray(g.v) ? g.v : single ? [g.v] : undefined;
    if (!arr) { this.src.error(g.p, 'must be a list'); return undefined; }
    const out: T[] = [];
    arr.forEach((x, i) => { const r = item(Array.isArray(g.v) ? [...g.p, i] : g.p, x); if (r !== undefined) out.push(r); });
    return out;
  }
}

const HEALTH_KEYS = ['listen', 'probeName', 'interval', 'probeTimeout', 'probeAttempts', 'rise', 'fall', 'lameduck', 'sla', 'drainFile',
  'canaries', 'canaryInterval', 'canaryTimeout', 'withdrawOnDegraded', 'loadWindow', 'drainProbeAnswer'] as const;
const SLA_KEYS = ['frequency', 'timeout', 'delayDown'] as const;
const CANARY_KEYS = ['name', 'type', 'nonce'] as const;
const SNMP_KEYS = ['listen', 'communities', 'community', 'users', 'baseOid', 'traps', 'engineId'] as const;
const USER_KEYS = ['name', 'authProtocol', 'authKey', 'privProtocol', 'privKey'] as const;
const TRAP_KEYS = ['host', 'port', 'community'] as const;
const METRICS_KEYS = ['enabled', 'listen'] as const;
const AUTH: readonly SnmpAuthProtocol[] = ['sha224', 'sha256', 'sha384', 'sha512'];
const PRIV: readonly SnmpPrivProtocol[] = ['aes', 'aes256b', 'aes256r'];

/**
 * Reads the `health:`, `snmp:` and `metrics:` sections of a parsed node.yaml. Problems
 * are recorded on `src` (call src.throwIfIssues() after every section was read).
 */
export function readNodeSections(src: YamlSource): NodeSectionsInput {
  const r = new SectionReader(src);
  if (src.data !== undefined && src.data !== null && !isObj(src.data)) {
    src.error([], 'the file must be a mapping with resolver:, health:, snmp: and metrics: sections');
    return {};
  }
  const root = isObj(src.data) ? src.data : {};
  const out: NodeSectionsInput = {};

  const h = r.map(root, 'health', [], HEALTH_KEYS);
  if (h) {
    const hi: NonNullable<NodeSectionsInput['health']> = {};
    hi.listen = r.listen(h, 'listen');
    const pn = r.get(h, 'probeName');
    if (pn) hi.probeName = r.nameAt(pn.p, pn.v);
    hi.intervalMs = r.duration(h, 'interval', 100, 60_000);
    hi.probeTimeoutMs = r.duration(h, 'probeTimeout', 10, 60_000);
    hi.probeAttempts = r.int(h, 'probeAttempts', 1, 10);
    hi.rise = r.int(h, 'rise', 1, 100);
    hi.fall = r.int(h, 'fall', 1, 100);
    hi.lameduckMs = r.duration(h, 'lameduck', 0, 3_600_000);
    hi.sla = r.list(h, 'sla', (p, x) => {
      const o = r.check(x, p, SLA_KEYS);
      if (!o) return undefined;
      const frequencyS = r.int(o, 'frequency', 1, 604_800);
      const timeoutMs = r.int(o, 'timeout', 0, 604_800_000);
      const delayDownS = r.int(o, 'delayDown', 0, 180);
      if (!r.has(o, 'frequency')) src.error(r.at(o, 'frequency'), 'required (seconds, as `frequency` under `ip sla`)');
      if (frequencyS === undefined) return undefined;
      const timeout = timeoutMs ?? 5000;
      if (timeout > frequencyS * 1000) src.error(r.at(o, 'timeout'), `timeout ${timeout} ms exceeds frequency ${frequencyS} s; IOS rejects that`);
      return { frequencyS, timeoutMs: timeout, delayDownS: delayDownS ?? 0 };
    }, true);
    hi.drainFile = r.str(h, 'drainFile', 4096);
    hi.canaries = r.list(h, 'canaries', (p, x) => {
      if (typeof x === 'string') { const name = r.nameAt(p, x); return name ? { name, type: 1, nonce: true } : undefined; }
      const o = r.check(x, p, CANARY_KEYS);
      if (!o) return undefined;
      const ng = r.get(o, 'name');
      if (!ng) { src.error(r.at(o, 'name'), 'required'); return undefined; }
      const name = r.nameAt(ng.p, ng.v);
      let type = 1;
      const tg = r.get(o, 'type');
      if (tg) {
        const t = typeof tg.v === 'string' ? parseType(tg.v) : undefined;
        if (t === undefined) src.error(tg.p, `unknown record type ${JSON.stringify(tg.v)}`);
        else type = t;
      }
      const nonce = r.bool(o, 'nonce') ?? true;
      return name ? { name, type, nonce } : undefined;
    });
    hi.canaryIntervalMs = r.duration(h, 'canaryInterval', 1000, 3_600_000);
    hi.canaryTimeoutMs = r.duration(h, 'canaryTimeout', 100, 60_000);
    hi.withdrawOnDegraded = r.bool(h, 'withdrawOnDegraded');
    hi.loadWindowMs = r.duration(h, 'loadWindow', 1000, 600_000);
    const dpa = r.str(h, 'drainProbeAnswer', 16);
    if (dpa === 'none' || dpa === 'refused') hi.drainProbeAnswer = dpa;
    else if (dpa !== undefined) src.error(r.at(h, 'drainProbeAnswer'), `must be none or refused, not ${JSON.stringify(dpa)}`);
    out.health = dropUndefined(hi);
  }

  const s = r.map(root, 'snmp', [], SNMP_KEYS);
  if (s) {
    const si: Partial<SnmpSettings> = {};
    si.listen = r.listen(s, 'listen');
    const communities: string[] = [];
    const one = r.str(s, 'community', 64);
    if (one) communities.push(one);
    const more = r.list(s, 'communities', (p, x) => r.strAt(p, x, 64));
    if (more) communities.push(...more);
    if (r.has(s, 'community') || r.has(s, 'communities')) si.communities = communities;
    si.users = r.list(s, 'users', (p, x) => {
      const o = r.check(x, p, USER_KEYS);
      if (!o) return undefined;
      for (const k of USER_KEYS) if (!r.has(o, k)) src.error(r.at(o, k), 'required (v3 users are authPriv: SHA-2 authentication and AES privacy)');
      const name = r.str(o, 'name', 32);
      const ap = r.get(o, 'authProtocol');
      const authProtocol = ap?.v as SnmpAuthProtocol;
      if (ap && !AUTH.includes(authProtocol)) src.error(ap.p, `must be one of ${AUTH.join(', ')} (SHA-2; MD5 and SHA-1 are not offered)`);
      const pp = r.get(o, 'privProtocol');
      const privProtocol = pp?.v as SnmpPrivProtocol;
      if (pp && !PRIV.includes(privProtocol)) src.error(pp.p, `must be one of ${PRIV.join(', ')} (DES is not offered)`);
      const authKey = r.str(o, 'authKey', 256);
      const privKey = r.str(o, 'privKey', 256);
      if (authKey !== undefined && authKey.length < 8) src.error(r.at(o, 'authKey'), 'must be at least 8 characters (RFC 3414)');
      if (privKey !== undefined && privKey.length < 8) src.error(r.at(o, 'privKey'), 'must be at least 8 characters (RFC 3414)');
      if (!name || !authKey || !privKey || authKey.length < 8 || privKey.length < 8 || !AUTH.includes(authProtocol) || !PRIV.includes(privProtocol)) return undefined;
      return { name, authProtocol, authKey, privProtocol, privKey };
    });
    const bo = r.get(s, 'baseOid');
    if (bo) {
      if (typeof bo.v !== 'string' || !/^1(\.(0|[1-9]\d{0,9})){3,30}$/.test(bo.v)) {
        src.error(bo.p, `must be a dotted OID such as ${DEFAULT_BASE_OID}, got ${JSON.stringify(bo.v)}`);
      } else si.baseOid = bo.v;
    }
    si.traps = r.list(s, 'traps', (p, x) => {
      const o = r.check(x, p, TRAP_KEYS);
      if (!o) return undefined;
      const host = r.str(o, 'host');
      if (host !== undefined && isIP(host) === 0) src.error(r.at(o, 'host'), `must be an IP address, got ${JSON.stringify(host)}`);
      if (!r.has(o, 'host')) src.error(r.at(o, 'host'), 'required');
      const port = r.int(o, 'port', 1, 65535) ?? 162;
      const community = r.str(o, 'community', 64);
      if (!r.has(o, 'community')) src.error(r.at(o, 'community'), 'required');
      return host && isIP(host) && community ? { host, port, community } : undefined;
    });
    const eg = r.get(s, 'engineId');
    if (eg) {
      if (typeof eg.v !== 'string' || !/^[0-9a-fA-F]{10,64}$/.test(eg.v) || eg.v.length % 2) {
        src.error(eg.p, 'must be 5 to 32 bytes of hex');
      } else si.engineId = eg.v;
    }
    out.snmp = dropUndefined(si);
  }

  const m = r.map(root, 'metrics', [], METRICS_KEYS);
  if (m) {
    out.metrics = dropUndefined({ enabled: r.bool(m, 'enabled'), listen: r.listen(m, 'listen') });
  }
  return out;
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}
