// The node's SNMP agent (net-snmp): read-only v2c communities and v3 authPriv users
// (SHA-2, AES), serving ANYCAST-KIT-MIB under a configurable enterprise base OID.
//
// Values are pushed into the agent's MIB by the health loop (every interval and on
// every state change); an SNMP request never triggers resolver work, so a poller
// cannot slow the node. Counter64 values are stored as 8-byte big-endian Buffers: on
// the agent path net-snmp's encoder throws on a plain number, and that throw would
// happen inside a socket callback and end the process (see docs/field-notes.md, "net-snmp").

import snmp from 'net-snmp';
import { isIPv6 } from 'node:net';
import type { HostPort, SnmpSettings } from '../config.js';
import { HEALTH_CHANGE_NOTIFICATION, NOTIFICATION_OBJECTS, SCALARS, TABLES, type ScalarDef, type SnmpKind } from './oids.js';

export type SnmpScalarValues = Partial<Record<string, number | string>>;
export type SnmpTableValues = Partial<Record<string, readonly number[]>>;

export interface SnmpAgentHandle {
  address: string;
  port: number;
  /** Stores new values; unknown names are ignored, bad values are clamped. */
  update(scalars: SnmpScalarValues, tables?: SnmpTableValues): void;
  /** Sends akHealthStateChange to every configured trap receiver. */
  notifyHealthChange(): void;
  /** Counts of requests refused for a wrong community or user, and other agent errors. */
  errors(): { authFailures: number; other: number };
  close(): Promise<void>;
}

const U32_MAX = 0xffffffff;

export function counter64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  let v: bigint;
  if (typeof n === 'bigint') v = n;
  else v = Number.isFinite(n) && n > 0 ? BigInt(Math.floor(n)) : 0n;
  if (v < 0n) v = 0n;
  b.writeBigUInt64BE(v & 0xffffffffffffffffn);
  return b;
}

function gauge32(n: unknown): number {
  const v = typeof n === 'number' && Number.isFinite(n) ? Math.round(n) : 0;
  return Math.min(U32_MAX, Math.max(0, v));
}

function octets(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v ?? '');
  // DisplayString-like objects are SIZE (0..255) in the MIB.
  let out = s;
  while (Buffer.byteLength(out, 'utf8') > 255) out = out.slice(0, -1);
  return out;
}

/** Casts a value to what net-snmp's encoder accepts for the kind; never throws. */
export function snmpValue(kind: SnmpKind, v: unknown, enumeration?: Record<number, string>): number | string | Buffer {
  switch (kind) {
    case 'Counter64': return counter64(typeof v === 'number' || typeof v === 'bigint' ? v : 0);
    case 'Gauge32': return gauge32(v);
    case 'Integer': {
      const n = typeof v === 'number' && Number.isInteger(v) ? v : 0;
      if (enumeration && !(n in enumeration)) return Number(Object.keys(enumeration)[0]);
      return Math.max(-0x80000000, Math.min(0x7fffffff, n));
    }
    case 'OctetString': return octets(v);
  }
}

const OBJECT_TYPE: Record<SnmpKind, number> = {
  Counter64: snmp.ObjectType.Counter64,
  Gauge32: snmp.ObjectType.Gauge32,
  Integer: snmp.ObjectType.Integer,
  OctetString: snmp.ObjectType.OctetString,
};

const AUTH: Record<string, number> = {
  sha224: snmp.AuthProtocols.sha224, sha256: snmp.AuthProtocols.sha256,
  sha384: snmp.AuthProtocols.sha384, sha512: snmp.AuthProtocols.sha512,
};
const PRIV: Record<string, number> = {
  aes: snmp.PrivProtocols.aes, aes256b: snmp.PrivProtocols.aes256b, aes256r: snmp.PrivProtocols.aes256r,
};

/** Limits how often a noisy event is logged: the first, then a summary per period. */
export class RateLimitedLog {
  private last = -Infinity;
  private suppressed = 0;
  constructor(private readonly log: (line: string) => void, private readonly periodMs = 60_000, private readonly now = Date.now) {}
  note(line: string): void {
    const t = this.now();
    if (t - this.last >= this.periodMs) {
      const extra = this.suppressed ? ` (${this.suppressed} more like this since the last report)` : '';
      this.log(line + extra);
      this.last = t;
      this.suppressed = 0;
    } else {
      this.suppressed++;
    }
  }
}

/** Varbinds one GetBulk response may carry. */
export const MAX_BULK_VARBINDS = 128;

/**
 * Hardens net-snmp's request dispatch, which runs inside the socket's message event
 * where a throw would end the process. Each handler is wrapped so an exception is
 * logged and the request dropped; GetBulk max-repetitions is clamped, because
 * net-snmp 3.29 keeps adding endOfMibView varbinds up to the requested count (65535
 * gives a response too large for UDP, built at some CPU cost). RFC 3416 section 4.2.3
 * lets an agent return fewer repetitions than asked.
 */
function guardRequestHandlers(agent: Record<string, unknown>, report: (m: string) => void): void {
  for (const name of ['getRequest', 'getNextRequest', 'getBulkRequest', 'setRequest', 'onProxyRequest']) {
    const orig = agent[name];
    if (typeof orig !== 'function') continue;
    agent[name] = function guarded(socket: unknown, message: { pdu?: { maxRepetitions?: number; nonRepeaters?: number } }, rinfo: { address?: string; port?: number }) {
      try {
        if (name === 'getBulkRequest' && message?.pdu) {
          const p = message.pdu;
          p.nonRepeaters = Math.max(0, Math.min(Number(p.nonRepeaters) || 0, MAX_BULK_VARBINDS));
          p.maxRepetitions = Math.max(0, Math.min(Number(p.maxRepetitions) || 0, MAX_BULK_VARBINDS));
        }
        return (orig as (...a: unknown[]) => unknown).call(agent, socket, message, rinfo);
      } catch (err) {
        report(`dropped a request from ${rinfo?.address}:${rinfo?.port}: ${(err as Error).message}`);
        return undefined;
      }
    };
  }
}

export interface SnmpAgentOptions {
  listen: HostPort;
  settings: SnmpSettings;
  log?: (line: string) => void;
}

export async function startSnmpAgent(opts: SnmpAgentOptions): Promise<SnmpAgentHandle> {
  const { listen, settings } = opts;
  const log = opts.log ?? ((l: string) => process.stderr.write(`snmp: ${l}\n`));
  const base = settings.baseOid;
  const authLog = new RateLimitedLog(log);
  const otherLog = new RateLimitedLog(log);
  const counts = { authFailures: 0, other: 0 };
  let started = false;

  const agent = snmp.createAgent({
    port: listen.port,
    address: listen.host,
    transport: isIPv6(listen.host) ? 'udp6' : 'udp4',
    accessControlModelType: snmp.AccessControlModelType.Simple,
    ...(settings.engineId ? { engineID: settings.engineId } : {}),
  }, (error) => {
    // Before the socket is bound, errors are bind errors, reported by the await below.
    if (!error || !started) return;
    const from = error.rinfo ? ` from ${error.rinfo.address}:${error.rinfo.port}` : '';
    if (/community|user|auth|engine|decrypt|digest/i.test(error.message)) {
      counts.authFailures++;
      authLog.note(`refused a request${from}: ${error.message}`);
    } else {
      counts.other++;
      otherLog.note(`bad request${from}: ${error.message}`);
    }
  });

  // Wait for the socket to bind so a busy port is a start-up error, not a log line.
  const sockets: Array<{ address(): { address: string; port: number }; once(e: string, f: (...a: unknown[]) => void): void }> =
    Object.values((agent.listener?.sockets ?? {}) as Record<string, never>);
  const bound = await Promise.all(sockets.map((s) => new Promise<{ address: string; port: number }>((resolve, reject) => {
    s.once('listening', () => resolve(s.address()));
    s.once('error', (e) => reject(e as Error));
  }))).catch((err: Error) => {
    try { agent.close(); } catch { /* not listening */ }
    throw new Error(`cannot listen for SNMP on ${listen.host}:${listen.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
  });
  started = true;

  guardRequestHandlers(agent, (m) => { counts.other++; otherLog.note(m); });

  const authorizer = agent.getAuthorizer();
  const acm = authorizer.getAccessControlModel();
  for (const c of settings.communities) {
    authorizer.addCommunity(c);
    acm.setCommunityAccess(c, snmp.AccessLevel.ReadOnly);
  }
  for (const u of settings.users) {
    authorizer.addUser({
      name: u.name,
      level: snmp.SecurityLevel.authPriv,
      authProtocol: AUTH[u.authProtocol],
      authKey: u.authKey,
      privProtocol: PRIV[u.privProtocol],
      privKey: u.privKey,
    });
    acm.setUserAccess(u.name, snmp.AccessLevel.ReadOnly);
  }

  const mib = agent.getMib();
  const RO = snmp.MaxAccess['read-only'];
  const byName = new Map<string, ScalarDef>();
  for (const s of SCALARS) {
    byName.set(s.name, s);
    mib.registerProvider({
      name: s.name,
      type: snmp.MibProviderType.Scalar,
      oid: `${base}.${s.suffix}`,
      scalarType: OBJECT_TYPE[s.kind],
      maxAccess: RO,
      ...(s.enumeration ? { constraints: { enumeration: s.enumeration } } : {}),
    });
    mib.setScalarValue(s.name, snmpValue(s.kind, s.kind === 'OctetString' ? '' : 0, s.enumeration));
  }
  for (const t of TABLES) {
    mib.registerProvider({
      name: t.name,
      type: snmp.MibProviderType.Table,
      oid: `${base}.${t.entrySuffix}`,
      maxAccess: snmp.MaxAccess['not-accessible'],
      tableColumns: [
        { number: 1, name: t.indexName, type: snmp.ObjectType.Integer, maxAccess: snmp.MaxAccess['not-accessible'] },
        { number: 2, name: t.nameColumn, type: snmp.ObjectType.OctetString, maxAccess: RO },
        { number: 3, name: t.valueColumn, type: snmp.ObjectType.Counter64, maxAccess: RO },
      ],
      tableIndex: [{ columnName: t.indexName }],
    });
    t.rows.forEach((label, i) => mib.addTableRow(t.name, [i + 1, label, counter64(0)]));
  }

  // Trap sessions, one per receiver, created once.
  const trapSessions = settings.traps.map((t) => {
    const session = snmp.createSession(t.host, t.community, {
      version: snmp.Version2c, trapPort: t.port, transport: isIPv6(t.host) ? 'udp6' : 'udp4',
    });
    session.on('error', (err: Error) => otherLog.note(`trap session to ${t.host}:${t.port}: ${err.message}`));
    return { target: t, session };
  });
  const current = new Map<string, number | string | Buffer>();

  const update = (scalars: SnmpScalarValues, tables: SnmpTableValues = {}): void => {
    for (const [name, v] of Object.entries(scalars)) {
      const def = byName.get(name);
      if (!def) continue;
      const value = snmpValue(def.kind, v, def.enumeration);
      current.set(name, value);
      try { mib.setScalarValue(name, value); } catch (err) { otherLog.note(`cannot store ${name}: ${(err as Error).message}`); }
    }
    for (const t of TABLES) {
      const vals = tables[t.name];
      if (!vals) continue;
      t.rows.forEach((_, i) => {
        try { mib.setTableSingleCell(t.name, 3, [i + 1], counter64(vals[i] ?? 0)); } catch (err) { otherLog.note(`cannot store ${t.name}: ${(err as Error).message}`); }
      });
    }
  };

  const notifyHealthChange = (): void => {
    if (!trapSessions.length) return;
    const varbinds = NOTIFICATION_OBJECTS.map((name) => {
      const def = byName.get(name)!;
      return { oid: `${base}.${def.suffix}.0`, type: OBJECT_TYPE[def.kind], value: current.get(name) ?? snmpValue(def.kind, undefined, def.enumeration) };
    });
    for (const { target, session } of trapSessions) {
      try {
        session.trap(`${base}.${HEALTH_CHANGE_NOTIFICATION.suffix}`, varbinds, (err: Error | null) => {
          if (err) otherLog.note(`trap to ${target.host}:${target.port} failed: ${err.message}`);
        });
      } catch (err) {
        otherLog.note(`trap to ${target.host}:${target.port} failed: ${(err as Error).message}`);
      }
    }
  };

  const first = bound[0] ?? { address: listen.host, port: listen.port };
  return {
    address: first.address,
    port: first.port,
    update,
    notifyHealthChange,
    errors: () => ({ ...counts }),
    close: () => new Promise<void>((resolve) => {
      for (const { session } of trapSessions) { try { session.close(); } catch { /* closed */ } }
      let pending = sockets.length;
      if (!pending) { resolve(); return; }
      try {
        agent.close(() => { if (--pending <= 0) resolve(); });
      } catch {
        resolve();
      }
    }),
  };
}
