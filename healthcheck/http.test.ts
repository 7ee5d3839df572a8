import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { parseRequestHead, startHttpServer, type HttpServerHandle } from './http.js';

// Raw sockets, so the exact bytes on the wire (status line version, headers) are checked.
function raw(port: number, request: string | Buffer, host = '127.60.1.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host);
    let out = '';
    s.on('data', (d) => { out += d.toString('latin1'); });
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.write(request);
    setTimeout(() => { s.destroy(); resolve(out); }, 3000).unref();
  });
}

describe('health HTTP server', () => {
  let srv: HttpServerHandle;
  beforeAll(async () => {
    srv = await startHttpServer({ host: '127.60.1.1', port: 0 }, async (req) => {
      if (req.path === '/health') return { status: 200, body: 'OK up\n' };
      if (req.path === '/slow') { await new Promise((r) => setTimeout(r, 50)); return { status: 503, body: 'later\n' }; }
      if (req.path === '/boom') throw new Error('kaput');
      return { status: 404, body: 'not found\n' };
    }, { headTimeoutMs: 300, maxHeadBytes: 1024 });
  });
  afterAll(async () => { await srv.close(); });

  it('answers HTTP/1.0 with an HTTP/1.0 status line, as IOS IP SLA expects', async () => {
    const r = await raw(srv.port, 'GET /health HTTP/1.0\r\n\r\n');
    expect(r).toMatch(/^HTTP\/1\.0 200 OK\r\n/);
    expect(r).toMatch(/\r\nContent-Length: 6\r\n/);
    expect(r).toMatch(/\r\nConnection: close\r\n/);
    expect(r.endsWith('\r\n\r\nOK up\n')).toBe(true);
  });

  it('answers HTTP/1.1 with HTTP/1.1, bare-LF heads too, and ignores the query string', async () => {
    expect(await raw(srv.port, 'GET /health?x=1 HTTP/1.1\r\nHost: a\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(await raw(srv.port, 'GET /health HTTP/1.0\n\n')).toMatch(/^HTTP\/1\.0 200 OK/);
  });

  it('HEAD gets headers only; other methods get 405; async handlers and errors are answered', async () => {
    const h = await raw(srv.port, 'HEAD /health HTTP/1.0\r\n\r\n');
    expect(h).toMatch(/Content-Length: 6\r\n/);
    expect(h.endsWith('\r\n\r\n')).toBe(true);
    expect(await raw(srv.port, 'POST /health HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc')).toMatch(/^HTTP\/1\.1 405 /);
    expect(await raw(srv.port, 'GET /slow HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 503 Service Unavailable/);
    expect(await raw(srv.port, 'GET /boom HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.0 500 [^]*kaput/);
  });

  it('rejects garbage, HTTP/2 prefaces, oversize heads and slow clients without falling over', async () => {
    expect(await raw(srv.port, 'hello\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(srv.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).toMatch(/^HTTP\/1\.1 505 /);
    expect(await raw(srv.port, 'GET /health HTTP/1.1\r\nX: ' + 'a'.repeat(2000) + '\r\n\r\n')).toMatch(/^HTTP\/1\.1 431 /);
    expect(await raw(srv.port, 'GET /health HTTP/1.1\r\n')).toMatch(/^HTTP\/1\.0 408 /);
    expect(await raw(srv.port, Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]))).toMatch(/^HTTP\/1\.1 400 /);
    // Still serving.
    expect(await raw(srv.port, 'GET /health HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.0 200/);
  });

  it('parses request heads', () => {
    expect(parseRequestHead('GET /a?b HTTP/1.1\r\nHost: x\r\nX-Y:  z ')).toEqual({ method: 'GET', path: '/a', query: 'b', version: '1.1', headers: { host: 'x', 'x-y': 'z' } });
    expect(parseRequestHead('GET /a HTTP/1.1\r\nbroken')).toEqual({ error: 400 });
    expect(parseRequestHead('GET /a HTTP/3.0')).toEqual({ error: 505 });
  });
});
