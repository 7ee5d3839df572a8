// Shared set-up for iterator scenario tests.

import { defaultValidatorSettings, type ResolverConfig } from '../../resolver/config.js';
import type { RootHints } from '../../resolver/iterator/roothints.js';
import { rdataToText } from '../../dns/rdata.js';
import { typeName } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';

export function testConfig(port: number, upstream: Partial<ResolverConfig['upstream']> = {}, cache: Partial<ResolverConfig['cache']> = {}): ResolverConfig {
  return {
    listen: [],
    allow: ['127.0.0.0/8'],
    workers: 1,
    identity: 'test',
    cache: { maxBytes: 8 << 20, minTtl: 0, maxTtl: 86400, maxNegativeTtl: 3600, servfailTtl: 5, ...cache },
    upstream: {
      port, ednsUdpSize: 1232, timeoutMs: 1500, resolutionTimeoutMs: 4000, maxQueriesPerResolution: 64,
      maxCnameChain: 12, maxReferrals: 30, queryLocalhost: true, qnameMinimisation: 'off', use0x20: false, hardenGlue: true, ipv4: true, ipv6: true, ...upstream,
    },
    probe: { name: '' },
    // Scripted, unsigned private roots: DNSSEC validation (on by default) is off here.
    validator: { ...defaultValidatorSettings(), enabled: false },
  };
}

/** Root hints pointing at scripted root servers. */
export function hints(servers: Array<[string, string]>): RootHints {
  return {
    nsNames: servers.map(([n]) => n),
    addresses: new Map(servers.map(([n, ip]) => [n, [ip]])),
    ttl: 3600000,
  };
}

/** "owner TTL TYPE rdata" lines, for readable assertions. */
export function lines(rrs: ResourceRecord[]): string[] {
  return rrs.map((r) => `${r.name} ${r.ttl} ${typeName(r.type)} ${rdataToText(r.type, r.rdata)}`);
}

/** Same without TTLs. */
export function rdatas(rrs: ResourceRecord[]): string[] {
  return rrs.map((r) => `${r.name.toLowerCase()} ${typeName(r.type)} ${rdataToText(r.type, r.rdata)}`);
}

/** A clock the test moves by hand (ms), never 0. */
export function manualClock(startMs = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}
