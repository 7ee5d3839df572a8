// The failover topology: sites, their clients, their nodes and where their clients go
// while the site is withdrawn. Read from YAML through YamlSource so every mistake is
// reported as FILE:LINE: FIELD: MESSAGE, all of them in one pass.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, YamlSource, formatPath, type ConfigIssue, type FieldPath } from '../../common/yaml-source.js';
import { parseClientsText, type ClientGroup } from './clients.js';
import { MAX_PATHS, SPLIT_ALGORITHMS, type SplitAlgorithm } from './hash.js';
import { formatIPv4, parseCidr, parseIPv4 } from './ipv4.js';

export interface TopologyNode {
  name: string;
  site: string;
  address: number;
  /** qps the node answers before its SLA check fails (before the overload factor). */
  capacityQps: number;
}

export interface TopologySite {
  name: string;
  clients: ClientGroup[];
  /** Sites that take this site's clients while it has no node up, in order. */
  failover: string[];
  /** Sorted by address: the order CEF numbers the paths. */
  nodes: TopologyNode[];
}

export interface Topology {
  /** Source file, for messages and the report. */
  file?: string;
  vip: number;
  algorithm: SplitAlgorithm;
  /** A node is withdrawn when its load exceeds capacity x overload. */
  overload: number;
  /** Router universal id (universal, include-ports). */
  id: number;
  sites: TopologySite[];
  warnings: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Loads and validates a topology file; throws ConfigError listing every problem. */
export function loadTopology(file: string): Topology {
  return validateTopology(YamlSource.load(file), dirname(file));
}

export function parseTopologyText(file: string, text: string, baseDir = '.'): Topology {
  return validateTopology(YamlSource.fromText(file, text), baseDir);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateTopology(src: YamlSource, baseDir: string): Topology {
  src.throwIfIssues();
  const data = src.data;
  const topo: Topology = { file: src.file, vip: 0, algorithm: 'seed-xor', overload: 1, id: 0, sites: [], warnings: [] };
  if (!isMap(data)) {
    src.error([], 'expected a mapping with vip, model and sites');
    src.throwIfIssues();
    return topo;
  }
  unknownKeys(src, [], data, ['vip', 'model', 'sites']);

  const vip = typeof data.vip === 'string' ? parseIPv4(data.vip) : undefined;
  if (vip === undefined) src.error(['vip'], data.vip === undefined ? 'required: the anycast service address (IPv4)' : `"${String(data.vip)}" is not an IPv4 address`);
  else topo.vip = vip;

  if (data.model !== undefined) {
    if (!isMap(data.model)) src.error(['model'], 'expected a mapping like { algorithm: seed-xor, overload: 1.0 }');
    else {
      const m = data.model;
      unknownKeys(src, ['model'], m, ['algorithm', 'overload', 'id']);
      if (m.algorithm !== undefined) {
        if (typeof m.algorithm === 'string' && (SPLIT_ALGORITHMS as readonly string[]).includes(m.algorithm)) topo.algorithm = m.algorithm as SplitAlgorithm;
        else src.error(['model', 'algorithm'], `must be one of ${SPLIT_ALGORITHMS.join(', ')}, got "${String(m.algorithm)}"`);
      }
      if (m.overload !== undefined) {
        if (typeof m.overload === 'number' && Number.isFinite(m.overload) && m.overload > 0) topo.overload = m.overload;
        else src.error(['model', 'overload'], `must be a number above 0 (1.0 = withdrawn above capacity), got ${JSON.stringify(m.overload)}`);
      }
      if (m.id !== undefined) {
        const id = typeof m.id === 'number' ? m.id : typeof m.id === 'string' && /^0x[0-9a-f]{1,8}$/i.test(m.id) ? parseInt(m.id.slice(2), 16) : NaN;
        if (Number.isInteger(id) && id >= 0 && id <= 0xffffffff) topo.id = id;
        else src.error(['model', 'id'], `must be a 32-bit number (or "0xHEX" from 'show ip cef summary'), got ${JSON.stringify(m.id)}`);
      }
    }
  }

  if (!Array.isArray(data.sites) || data.sites.length === 0) {
    src.error(['sites'], 'required: a list of sites, each with name, clients, failover and nodes');
    src.throwIfIssues();
  }
  const rawSites = data.sites as unknown[];
  const names = new Map<string, string>(); // name -> field where first defined
  const addresses = new Map<number, string>();
  const claim = (path: FieldPath, name: string): void => {
    const prev = names.get(name);
    if (prev) src.error(path, `name "${name}" is already used at ${prev}; site and node names must be unique (--fail takes either)`);
    else names.set(name, formatPath(path));
  };
  const failoverPending: Array<{ path: FieldPath; site: TopologySite; list: unknown }> = [];

  rawSites.forEach((raw, si) => {
    const p: FieldPath = ['sites', si];
    if (!isMap(raw)) {
      src.error(p, 'expected a mapping with name, clients, failover and nodes');
      return;
    }
    unknownKeys(src, p, raw, ['name', 'clients', 'clientsFile', 'failover', 'nodes']);
    const name = typeof raw.name === 'string' && NAME.test(raw.name) ? raw.name : undefined;
    if (!name) src.error([...p, 'name'], raw.name === undefined ? 'required' : `"${String(raw.name)}" is not a name (letters, digits, . _ -)`);
    else claim([...p, 'name'], name);
    const site: TopologySite = { name: name ?? `sites[${si}]`, clients: [], failover: [], nodes: [] };

    if (raw.clients !== undefined) {
      if (!Array.isArray(raw.clients)) src.error([...p, 'clients'], 'expected a list of { cidr, qps }');
      else {
        raw.clients.forEach((c, ci) => {
          const cp: FieldPath = [...p, 'clients', ci];
          if (!isMap(c)) {
            src.error(cp, 'expected { cidr: A.B.C.D/LEN, qps: N }');
            return;
          }
          unknownKeys(src, cp, c, ['cidr', 'qps']);
          const cidr = typeof c.cidr === 'string' ? parseCidr(c.cidr) : c.cidr === undefined ? 'required' : `"${String(c.cidr)}" is not a CIDR`;
          if (typeof cidr === 'string') src.error([...cp, 'cidr'], cidr);
          const qpsOk = typeof c.qps === 'number' && Number.isFinite(c.qps) && c.qps >= 0;
          if (!qpsOk) src.error([...cp, 'qps'], c.qps === undefined ? 'required: the qps of the whole block' : `must be a number >= 0, got ${JSON.stringify(c.qps)}`);
          if (typeof cidr !== 'string' && qpsOk) site.clients.push({ base: cidr.base, count: cidr.count, qps: c.qps as number, origin: `${src.file}:${src.lineOf(cp)}` });
        });
      }
    }
    if (raw.clientsFile !== undefined) {
      if (typeof raw.clientsFile !== 'string') src.error([...p, 'clientsFile'], 'expected a file name');
      else {
        const path = resolve(baseDir, raw.clientsFile);
        if (!existsSync(path)) src.error([...p, 'clientsFile'], `cannot read "${raw.clientsFile}" (looked for ${path})`);
        else {
          try {
            site.clients.push(...parseClientsText(raw.clientsFile, readFileSync(path, 'utf8')));
          } catch (err) {
            const issues = err instanceof ConfigError ? err.issues : [{ message: (err as Error).message } as ConfigIssue];
            for (const i of issues) src.error([...p, 'clientsFile'], i.line ? `${i.file}:${i.line}: ${i.field}: ${i.message}` : i.message);
          }
        }
      }
    }

    if (raw.failover !== undefined) {
      if (!Array.isArray(raw.failover)) src.error([...p, 'failover'], 'expected a list of site names, e.g. [dc2, dc3]');
      else failoverPending.push({ path: [...p, 'failover'], site, list: raw.failover });
    }

    if (!Array.isArray(raw.nodes) || raw.nodes.length === 0) {
      src.error([...p, 'nodes'], 'required: a list of { name, address, capacity }');
    } else {
      raw.nodes.forEach((n, ni) => {
        const np: FieldPath = [...p, 'nodes', ni];
        if (!isMap(n)) {
          src.error(np, 'expected { name, address, capacity }');
          return;
        }
        unknownKeys(src, np, n, ['name', 'address', 'capacity']);
        const nname = typeof n.name === 'string' && NAME.test(n.name) ? n.name : undefined;
        if (!nname) src.error([...np, 'name'], n.name === undefined ? 'required' : `"${String(n.name)}" is not a name (letters, digits, . _ -)`);
        else claim([...np, 'name'], nname);
        const addr = typeof n.address === 'string' ? parseIPv4(n.address) : undefined;
        if (addr === undefined) src.error([...np, 'address'], n.address === undefined ? 'required: the next hop the switch routes the VIP to' : `"${String(n.address)}" is not an IPv4 address`);
        else if (addresses.has(addr)) src.error([...np, 'address'], `${formatIPv4(addr)} is already used by ${addresses.get(addr)}`);
        else addresses.set(addr, nname ?? formatPath(np));
        const capOk = typeof n.capacity === 'number' && Number.isFinite(n.capacity) && n.capacity > 0;
        if (!capOk) src.error([...np, 'capacity'], n.capacity === undefined ? 'required: qps the node serves before its SLA check fails' : `must be a number above 0, got ${JSON.stringify(n.capacity)}`);
        if (nname && addr !== undefined && capOk) site.nodes.push({ name: nname, site: site.name, address: addr, capacityQps: n.capacity as number });
      });
    }
    site.nodes.sort((a, b) => a.address - b.address);
    topo.sites.push(site);
  });

  const siteNames = new Set(topo.sites.map((s) => s.name));
  for (const { path, site, list } of failoverPending) {
    const seen = new Set<string>();
    (list as unknown[]).forEach((f, fi) => {
      if (typeof f !== 'string' || !siteNames.has(f)) src.error([...path, fi], `"${String(f)}" is not a site (sites: ${[...siteNames].join(', ')})`);
      else if (f === site.name) src.error([...path, fi], 'a site cannot fail over to itself');
      else if (seen.has(f)) src.error([...path, fi], `"${f}" is listed twice`);
      else {
        seen.add(f);
        site.failover.push(f);
      }
    });
  }
  src.throwIfIssues();

  for (const s of topo.sites) {
    if (s.nodes.length > MAX_PATHS) topo.warnings.push(`site ${s.name} has ${s.nodes.length} nodes: one switch installs at most ${MAX_PATHS} equal-cost paths`);
    if (!s.failover.length && s.clients.some((c) => c.qps > 0)) topo.warnings.push(`site ${s.name} has no failover: its clients are dropped while it is withdrawn`);
  }
  return topo;
}

function unknownKeys(src: YamlSource, path: FieldPath, obj: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) src.error([...path, k], `unknown field (expected ${allowed.join(', ')})`);
  }
}

/** Total offered qps of a topology's clients. */
export function offeredQps(topo: Topology): number {
  let q = 0;
  for (const s of topo.sites) for (const c of s.clients) q += c.qps;
  return q;
}
