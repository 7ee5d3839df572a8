// The load generator's entry point: one engine in this thread, or N generator threads
// (parallel.ts) when opts.threads > 1; and the one-line diagnosis of a run that got
// no answers. Callers (cli/, capacity.ts) come here, not to the engine.

import { LoadEngine } from './engine.js';
import type { RunOptions } from './options.js';
import { runParallel } from './parallel.js';
import type { RunResult } from './results.js';

/** Runs a load test and returns its results (in worker threads when opts.threads > 1). */
export async function runLoad(opts: RunOptions): Promise<RunResult> {
  if ((opts.threads ?? 1) > 1) return runParallel(opts);
  return new LoadEngine(opts).run();
}

/** One line explaining why a run got no answers at all, or null when it got some. */
export function diagnoseNoAnswers(r: RunResult): string | null {
  if (r.completed > 0 || r.sent === 0) return null;
  const refused = r.errors.ECONNREFUSED ?? 0;
  if (refused > 0) {
    return r.transport === 'udp'
      ? `server ${r.server} is unreachable: ${refused} ICMP port-unreachable errors (ECONNREFUSED); is a DNS server listening there?`
      : `server ${r.server} refused TCP connections (ECONNREFUSED ×${refused})`;
  }
  if (r.unmatched > 0) return `no usable answers from ${r.server}: ${r.unmatched} replies did not match a query in flight (wrong ID, question or source)`;
  return `no answers from ${r.server}: all ${r.sent} queries timed out after ${r.timeoutMs} ms (server down, filtered, or not a DNS server?)`;
}
