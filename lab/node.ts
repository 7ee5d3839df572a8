// The lab node: the mini-internet (startLab) plus a full node (resolver, health
// endpoint, metrics, SNMP) recursing through it. `anycast-kit lab` is a thin shell
// around startLabNode(); tests and benches can call it directly.

import type { HostPort } from '../healthcheck/index.js';
import { DEFAULT_BASE_OID, resolveSections } from '../healthcheck/index.js';
import { startNode, type NodeHandle } from '../node/index.js';
import { TYPE } from '../dns/constants.js';
import { defaultResolverConfig, type ResolverConfig } from '../resolver/config.js';
import { startLab, type Lab, type LabOptions } from './index.js';

export interface LabNodeOptions {
  /** Where the resolver serves clients (default 127.0.0.1:5353). */
  listen?: HostPort[];
  /** Health endpoint, with /metrics on the same listener (default 127.0.0.1:8053). */
  health?: HostPort;
  /** SNMP agent, v2c read-only (default off). */
  snmp?: { listen: HostPort; community: string };
  identity?: string;
  lab?: LabOptions;
  log?: (line: string) => void;
}

export interface LabNode {
  lab: Lab;
  node: NodeHandle;
  listen: HostPort[];
  health: HostPort;
  snmp?: { listen: HostPort; community: string };
  identity: string;
  /** Commands to try, each with what it shows. */
  tryCommands(): Array<{ command: string; shows: string }>;
  stop(): Promise<void>;
}

export const DEFAULT_LISTEN: HostPort = { host: '127.0.0.1', port: 5353 };
export const DEFAULT_HEALTH: HostPort = { host: '127.0.0.1', port: 8053 };
export const DEFAULT_IDENTITY = 'lab-node';
/** Where `anycast-kit lab` runs the SNMP agent unless told otherwise. */
export const DEFAULT_SNMP: HostPort = { host: '127.0.0.1', port: 8161 };

const hostText = (h: string) => (h.includes(':') ? `[${h}]` : h);

/** The resolver's settings for the lab: lab root hints, lab port, loopback upstreams allowed. */
export function labResolverConfig(lab: Lab, listen: HostPort[], identity: string): ResolverConfig {
  const cfg = defaultResolverConfig();
  cfg.listen = listen.map((l) => ({ host: l.host, port: l.port }));
  cfg.rootHintsFile = lab.rootHintsFile;
  cfg.upstream.port = lab.upstreamPort;
  cfg.upstream.queryLocalhost = true;
  cfg.identity = identity;
  // DNSSEC validation (on by default) from the lab root's trust anchor (fresh keys at every
  // start). A lab served unsigned (lab.yaml dnssec: false) has no anchor: validation is off,
  // as the built-in root anchors would make every lab answer bogus.
  cfg.validator = lab.trustAnchorFile
    ? { ...cfg.validator!, enabled: true, trustAnchorFiles: [lab.trustAnchorFile] }
    : { ...cfg.validator!, enabled: false };
  return cfg;
}

export async function startLabNode(opts: LabNodeOptions = {}): Promise<LabNode> {
  const listen = opts.listen?.length ? opts.listen : [DEFAULT_LISTEN];
  const health = opts.health ?? DEFAULT_HEALTH;
  const identity = opts.identity ?? DEFAULT_IDENTITY;
  const lab = await startLab(opts.lab);
  let node: NodeHandle;
  try {
    const sections = resolveSections({
      health: {
        listen: health,
        // A canary through the wildcard: a fresh name every time, so it really recurses.
        canaries: [{ name: 'wild.example.lab', type: TYPE.A, nonce: true }],
      },
      snmp: opts.snmp ? { listen: opts.snmp.listen, communities: [opts.snmp.community] } : {},
      metrics: { enabled: true },
    });
    node = await startNode({ resolver: labResolverConfig(lab, listen, identity), ...sections }, { log: opts.log });
  } catch (err) {
    await lab.stop();
    throw err;
  }
  // The bound address, not the asked one: --listen 127.0.0.1:0 gets a real port here.
  const bound = node.resolver.listening[0];
  const dig = `dig @${bound.address} -p ${bound.port}`;
  const http = `http://${hostText(node.http.address)}:${node.http.port}`;
  const auth = lab.servers.find((s) => s.name === 'ns1.example.lab') ?? lab.servers[0];
  let stopped: Promise<void> | undefined;
  return {
    lab, node, listen, health, snmp: opts.snmp, identity,
    tryCommands: () => [
      { command: `${dig} www.example.lab`, shows: 'an A record from a sample zone (add AAAA for IPv6)' },
      { command: `${dig} +dnssec www.example.lab`, shows: 'the signed lab: RRSIGs, and the ad flag once the answer is validated' },
      { command: `${dig} www.badsig.lab`, shows: 'a zone signed wrongly on purpose: SERVFAIL from a validating resolver (+cd shows the data)' },
      { command: `${dig} alias.example.lab`, shows: 'a CNAME chain across three zones, through a glueless delegation' },
      { command: `${dig} nope.example.lab`, shows: 'NXDOMAIN, with the SOA that says how long to cache it' },
      { command: `${dig} b.ent.example.lab`, shows: 'NODATA: an empty non-terminal exists but holds nothing' },
      { command: `${dig} anything.wild.example.lab`, shows: 'an answer synthesised from a wildcard' },
      { command: `${dig} example.lab MX`, shows: 'MX (also try _sip._udp.example.lab SRV, example.lab TXT)' },
      { command: `${dig} unknown.example.lab TYPE65280`, shows: 'a type nobody here knows, passed through (RFC 3597)' },
      { command: `${dig} big.example.lab TXT`, shows: 'too big for UDP: TC=1, then dig retries over TCP' },
      { command: `${dig} id.server CH TXT`, shows: 'which node answered (its identity)' },
      { command: `dig @${auth.address} -p ${lab.upstreamPort} www.example.lab`, shows: 'ask a lab authoritative server directly (note the aa flag)' },
      { command: `curl ${http}/health`, shows: 'the health endpoint a switch\'s IP SLA polls' },
      { command: `curl ${http}/metrics`, shows: 'Prometheus metrics' },
      ...(opts.snmp ? [{ command: `snmpwalk -v2c -c ${opts.snmp.community} ${hostText(opts.snmp.listen.host)}:${opts.snmp.listen.port} ${DEFAULT_BASE_OID}`, shows: 'the same figures over SNMP' }] : []),
    ],
    stop() {
      stopped ??= (async () => {
        try { await node.close(); } finally { await lab.stop(); }
      })();
      return stopped;
    },
  };
}
