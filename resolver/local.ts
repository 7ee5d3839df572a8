// Names the resolver answers itself, never asking upstream:
//  - CHAOS TXT id.server / hostname.bind: the node identity (which node answered?).
//    version.bind / version.server get REFUSED: a version string only helps attackers.
//  - the health probe name (cfg.probe.name): NOERROR with data while the node is
//    'healthy', REFUSED when 'refused', and NO reply when 'silent' (answer() returns
//    PROBE_SILENT, which the caller drops), so a switch's `ip sla ... dns` probe and
//    GET /health always agree. TTL 0: nobody may cache it.
//  - special-use and locally served zones, with unbound's defaults (RFC 6761, 6303,
//    7686, 8375): localhost answers 127.0.0.1 / ::1 for itself and every name below
//    it; the others answer NXDOMAIN (or NODATA at the apex) with a local SOA.
// (ANY outside these zones is answered from a CNAME resolution of the name: resolver/any.ts.)
// Only the miss path asks here: local answers are never put in the answer cache.

import { CLASS, RCODE, TYPE } from '../dns/constants.js';
import type { ResourceRecord } from '../dns/message.js';
import { lowerName, nameToWire, splitLabels } from '../dns/name.js';
import { encodeSoa, ipv4ToBytes, ipv6ToBytes } from '../dns/rdata.js';
import type { ProbeAnswerMode } from './api.js';
import type { AnswerInit } from './fastpath/entry.js';

const LOCAL_TTL = 10800;

function txtRdata(...strings: string[]): Buffer {
  return Buffer.concat(strings.map((s) => {
    const b = Buffer.from(s, 'utf8').subarray(0, 255);
    return Buffer.concat([Buffer.from([b.length]), b]);
  }));
}

const SOA_RDATA = encodeSoa({ mname: 'localhost', rname: 'nobody.invalid', serial: 1, refresh: 3600, retry: 1200, expire: 604800, minimum: 10800 });
const NS_RDATA = nameToWire('localhost');
const PTR_LOCALHOST = nameToWire('localhost');
const A_LOOPBACK = ipv4ToBytes('127.0.0.1');
const AAAA_LOOPBACK = ipv6ToBytes('::1');

const IP6_LOOPBACK_ZONE = '1' + '.0'.repeat(31) + '.ip6.arpa';
const IP6_UNSPECIFIED_ZONE = '0' + '.0'.repeat(31) + '.ip6.arpa';

/** unbound's default local zones (unbound.conf(5), "local-zone ... nodefault"). */
export const DEFAULT_LOCAL_ZONES: readonly string[] = [
  'localhost', '127.in-addr.arpa', IP6_LOOPBACK_ZONE, 'home.arpa', 'onion', 'test', 'invalid',
  // AS112 / RFC 6303: private, reserved and documentation reverse zones.
  '10.in-addr.arpa',
  ...Array.from({ length: 16 }, (_, i) => `${16 + i}.172.in-addr.arpa`),
  '168.192.in-addr.arpa', '0.in-addr.arpa', '254.169.in-addr.arpa',
  '2.0.192.in-addr.arpa', '100.51.198.in-addr.arpa', '113.0.203.in-addr.arpa', '255.255.255.255.in-addr.arpa',
  ...Array.from({ length: 64 }, (_, i) => `${64 + i}.100.in-addr.arpa`),
  IP6_UNSPECIFIED_ZONE, 'd.f.ip6.arpa', '8.e.f.ip6.arpa', '9.e.f.ip6.arpa', 'a.e.f.ip6.arpa', 'b.e.f.ip6.arpa',
  '8.b.d.0.1.0.0.2.ip6.arpa',
];

interface LocalZone {
  apex: string;
  /** localhost: every name below answers with the apex data (unbound "redirect"). */
  redirect: boolean;
  /** Lower-cased owner -> records (owner written as the apex or data name). */
  data: Map<string, ResourceRecord[]>;
}

function rr(name: string, type: number, rdata: Buffer, ttl = LOCAL_TTL, cls: number = CLASS.IN): ResourceRecord {
  return { name, type, class: cls, ttl, rdata };
}

function makeZone(apex: string): LocalZone {
  const data = new Map<string, ResourceRecord[]>();
  data.set(apex, [rr(apex, TYPE.NS, NS_RDATA), rr(apex, TYPE.SOA, SOA_RDATA)]);
  const z: LocalZone = { apex, redirect: false, data };
  if (apex === 'localhost') {
    z.redirect = true;
    data.get(apex)!.push(rr(apex, TYPE.A, A_LOOPBACK), rr(apex, TYPE.AAAA, AAAA_LOOPBACK));
  } else if (apex === '127.in-addr.arpa') {
    data.set('1.0.0.127.in-addr.arpa', [rr('1.0.0.127.in-addr.arpa', TYPE.PTR, PTR_LOCALHOST)]);
  } else if (apex === IP6_LOOPBACK_ZONE) {
    data.get(apex)!.push(rr(apex, TYPE.PTR, PTR_LOCALHOST));
  }
  return z;
}

export interface LocalConfig {
  identity: string;
  /** Probe name, presentation form; '' disables it. */
  probeName: string;
  /** Default zones to leave out (answered by recursion instead). */
  nodefault?: readonly string[];
}

/**
 * Returned by LocalAnswers.answer() for the probe name in 'silent' mode: the caller must send
 * nothing. Compared by identity; never delivered.
 */
export const PROBE_SILENT: AnswerInit = Object.freeze({ name: '', type: 0, class: 0, rcode: RCODE.REFUSED, aa: false, answers: [], authority: [], additional: [] }) as AnswerInit;

/** Lower-case TLDs under which some local zone lives: a cheap first filter on the miss path. */
export class LocalAnswers {
  probeMode: ProbeAnswerMode = 'healthy';
  /** Warm start in progress: the probe name gets REFUSED with EDE 14 "Not Ready" and the text "warming". */
  warming = false;
  private readonly zones = new Map<string, LocalZone>();
  private readonly tlds = new Set<string>();
  private readonly probeName: string;
  private readonly identity: string;
  private readonly identityTxt: Buffer;

  constructor(cfg: LocalConfig) {
    this.identity = cfg.identity;
    this.identityTxt = txtRdata(cfg.identity);
    this.probeName = lowerName(cfg.probeName);
    const off = new Set((cfg.nodefault ?? []).map((z) => lowerName(z)));
    for (const apex of DEFAULT_LOCAL_ZONES) {
      if (off.has(apex)) continue;
      this.zones.set(apex, makeZone(apex));
      const labels = splitLabels(apex);
      this.tlds.add(labels[labels.length - 1]);
    }
  }

  /** True for the health probe name (lower-cased). Probes may come from outside --allow. */
  isProbe(lower: string): boolean {
    return this.probeName !== '' && lower === this.probeName;
  }

  /**
   * The local answer for a question, or null when it must be resolved.
   * `name` is the question as asked; `lower` its lower-cased form.
   */
  answer(name: string, lower: string, qtype: number, qclass: number): AnswerInit | null {
    if (qclass === CLASS.CH) return this.chaos(name, lower, qtype);
    if (qclass !== CLASS.IN) return refused(name, qtype, qclass);
    if (this.probeName !== '' && lower === this.probeName) return this.probe(name, qtype);
    const dot = lower.lastIndexOf('.');
    const tld = dot < 0 ? lower : lower.slice(dot + 1);
    if (this.tlds.has(tld)) {
      const z = this.findZone(lower);
      if (z) return answerFromZone(z, name, lower, qtype);
    }
    return null;
  }

  private findZone(lower: string): LocalZone | undefined {
    let n = lower;
    for (;;) {
      const z = this.zones.get(n);
      if (z) return z;
      const dot = n.indexOf('.');
      if (dot < 0) return undefined;
      n = n.slice(dot + 1);
    }
  }

  private chaos(name: string, lower: string, qtype: number): AnswerInit {
    if ((lower === 'id.server' || lower === 'hostname.bind') && (qtype === TYPE.TXT || qtype === TYPE.ANY)) {
      return base(name, qtype, CLASS.CH, RCODE.NOERROR, { answers: [rr(name, TYPE.TXT, this.identityTxt, 0, CLASS.CH)] });
    }
    return refused(name, qtype, CLASS.CH);
  }

  private probe(name: string, qtype: number): AnswerInit {
    if (this.probeMode === 'silent') return PROBE_SILENT;
    if (this.warming) return { ...refused(name, qtype, CLASS.IN), ede: { code: 14, text: 'warming' } };
    if (this.probeMode !== 'healthy') return refused(name, qtype, CLASS.IN);
    const answers: ResourceRecord[] = [];
    if (qtype === TYPE.A) answers.push(rr(name, TYPE.A, A_LOOPBACK, 0));
    else if (qtype === TYPE.AAAA) answers.push(rr(name, TYPE.AAAA, AAAA_LOOPBACK, 0));
    else if (qtype === TYPE.TXT || qtype === TYPE.ANY) answers.push(rr(name, TYPE.TXT, txtRdata('healthy', this.identity), 0));
    return base(name, qtype, CLASS.IN, RCODE.NOERROR, { answers, aa: true });
  }
}

function base(name: string, qtype: number, qclass: number, rcode: number, parts: Partial<Pick<AnswerInit, 'answers' | 'authority' | 'aa'>>): AnswerInit {
  return { name, type: qtype, class: qclass, rcode, aa: parts.aa ?? false, answers: parts.answers ?? [], authority: parts.authority ?? [], additional: [] };
}

function refused(name: string, qtype: number, qclass: number): AnswerInit {
  return base(name, qtype, qclass, RCODE.REFUSED, {});
}

function answerFromZone(z: LocalZone, name: string, lower: string, qtype: number): AnswerInit {
  const apexData = z.data.get(z.apex)!;
  const soa = apexData.find((r) => r.type === TYPE.SOA)!;
  let records = z.data.get(lower);
  // Owner names in the answer follow the question as asked (letter case included).
  const owner = name;
  if (!records && z.redirect) records = apexData;
  if (!records) {
    // An empty non-terminal above local data is NODATA, anything else NXDOMAIN.
    let ent = false;
    for (const k of z.data.keys()) if (k.endsWith('.' + lower)) ent = true;
    return base(name, qtype, CLASS.IN, ent ? RCODE.NOERROR : RCODE.NXDOMAIN, { authority: [soa], aa: true });
  }
  const match = records.filter((r) => qtype === TYPE.ANY || r.type === qtype);
  if (match.length === 0) return base(name, qtype, CLASS.IN, RCODE.NOERROR, { authority: [soa], aa: true });
  return base(name, qtype, CLASS.IN, RCODE.NOERROR, { answers: match.map((r) => ({ ...r, name: owner })), aa: true });
}
