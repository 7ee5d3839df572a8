// What `anycast-kit resolver` and `anycast-kit node` add around a running
// resolver for operators: SIGHUP reloads the config file, and the control socket
// (if configured) serves `anycast-kit control` commands. Both reload paths are the
// same function, so a reload by signal and by command behave alike.

import type { ResolverHandle } from '../api.js';
import type { ResolverConfig } from '../config.js';
import type { ResolverStats } from '../stats.js';
import { defaultOpsSettings } from './settings.js';
import { startControlServer, type ControlRequest, type ControlResponse, type ControlServer } from './socket.js';
import type { ReloadReport } from './types.js';

export const CONTROL_COMMANDS = ['reload', 'flush', 'flush-zone', 'flush-negative', 'stats', 'dump-cache', 'load-cache', 'status'] as const;

/** ResolverStats as unbound-control-style `key=value` lines. */
export function statsLines(s: ResolverStats): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string) => {
    if (typeof v === 'number') { out.push(`${key}=${v}`); return; }
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, key ? `${key}.${k}` : k);
  };
  const { latency, ...rest } = s;
  walk(rest, '');
  latency.counts.forEach((c, i) => out.push(`latency.bucket.${i < latency.bucketsMs.length ? `le_${latency.bucketsMs[i]}ms` : 'inf'}=${c}`));
  out.push(`latency.sumMs=${latency.sumMs}`, `latency.count=${latency.count}`);
  return out;
}

export interface OpsRuntime {
  /** Reload now (SIGHUP does this); logs and returns the report. */
  reload(): Promise<ReloadReport>;
  control?: ControlServer;
  /** Removes the SIGHUP handler and closes the socket. */
  close(): Promise<void>;
}

/**
 * Installs SIGHUP and starts the control socket for `handle`. `load` re-reads the
 * config file exactly as the command did at start (flags still win) and throws
 * ConfigError (FILE:LINE: FIELD: MESSAGE) for a bad file.
 */
export async function startOpsRuntime(o: {
  handle: ResolverHandle;
  cfg: ResolverConfig;
  load: () => ResolverConfig;
  log: (m: string) => void;
  /** Extra fields for `status` (the node adds its health state). */
  status?: () => Record<string, unknown>;
}): Promise<OpsRuntime> {
  const { handle, log } = o;
  let reloading: Promise<ReloadReport> | undefined;
  const reload = async (): Promise<ReloadReport> => {
    // One reload at a time; a signal during a reload waits for it and runs again.
    while (reloading) await reloading.catch(() => {});
    reloading = (async () => {
      if (!handle.reload) return { ok: false, message: 'this resolver cannot reload', changed: [], needRestart: [] };
      const r = await handle.reload(o.load);
      log(r.message);
      return r;
    })();
    try { return await reloading; } finally { reloading = undefined; }
  };
  const onHup = () => { log('SIGHUP: reloading the config'); void reload(); };
  process.on('SIGHUP', onHup);

  const dumpFile = () => o.cfg.ops?.dumpFile;
  const handler = async (req: ControlRequest): Promise<ControlResponse> => {
    const [arg] = req.args;
    const needArg = (what: string): ControlResponse | undefined => (arg === undefined || req.args.length !== 1 ? { ok: false, text: `usage: ${req.command} ${what}` } : undefined);
    const cacheOp = async (op: Parameters<NonNullable<ResolverHandle['control']>>[0]): Promise<ControlResponse> => {
      if (!handle.control) return { ok: false, text: 'this resolver has no cache operations' };
      const r = await handle.control(op);
      log(`control ${req.command}${req.args.length ? ' ' + req.args.join(' ') : ''}: ${r.message}`);
      return { ok: r.ok, text: r.message, data: r };
    };
    switch (req.command) {
      case 'reload': {
        const r = await reload();
        return { ok: r.ok, text: r.message, data: r };
      }
      case 'flush': return needArg('NAME') ?? cacheOp({ op: 'flush', name: arg });
      case 'flush-zone': return needArg('NAME') ?? cacheOp({ op: 'flush-zone', name: arg });
      case 'flush-negative': return req.args.length ? { ok: false, text: 'usage: flush-negative' } : cacheOp({ op: 'flush-negative' });
      case 'dump-cache':
      case 'load-cache': {
        if (req.args.length > 1) return { ok: false, text: `usage: ${req.command} [FILE]` };
        const file = arg ?? dumpFile();
        if (!file) return { ok: false, text: `${req.command}: give a FILE (no warm_start.dump_file is configured)` };
        if (!file.startsWith('/')) return { ok: false, text: `${req.command}: FILE must be an absolute path (the node resolves it, not your shell)` };
        return cacheOp({ op: req.command, file });
      }
      case 'stats': {
        const s = await handle.stats();
        return { ok: true, text: statsLines(s).join('\n'), data: s };
      }
      case 'status': {
        const s = await handle.stats();
        const st = { pid: process.pid, workers: s.workers, warming: s.ops.warming === 1, listening: handle.listening, ...o.status?.() };
        return { ok: true, text: Object.entries(st).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n'), data: st };
      }
      default:
        return { ok: false, text: `unknown command "${req.command}" (known: ${CONTROL_COMMANDS.join(', ')})` };
    }
  };

  let control: ControlServer | undefined;
  const sock = o.cfg.ops?.controlSocket;
  if (sock) {
    const mode = o.cfg.ops?.controlMode ?? defaultOpsSettings().controlMode;
    try {
      control = await startControlServer({ path: sock, mode, handler, log });
    } catch (err) {
      process.off('SIGHUP', onHup);
      throw err;
    }
    log(`control socket ${sock} (mode 0${mode.toString(8)})`);
  }
  return {
    reload,
    control,
    async close() {
      // From here on the process is stopping: a HUP is noted, never fatal.
      process.off('SIGHUP', onHup);
      process.on('SIGHUP', () => log('SIGHUP while stopping: ignored'));
      await control?.close();
    },
  };
}
