// Normalising two resolvers' answers so they can be compared: answer and SOA
// authority as sets of RRs (owner names and names inside rdata lower-cased, TTL
// dropped), rcode and the flags a stub cares about. What is left out on purpose:
//   - TTLs (checked by the TTL tests instead),
//   - the additional section and NS records in authority: unbound runs with
//     minimal-responses (its default), our resolver answers minimally by design;
//     neither belongs to what the client asked,
//   - RR order (unbound's rrset-roundrobin shuffles it).

import { className, FLAG, rcodeName, TYPE, typeName } from '../../../dns/constants.js';
import type { Message, ResourceRecord } from '../../../dns/message.js';
import { lowerName } from '../../../dns/name.js';
import { decodeSoa, rdataToText } from '../../../dns/rdata.js';
import { query, queryWithTcpFallback, type QueryOptions, type Reply } from '../../../bench/harness/client.js';

const NAME_RDATA = new Set<number>([TYPE.NS, TYPE.CNAME, TYPE.PTR, TYPE.DNAME, TYPE.MX, TYPE.SRV, TYPE.SOA]);

export function rrText(r: ResourceRecord): string {
  const data = rdataToText(r.type, r.rdata);
  return `${lowerName(r.name) || '.'} ${className(r.class)} ${typeName(r.type)} ${NAME_RDATA.has(r.type) ? data.toLowerCase() : data}`;
}

export interface Normal {
  rcode: string;
  aa: boolean;
  ra: boolean;
  tc: boolean;
  /** An OPT record in the reply (RFC 6891: present whenever the query had one). */
  edns: boolean;
  answer: string[];
  /** SOA records of the authority section (negative answers). */
  soa: string[];
}

export function normalise(m: Message): Normal {
  return {
    rcode: rcodeName(m.rcode),
    aa: (m.flags & FLAG.AA) !== 0,
    ra: (m.flags & FLAG.RA) !== 0,
    tc: (m.flags & FLAG.TC) !== 0,
    edns: m.edns !== undefined,
    answer: m.answers.map(rrText).sort(),
    soa: m.authority.filter((r) => r.type === TYPE.SOA).map(rrText).sort(),
  };
}

/** The negative-caching TTL RFC 2308 allows for an SOA: min(SOA TTL, SOA MINIMUM). */
export function soaNegativeTtl(r: ResourceRecord): number {
  return Math.min(r.ttl, decodeSoa(r.rdata).minimum);
}

export interface Target {
  name: 'unbound' | 'ours';
  address: string;
  port: number;
}

/** Asks a resolver like a stub does (UDP, then TCP on TC) from the given client address. */
export function ask(t: Target, name: string, type: number, o: Partial<QueryOptions> = {}): Promise<Reply> {
  return queryWithTcpFallback(name, type, { server: t.address, port: t.port, timeoutMs: 6000, ...o });
}

export function askOnce(t: Target, name: string, type: number, o: Partial<QueryOptions> = {}): Promise<Reply> {
  return query(name, type, { server: t.address, port: t.port, timeoutMs: 6000, ...o });
}

export interface Outcome {
  case: string;
  agree: boolean;
  unbound: string;
  ours: string;
  note?: string;
}

export function describe1(n: Normal | string): string {
  if (typeof n === 'string') return n;
  const flags = [n.aa ? 'aa' : '', n.ra ? 'ra' : '', n.tc ? 'tc' : '', n.edns ? 'edns' : ''].filter(Boolean).join(',');
  return `${n.rcode} [${flags}] ${n.answer.length ? n.answer.join(' | ') : '-'}${n.soa.length ? ' ; soa ' + n.soa.map((s) => s.split(' ')[0]).join(',') : ''}`;
}

/** Collects per-case outcomes and prints one table at the end of a file. */
export class Scoreboard {
  readonly outcomes: Outcome[] = [];
  constructor(private readonly title: string) {}
  record(o: Outcome): void { this.outcomes.push(o); }
  print(): void {
    const agree = this.outcomes.filter((o) => o.agree).length;
    const lines = [`== ${this.title}: ${agree}/${this.outcomes.length} cases agree with unbound`];
    for (const o of this.outcomes) {
      lines.push(`${o.agree ? 'AGREE   ' : 'DISAGREE'} ${o.case}${o.note ? ` (${o.note})` : ''}`);
      if (!o.agree || process.env.INTEROP_VERBOSE) lines.push(`    unbound: ${o.unbound}\n    ours:    ${o.ours}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  }
}
