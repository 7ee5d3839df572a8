// Entry of one --workers process (forked by resolver/workers.ts).
import { startSingle } from './server.js';
import type { FromWorker, ToWorker } from './workers.js';
import type { LivenessEvent } from './selection/infra.js';

let handle: Awaited<ReturnType<typeof startSingle>> | undefined;
let closing = false;
/** Applies what another worker learnt about a server's liveness (relayed by the primary). */
let applyLiveness: ((ev: LivenessEvent) => void) | undefined;

// The primary decides when to stop (after its lameduck); signals to the process group are ignored.
process.on('SIGTERM', () => {});
process.on('SIGINT', () => {});

const send = (m: FromWorker) => { try { process.send?.(m); } catch { /* primary gone */ } };

async function shutdown(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  try { await handle?.close(); } finally { process.exit(code); }
}

process.on('disconnect', () => { void shutdown(0); });

process.on('message', (m: ToWorker) => {
  if (m.type === 'start') {
    const log = (msg: string) => process.stderr.write(`anycast-kit resolver[worker ${m.index}]: ${msg}\n`);
    // The primary writes the one cache dump from all workers' parts (resolver/control/workers.ts).
    const liveness = { publish: (ev: LivenessEvent) => send({ type: 'liveness', ev }), subscribe: (apply: (ev: LivenessEvent) => void) => { applyLiveness = apply; } };
    startSingle(m.cfg, { reusePort: true, log, dumpOnClose: false, releaseStartupMemory: true, liveness }).then(
      (h) => {
        handle = h;
        h.setProbeMode(m.probeMode);
        send({ type: 'ready', listening: h.listening });
        void h.warmed().then(() => send({ type: 'warmed' }));
      },
      (err: Error) => {
        send({ type: 'failed', message: err.message });
        process.exit(1);
      },
    );
  } else if (m.type === 'stats') {
    handle?.stats().then((stats) => send({ type: 'stats', id: m.id, stats }));
  } else if (m.type === 'probe') {
    handle?.setProbeMode(m.mode);
  } else if (m.type === 'reload') {
    const cfg = m.cfg;
    void handle?.reload(() => cfg).then((r) => send({ type: 'reply', id: m.id, result: { ok: r.ok, message: r.message, count: r.changed.length } }));
  } else if (m.type === 'control') {
    void handle?.control(m.op).then((result) => send({ type: 'reply', id: m.id, result }));
  } else if (m.type === 'liveness') {
    applyLiveness?.(m.ev);
  } else if (m.type === 'close') {
    void shutdown(0);
  }
});
