// A tiny DNS responder for driver tests: answers by the first label of the name, and
// records who asked. Not a DNS server: it echoes the question with a chosen rcode.
//   nx*      NXDOMAIN        refused*  REFUSED        tc*  NOERROR with TC set
//   drop*    no answer       wrongq*   answer with a different question
//   dup*     answers twice   badid*    answer with the ID's top bit flipped
//   anything else NOERROR
import dgram from 'node:dgram';
import net from 'node:net';

export interface Responder {
  address: string;
  port: number;
  /** Queries received per source address. */
  bySource: Map<string, number>;
  received: number;
  close(): Promise<void>;
}

function firstLabel(q: Buffer): string {
  const len = q[12] ?? 0;
  return q.toString('latin1', 13, 13 + len).toLowerCase();
}

/** The answers to send for one query (zero, one or two). */
export function answersFor(q: Buffer): Buffer[] {
  if (q.length < 17) return [];
  const label = firstLabel(q);
  if (label.startsWith('drop')) return [];
  const a = Buffer.from(q);
  a[2] = (a[2] | 0x80) & ~0x02; // QR, keep opcode/RD
  a[3] = 0x80; // RA, rcode 0
  if (label.startsWith('nx')) a[3] |= 3;
  else if (label.startsWith('refused')) a[3] |= 5;
  else if (label.startsWith('tc')) a[2] |= 0x02;
  else if (label.startsWith('wrongq')) a[13] = a[13] === 0x78 ? 0x79 : 0x78; // change a letter of the name
  // Top bit: with up to 32,768 slots per socket that is the query's own slot in another
  // round, never in flight (ID+1 could be the next query's slot, with the same question).
  else if (label.startsWith('badid')) a.writeUInt16BE(a.readUInt16BE(0) ^ 0x8000, 0);
  else if (label.startsWith('dup')) return [a, Buffer.from(a)];
  return [a];
}

export interface ResponderBehaviour {
  /** Answer at most this many queries per second (token bucket, 50 ms burst); drop the rest. */
  limitQps?: number;
  /** Hold every answer this long. */
  delayMs?: number;
}

export async function startUdpResponder(address: string, behaviour: ResponderBehaviour = {}): Promise<Responder> {
  const sock = dgram.createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
  const r: Responder = {
    address, port: 0, bySource: new Map(), received: 0,
    close: () => new Promise<void>((res) => sock.close(() => res())),
  };
  const limit = behaviour.limitQps;
  const burst = limit ? Math.max(1, limit * 0.05) : 0;
  let tokens = burst;
  let last = performance.now();
  sock.on('message', (msg, rinfo) => {
    r.received++;
    r.bySource.set(rinfo.address, (r.bySource.get(rinfo.address) ?? 0) + 1);
    if (limit) {
      const now = performance.now();
      tokens = Math.min(burst, tokens + ((now - last) * limit) / 1000);
      last = now;
      if (tokens < 1) return;
      tokens -= 1;
    }
    const answers = answersFor(msg);
    if (behaviour.delayMs) setTimeout(() => { for (const a of answers) sock.send(a, rinfo.port, rinfo.address); }, behaviour.delayMs);
    else for (const a of answers) sock.send(a, rinfo.port, rinfo.address);
  });
  await new Promise<void>((res) => sock.bind(0, address, () => res()));
  r.port = sock.address().port;
  return r;
}

/** TCP: answers pipelined queries in batches, in reverse order, to prove out-of-order matching. */
export async function startTcpResponder(address: string): Promise<Responder> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', () => {});
    let rest = Buffer.alloc(0);
    c.on('data', (chunk) => {
      let buf = Buffer.concat([rest, chunk]);
      const out: Buffer[] = [];
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const q = buf.subarray(2, 2 + len);
        r.received++;
        const src = c.remoteAddress ?? '?';
        r.bySource.set(src, (r.bySource.get(src) ?? 0) + 1);
        for (const a of answersFor(Buffer.from(q))) {
          const framed = Buffer.alloc(2 + a.length);
          framed.writeUInt16BE(a.length, 0);
          a.copy(framed, 2);
          out.push(framed);
        }
        buf = buf.subarray(2 + len);
      }
      rest = Buffer.from(buf);
      if (out.length) c.write(Buffer.concat(out.reverse()));
    });
  });
  const r: Responder = {
    address, port: 0, bySource: new Map(), received: 0,
    close: () => new Promise<void>((res) => {
      for (const c of conns) c.destroy();
      server.close(() => res());
    }),
  };
  await new Promise<void>((res) => server.listen(0, address, () => res()));
  r.port = (server.address() as net.AddressInfo).port;
  return r;
}
