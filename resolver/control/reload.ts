// Reload (SIGHUP, `anycast-kit control reload`): a new ResolverConfig is copied
// into the running one IN PLACE, key by key, generically: whatever a module reads
// from the config object when it needs it (the iterator's upstream settings, the
// TTL policy's limits, TCP limits, settings other parts add later) sees the new
// value at once, with no code here that knows about it. What was derived from the
// config at start is rebuilt by the front (Front.reconfigure) and, if it has one,
// the resolution's reconfigure hook. A few settings cannot change without new
// sockets or a new cache; they keep their running value and are reported.

/** Settings that need a restart (dotted ResolverConfig paths). */
export const RESTART_ONLY: readonly string[] = [
  'listen', 'workers', 'cache.maxBytes', 'rootHintsFile', 'ops.controlSocket', 'tcp.maxConnections',
  // Copied into the upstream transport and the server-selection cache when they are built.
  'upstream.timeoutMs', 'upstream.ednsUdpSize', 'upstream.queryLocalhost', 'upstream.use0x20',
  // Used once, before the listeners bind (resolver/warmup.ts, resolver/server.ts).
  'warmupQueries', 'warmupReleaseMemory',
];

export interface ApplyResult {
  /** Dotted paths whose value changed and is now in force. */
  changed: string[];
  /** Dotted paths that changed in the file but keep their running value until a restart. */
  needRestart: string[];
}

type Obj = Record<string, unknown>;
const isPlain = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  try { return JSON.stringify(a) === JSON.stringify(b); } catch { return false; }
}

/**
 * Copies `next` into `live` in place (nested plain objects keep their identity, so
 * references modules hold stay valid). Returns what changed and what was held back.
 */
export function applyInPlace<T extends object>(live: T, next: T, restartOnly: readonly string[] = RESTART_ONLY): ApplyResult {
  const out: ApplyResult = { changed: [], needRestart: [] };
  const walk = (l: Obj, n: Obj, prefix: string) => {
    const keys = new Set([...Object.keys(l), ...Object.keys(n)]);
    for (const k of keys) {
      const path = prefix ? `${prefix}.${k}` : k;
      const lv = l[k], nv = n[k];
      if (same(lv, nv)) continue;
      if (restartOnly.includes(path)) { out.needRestart.push(path); continue; }
      if (isPlain(lv) && isPlain(nv)) { walk(lv, nv, path); continue; }
      if (nv === undefined) delete l[k];
      else l[k] = structuredClone(nv);
      out.changed.push(path);
    }
  };
  walk(live as Obj, next as Obj, '');
  return out;
}

/** One log line saying what a reload did. */
export function describeApply(r: ApplyResult): string {
  const parts = [r.changed.length ? `changed: ${r.changed.join(', ')}` : 'no setting changed'];
  if (r.needRestart.length) parts.push(`kept until a restart: ${r.needRestart.join(', ')}`);
  return parts.join('; ');
}

/** The report line for a config that could not be read (each FILE:LINE: FIELD: MESSAGE kept whole). */
export function refusedMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return `reload refused, the running config stays: ${text.split('\n').join('; ')}`;
}
