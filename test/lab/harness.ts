// Test helpers for the lab: run NSD from Debian on a loopback address, and a tiny
// DNS client (UDP and TCP) that turns answers into comparable text.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAG, buildQuery, lowerName, parseMessage, rcodeName, rdataToText, typeName, type Message, type ResourceRecord } from '../../dns/index.js';

export const NSD = '/usr/sbin/nsd';
export const NSD_CHECKCONF = '/usr/sbin/nsd-checkconf';

/** Fails loudly (not a skip) when a Debian tool the test needs is absent: CI installs it. */
export function requireTool(path: string, pkg: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package "${pkg}" (apt-get install ${pkg})`);
}

export interface NsdZone { name: string; file: string }

export interface NsdHandle {
  dir: string;
  stop(): Promise<void>;
  log(): string;
}

/** Starts `nsd -d` on address@port serving the zones; resolves once it answers a query. */
export async function startNsd(address: string, port: number, zones: NsdZone[], extra: string[] = []): Promise<NsdHandle> {
  requireTool(NSD, 'nsd');
  requireTool(NSD_CHECKCONF, 'nsd');
  const dir = mkdtempSync(join(tmpdir(), 'lab-nsd-'));
  const conf = [
    'server:',
    `  ip-address: ${address}@${port}`,
    '  do-ip6: no',
    `  zonesdir: "${dir}"`,
    `  pidfile: "${dir}/nsd.pid"`,
    '  username: ""',
    '  chroot: ""',
    '  database: ""',
    `  zonelistfile: "${dir}/zone.list"`,
    `  xfrdfile: "${dir}/xfrd.state"`,
    '  verbosity: 1',
    `  logfile: "${dir}/nsd.log"`,
    '  server-count: 1',
    '  minimal-responses: yes',
    '  refuse-any: no',
    ...extra.map((l) => '  ' + l),
    'remote-control:',
    '  control-enable: no',
    ...zones.flatMap((z) => ['zone:', `  name: "${z.name}"`, `  zonefile: "${z.file}"`]),
    '',
  ].join('\n');
  const confFile = join(dir, 'nsd.conf');
  writeFileSync(confFile, conf);
  const check = spawnSync(NSD_CHECKCONF, [confFile], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nsd-checkconf rejected the config: ${check.stderr}${check.stdout}`);
  const child: ChildProcess = spawn(NSD, ['-d', '-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => { output += d; });
  child.stderr?.on('data', (d) => { output += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => output + (existsSync(join(dir, 'nsd.log')) ? readFileSync(join(dir, 'nsd.log'), 'utf8') : '');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) { const l = log(); await stop(); throw new Error(`nsd exited at start: ${l}`); }
    try {
      await query({ address, port }, zones[0].name.replace(/\.$/, ''), 6, { timeoutMs: 300 });
      break;
    } catch {
      if (Date.now() > deadline) { const l = log(); await stop(); throw new Error(`nsd did not answer within 15 s: ${l}`); }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { dir, stop, log };
}

export interface Target { address: string; port: number }

export interface QueryOptions {
  tcp?: boolean;
  /** EDNS UDP size to advertise; undefined = no EDNS. */
  edns?: number;
  class?: number;
  rd?: boolean;
  timeoutMs?: number;
  id?: number;
}

/** Sends raw bytes over UDP and returns the first reply (bounded by a timeout). */
export function udpExchange(t: Target, packet: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(t.address.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error(`timeout from ${t.address}:${t.port}`)); }, timeoutMs);
    sock.on('message', (msg) => { clearTimeout(timer); sock.close(); resolve(msg); });
    sock.on('error', (e) => { clearTimeout(timer); sock.close(); reject(e); });
    sock.send(packet, t.port, t.address);
  });
}

/** Sends raw bytes over TCP (length-prefixed) and returns the first framed reply. */
export function tcpExchange(t: Target, packet: Buffer, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: t.address, port: t.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`tcp timeout from ${t.address}:${t.port}`)); }, timeoutMs);
    sock.on('connect', () => {
      const frame = Buffer.alloc(2 + packet.length);
      frame.writeUInt16BE(packet.length, 0);
      packet.copy(frame, 2);
      sock.write(frame);
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

export async function query(t: Target, name: string, type: number, o: QueryOptions = {}): Promise<Message> {
  const id = o.id ?? Math.floor(Math.random() * 65536);
  const packet = buildQuery({ id, name, type, class: o.class, rd: o.rd, ednsUdpSize: o.edns });
  const raw = o.tcp ? await tcpExchange(t, packet, o.timeoutMs) : await udpExchange(t, packet, o.timeoutMs);
  const msg = parseMessage(raw);
  if (msg.id !== id) throw new Error(`reply id ${msg.id} does not match ${id}`);
  return msg;
}

function rrText(r: ResourceRecord): string {
  return `${lowerName(r.name) || '.'} ${r.ttl} ${typeName(r.type)} ${lowerName(rdataToText(r.type, r.rdata))}`;
}

/** The parts of a reply that two correct authoritative servers must agree on. */
export function summarize(m: Message): Record<string, unknown> {
  return {
    rcode: rcodeName(m.rcode),
    aa: (m.flags & FLAG.AA) !== 0,
    tc: (m.flags & FLAG.TC) !== 0,
    answer: m.answers.map(rrText).sort(),
    authority: m.authority.map(rrText).sort(),
    additional: m.additional.map(rrText).sort(),
    edns: m.edns ? m.edns.udpSize : null,
  };
}
