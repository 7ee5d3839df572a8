// A deliberately small HTTP/1.x server for /health, /health/detail and /metrics.
// Why not node:http: IOS IP SLA `http get` speaks only HTTP/1.0, and node:http always
// answers with an `HTTP/1.1` status line. Here the status line carries the version the
// client asked with, every response has Content-Length and `Connection: close`, and a
// request head is bounded in size and time, so a slow or hostile client cannot hold the
// endpoint the switches depend on.

import { createServer, type Server, type Socket } from 'node:net';
import type { HostPort } from './config.js';

export interface HttpRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  /** '1.0' or '1.1'. */
  version: string;
  headers: Record<string, string>;
}

export interface HttpResponse {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export type HttpHandler = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;

export interface HttpServerHandle {
  address: string;
  port: number;
  close(): Promise<void>;
}

export interface HttpServerOptions {
  /** Largest request head accepted, bytes. */
  maxHeadBytes?: number;
  /** Time a client has to send its request head, ms. */
  headTimeoutMs?: number;
  maxConnections?: number;
}

const REASONS: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable', 505: 'HTTP Version Not Supported',
};

const REQUEST_LINE = /^([A-Z]{1,16}) (\S{1,2048}) HTTP\/(\d)\.(\d)$/;

export function parseRequestHead(head: string): HttpRequest | { error: number } {
  const lines = head.split(/\r?\n/);
  const m = REQUEST_LINE.exec(lines[0] ?? '');
  if (!m) return { error: 400 };
  if (m[3] !== '1') return { error: 505 };
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const c = line.indexOf(':');
    if (c <= 0) return { error: 400 };
    headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  const target = m[2];
  const q = target.indexOf('?');
  return {
    method: m[1],
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    version: m[4] === '0' ? '1.0' : '1.1',
    headers,
  };
}

function writeResponse(sock: Socket, version: string, res: HttpResponse, head: boolean): void {
  const body = Buffer.from(res.body, 'utf8');
  const lines = [
    `HTTP/${version} ${res.status} ${REASONS[res.status] ?? 'Status'}`,
    `Content-Type: ${res.contentType ?? 'text/plain; charset=utf-8'}`,
    `Content-Length: ${body.length}`,
    'Cache-Control: no-store',
    'Connection: close',
  ];
  for (const [k, v] of Object.entries(res.headers ?? {})) lines.push(`${k}: ${v}`);
  const out = Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), head ? Buffer.alloc(0) : body]);
  sock.end(out);
}

export function startHttpServer(listen: HostPort, handler: HttpHandler, opts: HttpServerOptions = {}): Promise<HttpServerHandle> {
  const maxHead = opts.maxHeadBytes ?? 8192;
  const headTimeout = opts.headTimeoutMs ?? 5000;
  const sockets = new Set<Socket>();

  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => { /* resets from clients are routine */ });
    sock.setNoDelay(true);
    sock.setTimeout(headTimeout, () => {
      if (!answered) { answered = true; writeResponse(sock, '1.0', { status: 408, body: 'request timeout\n' }, false); }
      sock.destroy();
    });
    let buf: Buffer = Buffer.alloc(0);
    let answered = false;
    sock.on('data', (chunk: Buffer) => {
      if (answered) return; // request bodies and pipelined requests are ignored: one response per connection
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let end = buf.indexOf('\r\n\r\n');
      let sep = 4;
      if (end < 0) { end = buf.indexOf('\n\n'); sep = 2; }
      if (end < 0) {
        if (buf.length > maxHead) { answered = true; writeResponse(sock, '1.1', { status: 431, body: 'request head too large\n' }, false); }
        return;
      }
      if (end + sep > maxHead) { answered = true; writeResponse(sock, '1.1', { status: 431, body: 'request head too large\n' }, false); return; }
      answered = true;
      const parsed = parseRequestHead(buf.subarray(0, end).toString('latin1'));
      if ('error' in parsed) {
        writeResponse(sock, '1.1', { status: parsed.error, body: `${REASONS[parsed.error]}\n` }, false);
        return;
      }
      const isHead = parsed.method === 'HEAD';
      if (parsed.method !== 'GET' && !isHead) {
        writeResponse(sock, parsed.version, { status: 405, body: 'only GET and HEAD\n', headers: { Allow: 'GET, HEAD' } }, false);
        return;
      }
      sock.setTimeout(0);
      let result: HttpResponse | Promise<HttpResponse>;
      try { result = handler(parsed); } catch (err) { result = { status: 500, body: `internal error: ${(err as Error).message}\n` }; }
      Promise.resolve(result).then(
        (res) => { if (!sock.destroyed) writeResponse(sock, parsed.version, res, isHead); },
        (err: unknown) => { if (!sock.destroyed) writeResponse(sock, parsed.version, { status: 500, body: `internal error: ${(err as Error).message}\n` }, isHead); },
      );
    });
  });
  server.maxConnections = opts.maxConnections ?? 256;

  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen for HTTP on ${listen.host}:${listen.port}: ${err.code ?? err.message}`));
    server.once('error', onError);
    server.listen(listen.port, listen.host, () => {
      server.off('error', onError);
      server.on('error', () => { /* accept errors (EMFILE) must not end the process */ });
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : listen.port;
      resolve({
        address: listen.host,
        port,
        close: () => new Promise<void>((res) => {
          server.close(() => res());
          for (const s of sockets) s.destroy();
        }),
      });
    });
  });
}
