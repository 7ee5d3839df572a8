// Delegation points: the zone a resolution is currently asking, its servers, and
// what this resolution has tried there (as unbound's iter_delegpt.c). A
// DelegationPoint is made from a cached delegation, a referral or the root hints,
// belongs to one resolution, and is left (its queries cancelled) when the
// resolution moves on. Address selection lives here too: which server of the
// delegation is asked next.

import { TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, parentName } from '../../dns/name.js';
import { bytesToIpv6 } from '../../dns/rdata.js';
import type { Delegation, RRsetCache } from '../cache/rrset-cache.js';
import type { InfraCache } from '../selection/infra.js';
import type { Canceller, UpstreamOutcome } from '../transport/upstream.js';
import type { RootHints } from './roothints.js';

/** Sends to one address within one delegation (RTO doubling each time) before it is given up on. */
export const MAX_TRIES_PER_ADDRESS = 4;

/** A delegation point being worked on: the zone, its servers, and what this resolution tried. */
export interface DelegationPoint {
  zone: string;
  nsNames: string[];
  addresses: Map<string, string[]>;
  /** NS names whose address lookup has been started. */
  lookedUp: Set<string>;
  /** Sends per address in this delegation. */
  tries: Map<string, number>;
  /** Addresses that refused EDNS: retry them once without it. */
  noEdnsRetry: Set<string>;
  /** Queries sent and not yet settled: the newest within its RTO, older ones lingering. */
  sent: SentQuery[];
  /** The query still within its RTO, if any (the next one waits for it). */
  current: SentQuery | undefined;
  /** Cancels this delegation's queries once the resolution moves on. */
  abort: Canceller | undefined;
  /** The parent side's addresses have been added (last resort, once). */
  parentSideAdded: boolean;
  /**
   * Servers that answered as recursive servers (RA, no AA), in order: once nothing
   * else is left, each is asked once more with RD=1 and its answer taken (as
   * unbound does with servers it marked rec-lame).
   */
  recLame?: string[];
  /** Set when the servers are forwarders (resolver/forward/): asked with RD=1 on their own ports. */
  forward?: { zone: { zone: string; first: boolean }; ports: Map<string, number> };
}

/** The question put to a server (today always the resolution's own; see Iterator.questionFor). */
export interface AskedQuestion {
  name: string;
  type: number;
  class: number;
}

/** One upstream query sent to a server of a delegation point. */
export interface SentQuery {
  address: string;
  asked: AskedQuestion;
  edns: boolean;
  rtoMs: number;
  timeoutMs: number;
  sentAtMs: number;
  /** Past its RTO: only listening for a late answer. */
  lingering: boolean;
  /** Sent with RD=1 (forwarders, and the recursion-lame last resort). */
  rd: boolean;
  promise: Promise<UpstreamOutcome>;
}

export function toDelegationPoint(d: Delegation): DelegationPoint {
  return {
    zone: d.zone, nsNames: d.nsNames, addresses: d.addresses, lookedUp: new Set(), tries: new Map(), noEdnsRetry: new Set(),
    sent: [], current: undefined, abort: undefined, parentSideAdded: false,
  };
}

/**
 * Last resort, once per delegation point (as unbound's processLastResort), for when
 * the child side's addresses for its servers all fail or are missing: adds the
 * parent side's addresses (RRsetCache.putParentSide) the point does not have yet:
 * the glue of this very delegation, and for each server name the glue its own
 * zone's delegation carried (what the parent of the server's zone says about where
 * the server is; never sibling glue given with some other delegation). True if it
 * added any.
 */
export function addParentSideAddresses(dp: DelegationPoint, cache: RRsetCache, cls: number): boolean {
  if (dp.parentSideAdded) return false;
  dp.parentSideAdded = true;
  let added = false;
  for (const n of dp.nsNames) {
    const list = dp.addresses.get(n) ?? [];
    const zones = [dp.zone];
    for (let z = parentName(n); z !== null; z = parentName(z)) if (z !== dp.zone) zones.push(z);
    for (const z of zones) {
      for (const ip of cache.parentSideAddresses(z, n, cls)) {
        if (!list.includes(ip)) { list.push(ip); added = true; }
      }
    }
    if (list.length) dp.addresses.set(n, list);
  }
  return added;
}

/**
 * The root delegation from a cached root NS set whose servers have no address:
 * the hints' addresses for the names they share, else the hints as they are.
 */
export function rootDelegation(cached: Delegation, h: RootHints): Delegation {
  const d: Delegation = { zone: '', nsNames: [...cached.nsNames], addresses: new Map(cached.addresses) };
  for (const n of d.nsNames) {
    if (d.addresses.has(n)) continue;
    const ips = h.addresses.get(n);
    if (ips?.length) d.addresses.set(n, [...ips]);
  }
  return d.addresses.size > 0 ? d : hintsDelegation(h);
}

/** The root hints as a delegation (a copy: a delegation point fills its maps in). */
export function hintsDelegation(h: RootHints): Delegation {
  return { zone: '', nsNames: [...h.nsNames], addresses: new Map([...h.addresses].map(([k, v]) => [k, [...v]])) };
}

/**
 * The delegation point of a referral: the cached delegation for its NS set `d`,
 * plus the glue of this very response, which counts even if its TTL kept it out of
 * the cache.
 */
export function referralDelegationPoint(d: Delegation, glue: ResourceRecord[]): DelegationPoint {
  for (const g of glue) {
    const name = lowerName(g.name);
    const ip = addressText(g.type, g.rdata);
    if (!ip) continue;
    const list = d.addresses.get(name) ?? [];
    if (!list.includes(ip)) list.push(ip);
    d.addresses.set(name, list);
  }
  return toDelegationPoint(d);
}

/** A cut is usable if it has an address, or an NS name that can be looked up outside it. */
export function usableDelegation(d: Delegation): boolean {
  if (d.addresses.size > 0) return true;
  return d.nsNames.some((n) => !isSubdomain(n, d.zone));
}

/** NS names of the delegation with no address whose lookup has not been started. */
export function unresolvedNames(dp: DelegationPoint): string[] {
  return dp.nsNames.filter((n) => !dp.addresses.has(n) && !dp.lookedUp.has(n));
}

export function hasUnresolvedNames(dp: DelegationPoint): boolean {
  return dp.nsNames.some((n) => !dp.addresses.has(n) && !dp.lookedUp.has(n));
}

/**
 * Chooses the next address of the delegation by the infra cache (RTT, lameness,
 * dead servers): untried ones first; with `retries`, then one that has had fewer
 * than MAX_TRIES_PER_ADDRESS sends. Addresses of a family not in use are skipped.
 */
export function selectAddress(dp: DelegationPoint, infra: InfraCache, retries: boolean, families: { v4: boolean; v6: boolean } = { v4: true, v6: true }): string | undefined {
  const all = delegationAddresses(dp, families);
  const fresh = all.filter((a) => !dp.tries.has(a));
  const first = infra.select(fresh, dp.zone);
  if (first !== undefined || !retries) return first;
  const again = all.filter((a) => (dp.tries.get(a) ?? 0) < MAX_TRIES_PER_ADDRESS);
  return infra.select(again, dp.zone);
}

/** Every distinct server address of the delegation point, of the families in use. */
export function delegationAddresses(dp: DelegationPoint, families: { v4: boolean; v6: boolean } = { v4: true, v6: true }): string[] {
  const all: string[] = [];
  for (const n of dp.nsNames) {
    for (const a of dp.addresses.get(n) ?? []) {
      if (all.includes(a)) continue;
      if (a.includes(':') ? !families.v6 : !families.v4) continue;
      all.push(a);
    }
  }
  return all;
}

/** Leaves a delegation point: its queries still listening are cancelled. */
export function leave(dp: DelegationPoint | undefined): void {
  if (dp?.abort && dp.sent.length) dp.abort.abort();
}

/** The text form of an A or AAAA rdata; undefined for anything else or a bad length. */
export function addressText(type: number, b: Buffer): string | undefined {
  if (type === TYPE.A) return b.length === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : undefined;
  if (type === TYPE.AAAA) return b.length === 16 ? bytesToIpv6(b) : undefined;
  return undefined;
}
