// The site inventory: schema, defaults and every validation rule. Nothing is rendered
// from an inventory that has a single problem; all problems are collected (with file,
// line and field) so the operator fixes them in one pass.

import { ConfigError, YamlSource, type FieldPath } from '../common/yaml-source.js';
import { parseIpv4 } from '../common/ip.js';
import { looksLikeIpv6, parseCidr4, unusableUnicast } from './net.js';
import { HOST_PATTERN, NAME_PATTERN, PATH_PATTERN, RMNAME_PATTERN, SLA_TAG_MAX } from './patterns.js';

export type Platform = 'ios' | 'ios-xe' | 'nx-os';
export type ProbeType = 'dns' | 'http' | 'tcp';
export type Protocol = 'ospf' | 'bgp';
export type CefAlgorithm = 'universal' | 'original' | 'include-ports';
export type BgpCostAs = 'med' | 'prepend';

export const PLATFORMS: readonly Platform[] = ['ios', 'ios-xe', 'nx-os'];
export const PROBE_TYPES: readonly ProbeType[] = ['dns', 'http', 'tcp'];
export const PROTOCOLS: readonly Protocol[] = ['ospf', 'bgp'];
export const CEF_ALGORITHMS: readonly CefAlgorithm[] = ['universal', 'original', 'include-ports'];

/** Track object ID range per platform (the SLA ID equals the track ID, so both obey it). */
export const TRACK_RANGE: Record<Platform, { min: number; max: number }> = {
  ios: { min: 1, max: 1000 },
  'ios-xe': { min: 1, max: 1000 },
  'nx-os': { min: 1, max: 500 },
};
export const SLA_ID_MAX = 2147483647;
/** CEF installs at most 16 equal-cost paths per prefix on the platforms this kit targets. */
export const DEFAULT_MAX_PATHS = 16;
/** Used when service.clients is absent: RFC 1918 space plus loopback. */
export const DEFAULT_CLIENTS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8'];
export const DEFAULT_ROUTE_MAP = 'ANYCAST-DNS';
/**
 * Administrative distance of the fail-open floating statics: above every dynamic protocol
 * (eBGP 20, OSPF 110, iBGP 200), so a route to the VIP learned from any live site wins.
 */
export const FAIL_OPEN_DISTANCE = 250;
/**
 * The platform's own maximum-paths default per protocol (Cisco configuration guides: IOS and
 * IOS-XE OSPF 4, NX-OS OSPF 8, BGP 1 on all three). The generator never emits a value at or
 * below it, so it never lowers what the switch already does.
 */
export const DEFAULT_PROTOCOL_PATHS: Record<Platform, Record<Protocol, number>> = {
  ios: { ospf: 4, bgp: 1 },
  'ios-xe': { ospf: 4, bgp: 1 },
  'nx-os': { ospf: 8, bgp: 1 },
};

export interface Probe {
  type: ProbeType;
  /** dns: the name the node answers for itself. */
  name?: string;
  /** http: URL path, starting with "/". */
  path?: string;
  /** http/tcp: port on the node. */
  port?: number;
  frequencyS: number;
  timeoutMs: number;
  thresholdMs: number;
}

export interface Service {
  vip: string;
  probe: Probe;
  track: { delayDownS: number; delayUpS: number };
  tag: number;
  /** CIDRs allowed to query the resolver (node.yaml resolver.allow). */
  clients: string[];
  /**
   * Fail-open: besides each tracked static, an untracked floating static (administrative
   * distance FAIL_OPEN_DISTANCE) through every node. It is installed only when no better
   * route to the VIP exists, i.e. when every tracked route of this switch is down AND no
   * other site announces the VIP. Off by default.
   */
  failOpen: boolean;
}

export interface Routing {
  protocol: Protocol;
  ospf?: { process: number };
  bgp?: { asn: number; costAs: BgpCostAs };
  cef: { algorithm: CefAlgorithm };
  routeMap: string;
  maxPaths: number;
}

export interface Node {
  name: string;
  address: string;
  /** SLA operation number; the track object uses the same number. */
  slaId: number;
  switchName: string;
  siteName: string;
  path: FieldPath;
}

export interface Switch {
  name: string;
  platform: Platform;
  siteName: string;
  /** The owning site's cost: OSPF metric, BGP MED or prepend count. */
  cost: number;
  slaBase: number;
  maxPaths: number;
  /** Emit the CEF / load-sharing line (some IOS-XE switches lack the command). */
  cefLoadSharing: boolean;
  nodes: Node[];
  path: FieldPath;
}

export interface Site {
  name: string;
  cost: number;
  switches: Switch[];
}

export interface Inventory {
  file: string;
  service: Service;
  routing: Routing;
  sites: Site[];
}

/** Every switch in inventory order. */
export function allSwitches(inv: Inventory): Switch[] {
  return inv.sites.flatMap((s) => s.switches);
}

/** Every node in inventory order. */
export function allNodes(inv: Inventory): Node[] {
  return allSwitches(inv).flatMap((s) => s.nodes);
}

/** Loads and validates an inventory file; throws ConfigError listing every problem. */
export function loadInventory(file: string): Inventory {
  return parseInventory(YamlSource.load(file));
}

/** Validates already-loaded YAML (tests use YamlSource.fromText). */
export function parseInventory(src: YamlSource): Inventory {
  src.throwIfIssues(); // YAML syntax errors: nothing else can be trusted
  const inv = new InventoryReader(src).read();
  src.throwIfIssues();
  return inv as Inventory;
}

const NAME_RE = new RegExp(`^${NAME_PATTERN}$`);
const NAME_HINT = 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 50 characters (it appears in switch commands and file names)';
const HOST_RE = new RegExp(`^${HOST_PATTERN}$`);
const PATH_RE = new RegExp(`^${PATH_PATTERN}$`);
const RMNAME_RE = new RegExp(`^${RMNAME_PATTERN}$`);

type Obj = Record<string, unknown>;

interface IntOpts {
  min: number;
  max: number;
  unit?: string;
}

/** Reads the raw YAML into typed values, recording an issue for every problem. */
class InventoryReader {
  private bad = false;
  /** Read early and kept even if their sections have other errors, for cross-checks and messages. */
  private vip: string | undefined;
  private probeType: ProbeType | undefined;
  private readonly seenSites: Array<{ name: string; path: FieldPath }> = [];
  private readonly seenSwitches: Array<{ name: string; path: FieldPath }> = [];
  private readonly seenNodes: SeenNode[] = [];
  constructor(private readonly src: YamlSource) {}

  private err(path: FieldPath, msg: string): void {
    this.bad = true;
    this.src.error(path, msg);
  }

  private typeName(v: unknown): string {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'a list';
    if (typeof v === 'object') return 'a mapping';
    if (typeof v === 'string') return `the string "${v}"`;
    return `${typeof v} ${String(v)}`;
  }

  /** A mapping at `path`, with only `allowed` keys; undefined (and an issue) otherwise. */
  private map(path: FieldPath, v: unknown, allowed: string[], what: string): Obj | undefined {
    if (v === undefined) {
      this.err(path, `required ${what} is missing`);
      return undefined;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.err(path, `must be a mapping (${what}), got ${this.typeName(v)}`);
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) {
        const near = allowed.find((a) => a.toLowerCase() === k.toLowerCase());
        this.err([...path, k], `unknown key${near ? `; did you mean "${near}"?` : `; expected one of: ${allowed.join(', ')}`}`);
      }
    }
    return v as Obj;
  }

  private list(path: FieldPath, v: unknown, what: string): unknown[] | undefined {
    if (v === undefined) {
      this.err(path, `required ${what} is missing`);
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.err(path, `must be a list (${what}), got ${this.typeName(v)}`);
      return undefined;
    }
    if (v.length === 0) {
      this.err(path, `must list at least one ${what.replace(/s$/, '')}`);
      return undefined;
    }
    return v;
  }

  private int(path: FieldPath, v: unknown, o: IntOpts, fallback?: number): number | undefined {
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      this.err(path, 'required key is missing');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.err(path, `must be a whole number${o.unit ? ` of ${o.unit}` : ''}, got ${this.typeName(v)}`);
      return undefined;
    }
    if (v < o.min || v > o.max) {
      this.err(path, `must be between ${o.min} and ${o.max}${o.unit ? ` ${o.unit}` : ''}, got ${v}`);
      return undefined;
    }
    return v;
  }

  private str(path: FieldPath, v: unknown, fallback?: string): string | undefined {
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      this.err(path, 'required key is missing');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.err(path, `must be a string, got ${this.typeName(v)}`);
      return undefined;
    }
    return v;
  }

  private oneOf<T extends string>(path: FieldPath, v: unknown, choices: readonly T[], fallback?: T): T | undefined {
    const s = this.str(path, v, fallback);
    if (s === undefined) return undefined;
    if (!(choices as readonly string[]).includes(s)) {
      this.err(path, `must be one of ${choices.join(' | ')}, got "${s}"`);
      return undefined;
    }
    return s as T;
  }

  private bool(path: FieldPath, v: unknown, fallback: boolean): boolean {
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      this.err(path, `must be true or false, got ${this.typeName(v)}`);
      return fallback;
    }
    return v;
  }

  private name(path: FieldPath, v: unknown): string | undefined {
    const s = this.str(path, v);
    if (s === undefined) return undefined;
    if (!NAME_RE.test(s)) {
      this.err(path, `"${s}" is not a usable name: use ${NAME_HINT}`);
      return undefined;
    }
    return s;
  }

  /** An IPv4 unicast address; `ipv6Why` gives the precise reason when an IPv6 address is seen. */
  private ipv4(path: FieldPath, v: unknown, ipv6Why: string): string | undefined {
    const s = this.str(path, v);
    if (s === undefined) return undefined;
    if (looksLikeIpv6(s)) {
      this.err(path, `"${s}" is an IPv6 address: ${ipv6Why}`);
      return undefined;
    }
    const n = parseIpv4(s);
    if (n < 0) {
      this.err(path, `"${s}" is not a valid IPv4 address (four decimal octets 0-255, no leading zeros)`);
      return undefined;
    }
    const why = unusableUnicast(n);
    if (why) {
      this.err(path, `"${s}" ${why}`);
      return undefined;
    }
    return s;
  }

  read(): Partial<Inventory> {
    const top = this.map([], this.src.data, ['service', 'routing', 'sites'], 'inventory');
    if (!top) return {};
    const service = this.readService(top.service);
    const routing = this.readRouting(top.routing);
    const sites = this.readSites(top.sites, service, routing);
    // Run even when other sections failed, so every error shows up in one pass.
    this.crossChecks(this.vip);
    return { file: this.src.file, service, routing, sites };
  }

  private readService(v: unknown): Service | undefined {
    const p: FieldPath = ['service'];
    const o = this.map(p, v, ['vip', 'probe', 'track', 'tag', 'clients', 'failOpen'], 'service section');
    if (!o) return undefined;
    const vip = this.ipv4([...p, 'vip'], o.vip, 'this generator announces an IPv4 /32 service address');
    this.vip = vip;
    const probe = this.readProbe(o.probe);
    const t = this.map([...p, 'track'], o.track, ['delayDown', 'delayUp'], 'track delays');
    const delays = { min: 1, max: 180, unit: 'seconds' };
    const delayDownS = t ? this.int([...p, 'track', 'delayDown'], t.delayDown, delays) : undefined;
    const delayUpS = t ? this.int([...p, 'track', 'delayUp'], t.delayUp, delays) : undefined;
    const tag = this.int([...p, 'tag'], o.tag, { min: 1, max: 4294967295 });
    let clients = DEFAULT_CLIENTS;
    if (o.clients !== undefined) {
      const list = this.list([...p, 'clients'], o.clients, 'client CIDRs');
      clients = [];
      list?.forEach((c, i) => {
        const s = this.str([...p, 'clients', i], c);
        if (s === undefined) return;
        if (!parseCidr4(s)) this.err([...p, 'clients', i], `"${s}" is not an IPv4 CIDR such as 10.0.0.0/8 (host bits must be zero)`);
        else clients.push(s);
      });
    }
    const failOpen = this.bool([...p, 'failOpen'], o.failOpen, false);
    if (vip === undefined || !probe || delayDownS === undefined || delayUpS === undefined || tag === undefined) return undefined;
    return { vip, probe, track: { delayDownS, delayUpS }, tag, clients, failOpen };
  }

  private readProbe(v: unknown): Probe | undefined {
    const p: FieldPath = ['service', 'probe'];
    const o = this.map(p, v, ['type', 'name', 'path', 'port', 'frequency', 'timeout', 'threshold'], 'probe settings');
    if (!o) return undefined;
    const type = this.oneOf([...p, 'type'], o.type, PROBE_TYPES);
    this.probeType = type;
    let name: string | undefined;
    let path: string | undefined;
    let port: number | undefined;
    let ok = type !== undefined;
    if (type === 'dns') {
      name = this.str([...p, 'name'], o.name);
      if (name !== undefined && !HOST_RE.test(name)) {
        this.err([...p, 'name'], `"${name}" is not a DNS hostname (letters, digits and "-" in dot-separated labels, no trailing dot)`);
        name = undefined;
      }
      ok &&= name !== undefined;
    } else if (o.name !== undefined && typeof o.name !== 'string') {
      this.err([...p, 'name'], 'must be a string');
    }
    if (type === 'http') {
      path = this.str([...p, 'path'], o.path);
      if (path !== undefined && !PATH_RE.test(path)) {
        this.err([...p, 'path'], `"${path}" must start with "/" and use only letters, digits and . _ ~ / % - (no spaces, no "?": the switch CLI treats "?" as a help request)`);
        path = undefined;
      }
      ok &&= path !== undefined;
    }
    if (type === 'http' || type === 'tcp') {
      port = this.int([...p, 'port'], o.port, { min: 1, max: 65535 });
      ok &&= port !== undefined;
    } else if (o.port !== undefined) {
      port = this.int([...p, 'port'], o.port, { min: 1, max: 65535 });
    }
    const frequencyS = this.int([...p, 'frequency'], o.frequency, { min: 1, max: 604800, unit: 'seconds' });
    // The operation is pasted as threshold, timeout, frequency, and each value is checked against
    // the ones in place, starting from the defaults (timeout 5000 ms, frequency 60 s): so the
    // threshold may not exceed 5000 ms and the timeout may not exceed 60000 ms.
    const timeoutMs = this.int([...p, 'timeout'], o.timeout, { min: 1, max: 60000, unit: 'ms' });
    const thresholdMs = this.int([...p, 'threshold'], o.threshold, { min: 1, max: 5000, unit: 'ms' });
    if (thresholdMs !== undefined && timeoutMs !== undefined && thresholdMs > timeoutMs) {
      this.err([...p, 'threshold'], `threshold ${thresholdMs} ms must not exceed timeout ${timeoutMs} ms (threshold ≤ timeout ≤ frequency)`);
      ok = false;
    }
    if (timeoutMs !== undefined && frequencyS !== undefined && timeoutMs > frequencyS * 1000) {
      this.err([...p, 'timeout'], `timeout ${timeoutMs} ms must not exceed frequency ${frequencyS} s = ${frequencyS * 1000} ms (threshold ≤ timeout ≤ frequency)`);
      ok = false;
    }
    if (!ok || frequencyS === undefined || timeoutMs === undefined || thresholdMs === undefined) return undefined;
    return { type: type!, name, path, port, frequencyS, timeoutMs, thresholdMs };
  }

  private readRouting(v: unknown): Routing | undefined {
    const p: FieldPath = ['routing'];
    const o = this.map(p, v, ['protocol', 'ospf', 'bgp', 'cef', 'routeMap', 'maxPaths'], 'routing section');
    if (!o) return undefined;
    const protocol = this.oneOf([...p, 'protocol'], o.protocol, PROTOCOLS);
    let ospf: Routing['ospf'];
    let bgp: Routing['bgp'];
    let ok = protocol !== undefined;
    if (o.ospf !== undefined || protocol === 'ospf') {
      const m = this.map([...p, 'ospf'], o.ospf, ['process'], 'OSPF settings (protocol is ospf)');
      const process = m ? this.int([...p, 'ospf', 'process'], m.process, { min: 1, max: 65535 }) : undefined;
      if (process !== undefined) ospf = { process };
      else if (protocol === 'ospf') ok = false;
    }
    if (o.bgp !== undefined || protocol === 'bgp') {
      const m = this.map([...p, 'bgp'], o.bgp, ['asn', 'costAs'], 'BGP settings (protocol is bgp)');
      const asn = m ? this.int([...p, 'bgp', 'asn'], m.asn, { min: 1, max: 4294967295 }) : undefined;
      const costAs = m ? this.oneOf([...p, 'bgp', 'costAs'], m.costAs, ['med', 'prepend'] as const, 'med') : undefined;
      if (asn !== undefined && costAs !== undefined) bgp = { asn, costAs };
      else if (protocol === 'bgp') ok = false;
    }
    let algorithm: CefAlgorithm | undefined = 'universal';
    if (o.cef !== undefined) {
      const c = this.map([...p, 'cef'], o.cef, ['algorithm'], 'CEF settings');
      algorithm = c ? this.oneOf([...p, 'cef', 'algorithm'], c.algorithm, CEF_ALGORITHMS, 'universal') : undefined;
    }
    const routeMap = this.str([...p, 'routeMap'], o.routeMap, DEFAULT_ROUTE_MAP);
    if (routeMap !== undefined && !RMNAME_RE.test(routeMap)) {
      this.err([...p, 'routeMap'], `"${routeMap}" is not a usable route-map name (a letter, then letters, digits, "_" or "-", at most 63 characters)`);
      ok = false;
    }
    const maxPaths = this.int([...p, 'maxPaths'], o.maxPaths, { min: 1, max: 64 }, DEFAULT_MAX_PATHS);
    if (!ok || algorithm === undefined || routeMap === undefined || maxPaths === undefined) return undefined;
    return { protocol: protocol!, ospf, bgp, cef: { algorithm }, routeMap, maxPaths };
  }

  private readSites(v: unknown, service: Service | undefined, routing: Routing | undefined): Site[] | undefined {
    const list = this.list(['sites'], v, 'sites');
    if (!list) return undefined;
    const sites: Site[] = [];
    let switchIndex = 0;
    list.forEach((sv, si) => {
      const p: FieldPath = ['sites', si];
      const o = this.map(p, sv, ['name', 'cost', 'switches'], 'site');
      if (!o) return;
      const name = this.name([...p, 'name'], o.name);
      if (name !== undefined) this.seenSites.push({ name, path: p });
      const cost = this.readCost([...p, 'cost'], o.cost, routing);
      const sl = this.list([...p, 'switches'], o.switches, 'switches');
      const switches: Switch[] = [];
      sl?.forEach((wv, wi) => {
        const sw = this.readSwitch([...p, 'switches', wi], wv, name ?? '?', cost ?? 0, switchIndex++, service, routing);
        if (sw) switches.push(sw);
      });
      if (name !== undefined && cost !== undefined) sites.push({ name, cost, switches });
    });
    return sites;
  }

  /** Site cost; its range depends on how it is carried (OSPF metric, MED, prepend count). */
  private readCost(path: FieldPath, v: unknown, routing: Routing | undefined): number | undefined {
    if (routing?.protocol === 'bgp' && routing.bgp?.costAs === 'prepend') {
      return this.int(path, v, { min: 0, max: 10, unit: 'AS-path prepends (routing.bgp.costAs is prepend)' });
    }
    if (routing?.protocol === 'bgp') return this.int(path, v, { min: 0, max: 4294967295 });
    // OSPF external metric: 1 .. 16777214 (16777215 means unreachable).
    return this.int(path, v, { min: 1, max: 16777214 });
  }

  private readSwitch(p: FieldPath, v: unknown, siteName: string, cost: number, index: number, service: Service | undefined, routing: Routing | undefined): Switch | undefined {
    const o = this.map(p, v, ['name', 'platform', 'slaBase', 'maxPaths', 'cefLoadSharing', 'nodes'], 'switch');
    if (!o) return undefined;
    const name = this.name([...p, 'name'], o.name);
    if (name !== undefined) this.seenSwitches.push({ name, path: p });
    const platform = this.oneOf([...p, 'platform'], o.platform, PLATFORMS);
    const range = TRACK_RANGE[platform ?? 'ios'];
    // Default blocks of 100 IDs in inventory order; set slaBase to keep IDs stable when switches move.
    const slaBase = this.int([...p, 'slaBase'], o.slaBase, { min: 1, max: SLA_ID_MAX }, 100 * (index + 1));
    const maxPaths = this.int([...p, 'maxPaths'], o.maxPaths, { min: 1, max: 64 }, routing?.maxPaths ?? DEFAULT_MAX_PATHS);
    const cefLoadSharing = this.bool([...p, 'cefLoadSharing'], o.cefLoadSharing, true);
    const nl = this.list([...p, 'nodes'], o.nodes, 'nodes');
    const nodes: Node[] = [];
    nl?.forEach((nv, ni) => {
      const np: FieldPath = [...p, 'nodes', ni];
      const n = this.map(np, nv, ['name', 'address', 'slaId'], 'node');
      if (!n) return;
      let nodeName = this.name([...np, 'name'], n.name);
      if (nodeName !== undefined && nodeName.length > SLA_TAG_MAX) {
        this.err([...np, 'name'], `"${nodeName}" has ${nodeName.length} characters; a node name is also its IP SLA tag, which holds at most ${SLA_TAG_MAX}`);
        nodeName = undefined;
      }
      const ipv6Why =
        platform === 'nx-os' && this.probeType === 'dns'
          ? "NX-OS's IP SLA DNS operation is IPv4 only; give the node an IPv4 address or use an http or tcp probe"
          : 'the anycast route is an IPv4 static route, so its next hop must be IPv4';
      const address = this.ipv4([...np, 'address'], n.address, ipv6Why);
      const slaId = this.int([...np, 'slaId'], n.slaId, { min: 1, max: SLA_ID_MAX }, slaBase === undefined ? undefined : slaBase + ni);
      if (slaId !== undefined && platform !== undefined && (slaId < range.min || slaId > range.max)) {
        const where: FieldPath = n.slaId !== undefined ? [...np, 'slaId'] : o.slaBase !== undefined ? [...p, 'slaBase'] : np;
        this.err(where, `SLA/track ID ${slaId} for node ${nodeName ?? ni} is outside the ${platform} track range ${range.min}-${range.max}; lower slaBase or set slaId`);
      }
      this.seenNodes.push({ name: nodeName, address, slaId, switchName: name, switchKey: fmt(p), path: np });
      if (nodeName !== undefined && address !== undefined && slaId !== undefined && name !== undefined) {
        nodes.push({ name: nodeName, address, slaId, switchName: name, siteName, path: np });
      }
    });
    if (nl && maxPaths !== undefined && nl.length > maxPaths) {
      this.err([...p, 'nodes'], `${nl.length} nodes, but at most ${maxPaths} equal-cost paths are installed per prefix (the CEF/ECMP limit); split them across switches, or set maxPaths if the platform really supports more`);
    }
    if (name === undefined || platform === undefined || slaBase === undefined || maxPaths === undefined) return undefined;
    return { name, platform, siteName, cost, slaBase, maxPaths, cefLoadSharing, nodes, path: p };
  }

  /** Rules that span the whole inventory: uniqueness, ID overlap, VIP vs node addresses. */
  private crossChecks(vip: string | undefined): void {
    const siteNames = new Map<string, FieldPath>();
    for (const s of this.seenSites) {
      const prev = siteNames.get(s.name);
      if (prev) this.err([...s.path, 'name'], `site name "${s.name}" is already used at ${fmt(prev)}`);
      else siteNames.set(s.name, s.path);
    }
    const switchNames = new Map<string, FieldPath>();
    for (const s of this.seenSwitches) {
      const prev = switchNames.get(s.name);
      if (prev) this.err([...s.path, 'name'], `switch name "${s.name}" is already used at ${fmt(prev)}`);
      else switchNames.set(s.name, s.path);
    }
    const nodeNames = new Map<string, SeenNode>();
    const addresses = new Map<string, SeenNode>();
    const ids = new Map<string, SeenNode>();
    for (const n of this.seenNodes) {
      if (n.name !== undefined) {
        const pn = nodeNames.get(n.name);
        if (pn) this.err([...n.path, 'name'], `node name "${n.name}" is already used at ${fmt(pn.path)}; node names must be unique across the inventory`);
        else nodeNames.set(n.name, n);
      }
      if (n.address !== undefined) {
        const pa = addresses.get(n.address);
        if (pa) this.err([...n.path, 'address'], `address ${n.address} is already used by node ${pa.name ?? fmt(pa.path)} (${fmt(pa.path)}); node addresses must be unique across the inventory`);
        else addresses.set(n.address, n);
        if (n.address === vip) {
          this.err([...n.path, 'address'], `address ${n.address} is the service VIP; a node needs its own address for the switch to route the VIP to`);
        }
      }
      // IOS numbers IP SLA operations and track objects per device: the same ID on two
      // switches is two different objects. Only a repeat on one switch is an error.
      if (n.slaId !== undefined) {
        const key = `${n.switchKey}#${n.slaId}`;
        const pi = ids.get(key);
        if (pi) {
          this.err([...n.path, 'slaId'], `SLA/track ID ${n.slaId} is used twice on switch ${n.switchName ?? '?'} (also by ${fmt(pi.path)})`);
        } else ids.set(key, n);
      }
    }
  }
}

interface SeenNode {
  name?: string;
  address?: string;
  slaId?: number;
  switchName?: string;
  /** Distinguishes switches even when a name is missing or duplicated. */
  switchKey: string;
  path: FieldPath;
}

function fmt(p: FieldPath): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
  return out;
}

export { ConfigError };
