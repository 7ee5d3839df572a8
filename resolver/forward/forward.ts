// Forward zones (as unbound's forward-zone): questions for names at or under a
// configured zone go to that zone's forwarders, recursive servers asked with RD=1,
// instead of being resolved from the root. The iterator asks `ForwardTable.match`
// when it looks for a zone cut; a match becomes a delegation point whose servers
// are the forwarders (forwardDelegationPoint). Answers from a forwarder are taken
// as answers: a recursive server sets RA and not AA, which from an authoritative
// server would mean "lame" (forwardedView).
//
// With `forward_first`, a zone whose forwarders all fail is resolved from the root
// instead (the iterator retries once without forwarding).

import { isIP } from 'node:net';
import { FLAG } from '../../dns/constants.js';
import type { Message } from '../../dns/message.js';
import { isSubdomain, lowerName, normalizeName } from '../../dns/name.js';
import type { FieldPath, YamlSource } from '../../common/yaml-source.js';
import type { DelegationPoint } from '../iterator/delegpt.js';

export interface ForwardAddress {
  host: string;
  port: number;
}

export interface ForwardZone {
  /** Zone name, presentation form without trailing dot, lower case ("" = the root: forward everything). */
  zone: string;
  addresses: ForwardAddress[];
  /** Resolve from the root when every forwarder fails (unbound's forward-first). */
  first: boolean;
}

/** Parses "ADDR" or "ADDR@PORT" (unbound's forward-addr syntax; IPv6 without brackets). Throws a plain message. */
export function parseForwardAddress(text: string): ForwardAddress {
  const at = text.lastIndexOf('@');
  const host = at < 0 ? text.trim() : text.slice(0, at).trim();
  const portText = at < 0 ? '53' : text.slice(at + 1).trim();
  if (!isIP(host)) throw new Error(`"${text}" is not an IP address (ADDR or ADDR@PORT; names are not resolved here)`);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new Error(`"${text}": port must be 1-65535`);
  return { host, port };
}

const ZONE_KEYS = ['zone', 'addresses', 'forward_first'] as const;

/**
 * Reads `forward_zones:` of the resolver section: a list of
 * `{ zone: NAME, addresses: [ADDR or ADDR@PORT, ...], forward_first: BOOL }`.
 * Problems go to `src` as FILE:LINE: FIELD: message.
 */
export function readForwardZones(src: YamlSource, value: unknown, path: FieldPath): ForwardZone[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) { src.error(path, 'must be a list of { zone, addresses, forward_first }'); return undefined; }
  const out: ForwardZone[] = [];
  const seen = new Set<string>();
  value.forEach((item: unknown, i) => {
    const p = [...path, i];
    if (typeof item !== 'object' || item === null || Array.isArray(item)) { src.error(p, 'must be a mapping { zone, addresses, forward_first }'); return; }
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!(ZONE_KEYS as readonly string[]).includes(k)) src.error([...p, k], `unknown key (known: ${ZONE_KEYS.join(', ')})`);
    let zone: string | undefined;
    if (typeof o.zone !== 'string' || o.zone === '') src.error([...p, 'zone'], 'must be a domain name, such as corp.example or "." for every name');
    else {
      try { zone = lowerName(normalizeName(o.zone)); } catch (e) { src.error([...p, 'zone'], `not a domain name: ${(e as Error).message}`); }
    }
    if (zone !== undefined && seen.has(zone)) src.error([...p, 'zone'], `zone ${o.zone} is listed twice`);
    if (zone !== undefined) seen.add(zone);
    const addrs = typeof o.addresses === 'string' ? [o.addresses] : o.addresses;
    const addresses: ForwardAddress[] = [];
    if (!Array.isArray(addrs) || addrs.length === 0) src.error([...p, 'addresses'], 'must be a non-empty list of ADDR or ADDR@PORT');
    else addrs.forEach((a: unknown, j) => {
      if (typeof a !== 'string') { src.error([...p, 'addresses', j], `must be a string, got ${JSON.stringify(a)}`); return; }
      try { addresses.push(parseForwardAddress(a)); } catch (e) { src.error([...p, 'addresses', j], (e as Error).message); }
    });
    if (o.forward_first !== undefined && typeof o.forward_first !== 'boolean') src.error([...p, 'forward_first'], `must be true or false, got ${JSON.stringify(o.forward_first)}`);
    if (zone !== undefined && addresses.length) out.push({ zone, addresses, first: o.forward_first === true });
  });
  return out;
}

/** The forward zones, longest match first. */
export class ForwardTable {
  private readonly zones: ForwardZone[];

  constructor(zones: readonly ForwardZone[]) {
    this.zones = [...zones].sort((a, b) => b.zone.length - a.zone.length);
  }

  get size(): number {
    return this.zones.length;
  }

  /** The closest forward zone at or above NAME, if any. */
  match(name: string): ForwardZone | undefined {
    if (this.zones.length === 0) return undefined;
    for (const z of this.zones) if (isSubdomain(name, z.zone)) return z;
    return undefined;
  }
}

/** What the iterator keeps on a delegation point made of forwarders. */
export interface ForwardingState {
  zone: ForwardZone;
  /** Port per forwarder address. */
  ports: Map<string, number>;
}

/** A delegation point whose "servers" are the zone's forwarders (each its own pseudo NS name, so selection works as usual). */
export function forwardDelegationPoint(z: ForwardZone): DelegationPoint {
  const addresses = new Map<string, string[]>();
  const ports = new Map<string, number>();
  for (const a of z.addresses) {
    const key = `forwarder ${a.host}@${a.port}`;
    addresses.set(key, [...(addresses.get(key) ?? []), a.host]);
    ports.set(a.host, a.port);
  }
  return {
    zone: z.zone, nsNames: [...addresses.keys()], addresses, lookedUp: new Set(addresses.keys()), tries: new Map(), noEdnsRetry: new Set(),
    sent: [], current: undefined, abort: undefined, parentSideAdded: true, forward: { zone: z, ports },
  };
}

/**
 * A forwarder's reply as the iterator should judge it: a recursive server's answer
 * (RA, no AA) counts as authoritative data for the forward zone, never as lameness.
 */
export function forwardedView(msg: Message): Message {
  return { ...msg, flags: (msg.flags | FLAG.AA) & ~FLAG.RA };
}
