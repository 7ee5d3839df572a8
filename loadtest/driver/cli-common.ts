// Pieces shared by `loadtest run` and `loadtest capacity`: flag checks, the
// live progress line, and writing results as JSON.

import { writeFileSync } from 'node:fs';
import { intFlag, parseHostPort, UsageError, type Options } from '../../common/args.js';
import type { Progress } from './options.js';
import { loadQueryFile, type QuerySet } from './queryfile.js';
import { parseSources } from './sources.js';

/** The parseFlags options both commands take, besides their own. */
export const LOAD_OPTIONS = {
  server: { type: 'string' }, queries: { type: 'string' }, sources: { type: 'string' }, timeout: { type: 'string' },
  tcp: { type: 'boolean' }, threads: { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' },
} satisfies Options;

export interface LoadFlags {
  server?: string; queries?: string; sources?: string; timeout?: string; tcp?: boolean; threads?: string; json?: boolean; out?: string;
}

export interface LoadSetup<R> {
  server: { host: string; port: number };
  timeoutMs: number | undefined;
  threads: number | undefined;
  tcp: boolean;
  sources: string[] | undefined;
  queries: QuerySet;
  /** What the command's own flags parsed to. */
  own: R;
}

/**
 * Checks the shared flags and loads the query file. The command's own flags are parsed by
 * `own` (after --server, before --timeout and --threads) and cross-checked by `check`
 * (before --sources and the query file), so the first bad flag is the one reported.
 */
export function loadSetup<R>(f: LoadFlags, own: () => R, check: (r: R) => void = () => {}): LoadSetup<R> {
  if (!f.server) throw new UsageError('--server ADDR:PORT is required');
  if (!f.queries) throw new UsageError('--queries FILE is required');
  const server = parseHostPort(f.server, 'server', 53);
  const r = own();
  const timeoutMs = intFlag('timeout', f.timeout, 1, 600_000);
  const threads = intFlag('threads', f.threads, 1, 64);
  check(r);
  const sources = sourcesFlag(f.sources);
  const queries = loadQueryFile(f.queries);
  return { server, timeoutMs, threads, tcp: !!f.tcp, sources, queries, own: r };
}

/** A positive decimal flag (seconds, rates), naming the flag on error. */
export function numberFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function sourcesFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  try {
    return parseSources(value);
  } catch (err) {
    throw new UsageError(`--sources: ${(err as Error).message}`);
  }
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Formats one progress line: elapsed, answers/s, loss and p99 over the last second. */
export function progressLine(p: Progress, prefix = ''): string {
  const p99 = p.p99Ms === null ? '-' : p.p99Ms < 10 ? p.p99Ms.toFixed(2) : p.p99Ms.toFixed(0);
  return `${prefix}${p.elapsedS.toFixed(0).padStart(4)} s  ${fmtInt(p.rateQps).padStart(9)} q/s  loss ${p.lossPct.toFixed(2).padStart(6)}%  p99 ${p99.padStart(6)} ms  sent ${fmtInt(p.sent)}  in flight ${fmtInt(p.inFlight)}`;
}

/** A progress sink that rewrites one stderr line each second, only on a terminal. */
export function ttyProgress(prefix = ''): { onProgress?: (p: Progress) => void; clear: () => void } {
  if (!process.stderr.isTTY) return { clear: () => {} };
  let shown = false;
  return {
    onProgress: (p) => {
      process.stderr.write('\r\x1b[2K' + progressLine(p, prefix));
      shown = true;
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}

/** Writes JSON to --out (if given) and returns the text for stdout under --json. */
export function writeJsonOut(obj: unknown, out: string | undefined): string {
  const text = JSON.stringify(obj, null, 2) + '\n';
  if (out) {
    try {
      writeFileSync(out, text);
    } catch (err) {
      throw new Error(`cannot write --out ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return text;
}

/** First Ctrl-C stops sending and reports what was measured; a second one exits at once. */
export function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onInt = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: waiting for answers in flight, then reporting (Ctrl-C again to quit)\n');
    ac.abort();
  };
  process.on('SIGINT', onInt);
  return { signal: ac.signal, dispose: () => process.off('SIGINT', onInt) };
}
