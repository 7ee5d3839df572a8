// What the kernel knows about a run's UDP traffic: the system-wide receive-buffer
// drops (/proc/net/snmp RcvbufErrors) and the drops at our own sockets
// (/proc/net/udp{,6}). Both are null when unknown (not Linux, no /proc).

import type dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

/** Linux `Udp: RcvbufErrors`, system-wide, or null when unknown. */
export function readRcvbufErrors(): number | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    if (lines.length < 2) return null;
    const names = lines[0].split(/\s+/);
    const vals = lines[1].split(/\s+/);
    const i = names.indexOf('RcvbufErrors');
    return i < 0 ? null : Number(vals[i]);
  } catch {
    return null;
  }
}

function v4Hex(addr: string): string {
  return addr.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('');
}

/** A connected UDP socket as /proc/net/udp lists it. */
export interface UdpEndpoints {
  local: { port: number; family: string };
  remote: { address: string; port: number };
}

/**
 * Datagrams the kernel dropped at our own sockets (receive buffer full), from the
 * "drops" column of /proc/net/udp{,6}: answers that arrived but were never read.
 * Sockets are found by local port and remote address:port. Null when unknown.
 */
export function ownUdpDrops(sockets: Array<dgram.Socket | UdpEndpoints>): number | null {
  if (sockets.length === 0) return null;
  const keys = new Set<string>();
  let v6 = false;
  try {
    for (const s of sockets) {
      const local = 'local' in s ? s.local : s.address();
      const remote = 'remote' in s ? s.remote : s.remoteAddress();
      const lport = local.port.toString(16).toUpperCase().padStart(4, '0');
      const rport = remote.port.toString(16).toUpperCase().padStart(4, '0');
      if (local.family === 'IPv6') { v6 = true; keys.add(`${lport}|${rport}`); }
      else keys.add(`${lport}|${v4Hex(remote.address)}:${rport}`);
    }
    const text = readFileSync(v6 ? '/proc/net/udp6' : '/proc/net/udp', 'utf8');
    let drops = 0;
    let found = 0;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const lport = f[1].slice(f[1].lastIndexOf(':') + 1);
      const rem = f[2];
      const key = v6 ? `${lport}|${rem.slice(rem.lastIndexOf(':') + 1)}` : `${lport}|${rem}`;
      if (keys.has(key)) { drops += Number(f[f.length - 1]); found++; }
    }
    return found === 0 ? null : drops;
  } catch {
    return null;
  }
}
