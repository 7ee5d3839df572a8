// The lab's mini-internet: a root, two TLDs and a few sample zones, each served by
// our own authoritative server on its own loopback address (127.53.0.0/16), all
// on one unprivileged port. A resolver primed with `rootHints` and told to query
// that port (upstream.port, upstream.queryLocalhost) recurses through it with no
// Internet access and without root. See lab/README.md.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TYPE } from '../dns/constants.js';
import { normalizeName, fqdn } from '../dns/name.js';
import { YamlSource } from '../common/yaml-source.js';
import { Zone, ZoneSet, parseZoneFile, startAuthServer, type AuthServer, type ZoneRecord } from './authserver/index.js';
import { checkSigning, signLab, type ZoneSigning } from './dnssec/lab.js';

export { Zone, ZoneSet, startAuthServer } from './authserver/index.js';

/** The lab's default port: high, so no root is needed. */
export const LAB_PORT = 5300;
/** The /16 the zone files are written for. */
export const LAB_PREFIX = '127.53';

export interface LabOptions {
  /**
   * Where the lab lives: a 127.X prefix ("127.54", "127.54.0.0" or any address in
   * it). Every 127.53.* address of the zone files and the manifest moves to 127.X.*,
   * so parallel test runs can each have a lab. Default 127.53.
   */
  host?: string;
  /** One port for every lab server (UDP and TCP). Default 5300; 0 picks a free one. */
  port?: number;
  /** Folder with lab.yaml and the zone files. Default: the built-in lab/zones. */
  zonesDir?: string;
  /** Sign the zones that lab.yaml gives a `dnssec:` mapping (default true); false serves them all unsigned. */
  dnssec?: boolean;
}

export interface LabServerInfo {
  /** The server's host name, as the zones' NS records name it. */
  name: string;
  address: string;
  port: number;
  zones: string[];
}

export interface Lab {
  /** named.root text listing the lab's root servers. */
  rootHints: string;
  /** The same text in a temporary file (removed by stop()), for --root-hints. */
  rootHintsFile: string;
  /** The port every lab server listens on: the resolver's upstream.port. */
  upstreamPort: number;
  servers: LabServerInfo[];
  /** Zone names and files loaded; `signed` says how the lab signed the zone. */
  zones: Array<{ name: string; file: string; records: number; signed?: ZoneSigning }>;
  /** The lab root's DS in zone-file syntax, when the root is signed (fresh keys at every start). */
  trustAnchor?: string;
  /** The same text in a temporary file (removed by stop()), for a validator's trust anchor setting. */
  trustAnchorFile?: string;
  stop(): Promise<void>;
}

interface Manifest {
  zones: Array<{ name: string; file: string; signing?: ZoneSigning }>;
  servers: Array<{ name: string; address: string; zones: string[] }>;
}

/** The built-in zones folder, from the source tree (vitest) or from dist/ (built). */
export function defaultZonesDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const dir of [join(here, 'zones'), join(here, '../../lab/zones')]) {
    if (existsSync(join(dir, 'lab.yaml'))) return dir;
  }
  throw new Error(`lab zones not found next to ${here} (looked for zones/lab.yaml and ../../lab/zones/lab.yaml)`);
}

/** Reads and checks lab.yaml; throws ConfigError naming FILE:LINE: FIELD for every problem. */
export function loadManifest(dir: string): Manifest {
  const src = YamlSource.load(join(dir, 'lab.yaml'));
  src.throwIfIssues();
  const data = src.data as { zones?: unknown; servers?: unknown } | null;
  const out: Manifest = { zones: [], servers: [] };
  if (!data || typeof data !== 'object') { src.error([], 'expected a map with zones: and servers:'); src.throwIfIssues(); }
  const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  if (!Array.isArray(data!.zones)) src.error(['zones'], 'expected a list of { name, file }');
  else data!.zones.forEach((z: unknown, i) => {
    const zz = z as { name?: unknown; file?: unknown; dnssec?: unknown };
    if (!isStr(zz?.name)) { src.error(['zones', i, 'name'], 'expected a zone name such as example.lab.'); return; }
    if (!isStr(zz.file)) { src.error(['zones', i, 'file'], 'expected a zone file name'); return; }
    if (!existsSync(join(dir, zz.file))) src.error(['zones', i, 'file'], `${join(dir, zz.file)} does not exist`);
    if (out.zones.some((o) => normalizeName(o.name) === normalizeName(zz.name as string))) src.error(['zones', i, 'name'], `zone ${zz.name} is listed twice`);
    let signing: ZoneSigning | undefined;
    if (zz.dnssec !== undefined) {
      const c = checkSigning(zz.dnssec);
      for (const p of c.problems) src.error(['zones', i, 'dnssec', ...(p.field ? [p.field] : [])], p.message);
      signing = c.signing;
    }
    out.zones.push({ name: zz.name, file: zz.file, signing });
  });
  if (!Array.isArray(data!.servers)) src.error(['servers'], 'expected a list of { name, address, zones }');
  else data!.servers.forEach((s: unknown, i) => {
    const ss = s as { name?: unknown; address?: unknown; zones?: unknown };
    if (!isStr(ss?.name)) { src.error(['servers', i, 'name'], 'expected the server host name'); return; }
    if (!isStr(ss.address) || !isIPv4(ss.address) || !ss.address.startsWith(LAB_PREFIX + '.')) {
      src.error(['servers', i, 'address'], `expected an IPv4 address in ${LAB_PREFIX}.0.0/16`);
      return;
    }
    if (out.servers.some((o) => o.address === ss.address)) src.error(['servers', i, 'address'], `${ss.address} is used twice`);
    if (!Array.isArray(ss.zones) || ss.zones.length === 0) { src.error(['servers', i, 'zones'], 'expected a list of zone names'); return; }
    const zones: string[] = [];
    ss.zones.forEach((z: unknown, j) => {
      const name = typeof z === 'number' ? String(z) : z;
      if (!isStr(name) || !out.zones.some((o) => normalizeName(o.name) === normalizeName(name))) {
        src.error(['servers', i, 'zones', j], `${String(z)} is not one of the zones listed under zones:`);
      } else zones.push(name);
    });
    out.servers.push({ name: ss.name, address: ss.address, zones });
  });
  src.throwIfIssues();
  return out;
}

function parsePrefix(host: string | undefined): string {
  if (host === undefined) return LAB_PREFIX;
  const m = /^127\.(\d{1,3})(?:\.\d{1,3}\.\d{1,3})?$/.exec(host);
  if (!m || Number(m[1]) > 255) throw new Error(`lab host "${host}" must be a 127.X prefix such as 127.53 or 127.53.0.0`);
  return `127.${Number(m[1])}`;
}

function moveAddress(address: string, prefix: string): string {
  return address.startsWith(LAB_PREFIX + '.') ? prefix + address.slice(LAB_PREFIX.length) : address;
}

/** A records pointing into 127.53/16 follow the lab to its prefix. */
function moveRecords(records: ZoneRecord[], prefix: string): ZoneRecord[] {
  if (prefix === LAB_PREFIX) return records;
  const [a, b] = prefix.split('.').map(Number);
  const [fromA, fromB] = LAB_PREFIX.split('.').map(Number);
  return records.map((r) => {
    if (r.type !== TYPE.A || r.rdata.length !== 4 || r.rdata[0] !== fromA || r.rdata[1] !== fromB) return r;
    return { ...r, rdata: Buffer.from([a, b, r.rdata[2], r.rdata[3]]) };
  });
}

/** named.root text (RFC 1035 master format, as IANA publishes it) for the given root servers. */
export function rootHintsText(roots: Array<{ name: string; address: string }>): string {
  const lines = ['; Root hints for the anycast-kit lab: these "root servers" serve the lab root zone', '; on loopback. Not the Internet root; use only with the lab.', ';'];
  const w = Math.max(...roots.map((r) => fqdn(r.name).length), 1) + 2;
  for (const r of roots) lines.push(`${'.'.padEnd(w)}3600000      NS    ${fqdn(r.name).toUpperCase()}`);
  for (const r of roots) lines.push(`${fqdn(r.name).toUpperCase().padEnd(w)}3600000      A     ${r.address}`);
  lines.push('; End of file');
  return lines.join('\n') + '\n';
}

async function startServers(plan: Array<{ info: Omit<LabServerInfo, 'port'>; zones: ZoneSet }>, port: number): Promise<{ servers: AuthServer[]; port: number }> {
  const started: AuthServer[] = [];
  let actualPort = port;
  try {
    for (const p of plan) {
      const s = await startAuthServer({ zones: p.zones, address: p.info.address, port: actualPort });
      started.push(s);
      actualPort = s.port; // port 0: every later server takes the port the first one got
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
  return { servers: started, port: actualPort };
}

/** Starts the lab. Rejects with a clear message (zone file errors as FILE:LINE: message). */
export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  const dir = opts.zonesDir ?? defaultZonesDir();
  const prefix = parsePrefix(opts.host);
  const manifest = loadManifest(dir);
  const zones = new Map<string, { zone: Zone; file: string; signed?: ZoneSigning }>();
  const loaded = manifest.zones.map((z) => {
    const file = join(dir, z.file);
    const origin = normalizeName(z.name);
    const records = moveRecords(parseZoneFile(file, fqdn(origin)), prefix);
    Zone.fromRecords(origin, records, file); // checks the file as written, before signing adds records
    return { origin, file, records, signing: opts.dnssec === false ? undefined : z.signing };
  });
  const signed = signLab(loaded);
  for (const z of loaded) {
    const s = signed.zones.get(z.origin.toLowerCase())!;
    const zone = Zone.fromRecords(z.origin, s.records.map((r) => ({ file: z.file, line: 0, ...r })), z.file);
    zone.dnssec = s.dnssec;
    zones.set(z.origin.toLowerCase(), { zone, file: z.file, signed: z.signing });
  }
  const plan = manifest.servers.map((s) => ({
    info: { name: normalizeName(s.name), address: moveAddress(s.address, prefix), zones: s.zones.map((z) => fqdn(normalizeName(z))) },
    zones: new ZoneSet(s.zones.map((z) => zones.get(normalizeName(z).toLowerCase())!.zone)),
  }));

  const wanted = opts.port ?? LAB_PORT;
  let started: { servers: AuthServer[]; port: number } | undefined;
  // With port 0 the first server picks a port that may be taken on a later address: try a few times.
  for (let attempt = 0; !started; attempt++) {
    try {
      started = await startServers(plan, wanted);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (wanted === 0 && code === 'EADDRINUSE' && attempt < 5) continue;
      const where = (err as { address?: string }).address ?? prefix + '.*';
      const hint = code === 'EADDRINUSE' ? ' (is another lab running? choose another port, e.g. anycast-kit lab --lab-port 5301)'
        : code === 'EADDRNOTAVAIL' ? ` (this system has no ${prefix}.0.0/16 on loopback; on macOS add aliases with "ifconfig lo0 alias")`
          : code === 'EACCES' ? ' (ports below 1024 need root; the lab defaults to 5300)' : '';
      throw new Error(`the lab cannot listen on ${where}:${wanted}: ${code ?? (err as Error).message}${hint}`);
    }
  }
  const { servers, port } = started;
  const info: LabServerInfo[] = plan.map((p) => ({ ...p.info, port }));
  const roots = info.filter((s) => s.zones.includes('.'));
  const rootHints = rootHintsText(roots);
  const tmp = mkdtempSync(join(tmpdir(), 'anycast-kit-lab-'));
  const rootHintsFile = join(tmp, 'named.root');
  writeFileSync(rootHintsFile, rootHints);
  const trustAnchorFile = signed.trustAnchor ? join(tmp, 'root.key') : undefined;
  if (trustAnchorFile) writeFileSync(trustAnchorFile, signed.trustAnchor!);
  // A process that exits without stop() (a lab node ended by a signal handler that
  // calls process.exit, as the anycast lab's nodes are) still removes its files.
  const removeTmp = (): void => { rmSync(tmp, { recursive: true, force: true }); };
  process.once('exit', removeTmp);
  let stopped: Promise<void> | undefined;
  return {
    rootHints,
    rootHintsFile,
    upstreamPort: port,
    servers: info,
    zones: [...zones.values()].map((z) => ({ name: fqdn(z.zone.origin), file: z.file, records: z.zone.recordCount, signed: z.signed })),
    trustAnchor: signed.trustAnchor,
    trustAnchorFile,
    stop() {
      stopped ??= Promise.all(servers.map((s) => s.close())).then(() => { process.removeListener('exit', removeTmp); removeTmp(); });
      return stopped;
    },
  };
}
