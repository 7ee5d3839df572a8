// The control socket: a Unix stream socket that `anycast-kit control` talks to,
// in the manner of unbound-control. One JSON request line in, one JSON reply line
// out, then the connection closes. Access is by file permission: the socket is
// created under umask 0177 and then given its configured mode (0600: the service
// user only; 0660: and its group), so no other user can connect (Linux checks
// write permission on connect) and there is no moment when it is open wider.

import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';

export interface ControlRequest {
  command: string;
  args: string[];
  json?: boolean;
}

export interface ControlResponse {
  ok: boolean;
  /** What the client prints. */
  text: string;
  /** Machine-readable result, with --json. */
  data?: unknown;
}

export type ControlHandler = (req: ControlRequest) => Promise<ControlResponse>;

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

const MAX_REQUEST_BYTES = 4096;
const IDLE_MS = 10_000;

/** True when something answers on the socket at `path`. */
function inUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function startControlServer(o: { path: string; mode: number; handler: ControlHandler; log: (m: string) => void }): Promise<ControlServer> {
  const { path } = o;
  let st: ReturnType<typeof lstatSync> | undefined;
  try { st = lstatSync(path); } catch { /* nothing there */ }
  if (st) {
    if (!st.isSocket()) throw new Error(`control socket ${path}: a file that is not a socket is in the way`);
    if (await inUse(path)) throw new Error(`control socket ${path} is in use by another running process`);
    unlinkSync(path); // left over from a process that did not clean up
  }
  const server = net.createServer((sock) => {
    let buf = '';
    let done = false;
    sock.setEncoding('utf8');
    sock.setTimeout(IDLE_MS, () => sock.destroy());
    sock.on('error', () => {});
    const reply = (r: ControlResponse) => { done = true; sock.end(JSON.stringify(r) + '\n'); };
    sock.on('data', (chunk: string) => {
      if (done) return;
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES) { reply({ ok: false, text: 'request too long' }); return; }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: ControlRequest;
      try {
        const v = JSON.parse(buf.slice(0, nl)) as Partial<ControlRequest>;
        if (typeof v.command !== 'string' || !Array.isArray(v.args) || !v.args.every((a) => typeof a === 'string')) throw new Error('bad shape');
        req = { command: v.command, args: v.args, json: v.json === true };
      } catch {
        reply({ ok: false, text: 'malformed request: expected one JSON line {"command":..., "args":[...]}' });
        return;
      }
      done = true;
      o.handler(req).then(
        (r) => sock.end(JSON.stringify(r) + '\n'),
        (err: Error) => sock.end(JSON.stringify({ ok: false, text: `error: ${err.message}` }) + '\n'),
      );
    });
  });
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => { server.off('error', reject); resolve(); });
    });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(path, o.mode);
  server.on('error', (err) => o.log(`control socket: ${err.message}`));
  return {
    path,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      try { unlinkSync(path); } catch { /* gone */ }
    }),
  };
}

/** Sends one request and returns the reply (client side). */
export function controlRequest(path: string, req: ControlRequest, timeoutMs = 30_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no reply from ${path} within ${timeoutMs / 1000} s`)); }, timeoutMs);
    s.setEncoding('utf8');
    s.once('connect', () => s.write(JSON.stringify(req) + '\n'));
    s.on('data', (c: string) => { buf += c; });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'ENOENT' ? 'no such socket (is the node running with control.socket set?)'
        : err.code === 'EACCES' ? 'permission denied (run as root or the service user, or its group with mode 0660)'
        : err.code === 'ECONNREFUSED' ? 'nothing listening (a stale socket file?)' : err.message;
      reject(new Error(`cannot connect to ${path}: ${why}`));
    });
    s.once('end', () => {
      clearTimeout(timer);
      try { resolve(JSON.parse(buf) as ControlResponse); } catch { reject(new Error(`unreadable reply from ${path}`)); }
    });
  });
}
