// Operations settings: the control socket and warm start (resolver/README.md,
// "Reload, control and warm start"). Read from the `resolver.control` and
// `resolver.warm_start` sections and from three flags; kept apart from config.ts
// so the settings others add there and these do not collide.

import { dirname, resolve as resolvePath } from 'node:path';
import { UsageError } from '../../common/args.js';
import type { FieldPath, YamlSource } from '../../common/yaml-source.js';

export interface OpsSettings {
  /** Unix socket for `anycast-kit control`; none when undefined. */
  controlSocket?: string;
  /** File mode of the socket: 0o600 (owner only) or 0o660 (owner and group). */
  controlMode: number;
  /** Cache dump written on shutdown and read on start. */
  dumpFile?: string;
  /** Names (one per line, optional type) resolved at start, e.g. the top names of a query log. */
  warmNamesFile?: string;
  /** Warming ends after this long even if names are left, ms. */
  warmTimeLimitMs: number;
  /** Names resolved at once while warming. */
  warmConcurrency: number;
}

export function defaultOpsSettings(): OpsSettings {
  return { controlMode: 0o600, warmTimeLimitMs: 30_000, warmConcurrency: 16 };
}

export const OPS_TOP_KEYS = ['control', 'warm_start'] as const;
const CONTROL_KEYS = ['socket', 'mode'];
const WARM_KEYS = ['dump_file', 'names_file', 'time_limit_s', 'concurrency'];

export const OPS_FLAGS_HELP = `  --control-socket PATH  Unix socket for anycast-kit control (reload, flush, stats, dump-cache...)
  --cache-dump FILE      warm start: dump the cache here on SIGTERM/SIGINT, load it on start
  --warm-names FILE      warm start: resolve these names (one per line, optional type) on start`;

export const opsFlagOptions = {
  'control-socket': { type: 'string' },
  'cache-dump': { type: 'string' },
  'warm-names': { type: 'string' },
} as const;

export interface OpsFlagValues {
  'control-socket'?: string;
  'cache-dump'?: string;
  'warm-names'?: string;
}

export function applyOpsFlags(base: OpsSettings | undefined, flags: OpsFlagValues): OpsSettings {
  const o = { ...(base ?? defaultOpsSettings()) };
  const path = (flag: keyof OpsFlagValues): string | undefined => {
    const v = flags[flag];
    if (v === undefined) return undefined;
    if (v === '') throw new UsageError(`--${flag} needs a path`);
    return resolvePath(v);
  };
  o.controlSocket = path('control-socket') ?? o.controlSocket;
  o.dumpFile = path('cache-dump') ?? o.dumpFile;
  o.warmNamesFile = path('warm-names') ?? o.warmNamesFile;
  return o;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads `control:` and `warm_start:` of the resolver mapping `top` (at `path`).
 * Problems go to `src` as FILE:LINE: FIELD: MESSAGE.
 */
export function readOpsSections(src: YamlSource, top: Obj, path: FieldPath, base: OpsSettings | undefined): OpsSettings {
  const o = { ...(base ?? defaultOpsSettings()) };
  const rel = (p: string) => resolvePath(dirname(src.file), p);
  const section = (key: string, known: string[]): Obj | undefined => {
    const v = top[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) { src.error([...path, key], 'must be a mapping'); return undefined; }
    for (const k of Object.keys(v)) if (!known.includes(k)) src.error([...path, key, k], `unknown key (known: ${known.join(', ')})`);
    return v;
  };
  const str = (m: Obj, key: string, p: FieldPath): string | undefined => {
    const v = m[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') { src.error([...p, key], `must be a non-empty path, got ${JSON.stringify(v)}`); return undefined; }
    return v;
  };
  const int = (m: Obj, key: string, p: FieldPath, min: number, max: number): number | undefined => {
    const v = m[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      src.error([...p, key], `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  };

  const control = section('control', CONTROL_KEYS);
  if (control) {
    const p = [...path, 'control'];
    const sock = str(control, 'socket', p);
    if (sock !== undefined) {
      // sun_path holds 107 bytes on Linux.
      if (Buffer.byteLength(rel(sock)) > 107) src.error([...p, 'socket'], `path "${rel(sock)}" is longer than a Unix socket path may be (107 bytes)`);
      else o.controlSocket = rel(sock);
    }
    const mode = control['mode'];
    if (mode !== undefined && mode !== null) {
      // YAML reads 0600 as the number 600 and "0600" as a string: take both.
      const text = typeof mode === 'number' ? String(mode) : typeof mode === 'string' ? mode : '';
      const m = /^0?(600|660)$/.exec(text);
      if (!m) src.error([...p, 'mode'], `must be "0600" (the service user only) or "0660" (and its group), got ${JSON.stringify(mode)}`);
      else o.controlMode = m[1] === '600' ? 0o600 : 0o660;
    }
  }
  const warm = section('warm_start', WARM_KEYS);
  if (warm) {
    const p = [...path, 'warm_start'];
    const dump = str(warm, 'dump_file', p);
    if (dump !== undefined) o.dumpFile = rel(dump);
    const names = str(warm, 'names_file', p);
    if (names !== undefined) o.warmNamesFile = rel(names);
    const limit = int(warm, 'time_limit_s', p, 1, 3600);
    if (limit !== undefined) o.warmTimeLimitMs = limit * 1000;
    const conc = int(warm, 'concurrency', p, 1, 1000);
    if (conc !== undefined) o.warmConcurrency = conc;
  }
  return o;
}
