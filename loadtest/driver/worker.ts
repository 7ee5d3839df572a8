// One generator thread: runs a LoadEngine on its share of the load and posts back
// progress (with the interval's histogram) and its raw results.
import { parentPort, workerData } from 'node:worker_threads';
import { LoadEngine } from './engine.js';
import type { RunOptions } from './options.js';
import type { QuerySet } from './queryfile.js';

interface Init {
  opts: Omit<RunOptions, 'queries' | 'onProgress' | 'onProgressHist' | 'signal'>;
  queries: QuerySet;
  progress: boolean;
}

const port = parentPort!;
const init = workerData as Init;
// Structured clone turns a Buffer into a plain Uint8Array: wrap it again.
const w = init.queries.wire as Uint8Array;
const queries: QuerySet = { ...init.queries, wire: Buffer.from(w.buffer, w.byteOffset, w.byteLength) };
const ac = new AbortController();
port.on('message', (m: unknown) => { if (m === 'stop') ac.abort(); });

try {
  const engine = new LoadEngine({
    ...init.opts,
    queries,
    threads: 1,
    signal: ac.signal,
    onProgressHist: init.progress ? (p, hist) => port.postMessage({ type: 'progress', p, hist }) : undefined,
  });
  await engine.run();
  port.postMessage({ type: 'done', raw: engine.raw() });
} catch (err) {
  const e = err as Error & { code?: string };
  port.postMessage({ type: 'error', name: e.name, code: e.code, message: e.message });
}
port.close();
