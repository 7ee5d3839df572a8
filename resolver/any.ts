// Questions of type ANY (RFC 8482), answered from an ordinary CNAME resolution of the name.
//
// Passing ANY on (unbound's default) returns whatever the authority or the cache
// happens to hold, up to every RRset of the name: a reflection amplifier, and not
// even a complete answer. Answering every ANY with a synthesised HINFO without
// looking (what this resolver did before, and CoreDNS's `any` plugin does) claims
// that names exist which do not, and hides a CNAME, which is the one thing the
// clients that still ask ANY (qmail, for one) want to see. RFC 8482 section 4.2
// allows the synthesised HINFO "if there is no CNAME present at the owner name".
//
// So the name is resolved for type CNAME, which says all that is needed, and is
// never followed, so a CNAME that loops or leads to a dead zone is still seen:
//   - a CNAME at the name (its own, or one synthesised from a DNAME above it): that
//     RRset, with the DNAME it came from: ANY matches the CNAME itself (RFC 1034
//     section 4.3.2);
//   - the name does not exist: NXDOMAIN, with the negative answer and its proof (a
//     denial of the name holds for every type);
//   - the name exists without a CNAME (NODATA): one HINFO "RFC8482" "" (section 4.2),
//     never marked authentic: nobody signed it;
//   - the resolution failed (SERVFAIL, REFUSED): that failure.
// The reply is one small RRset at most, so ANY cannot be used for amplification, and
// a flood of ANY questions costs what the same flood of CNAME questions costs (cached
// resolutions, under the same per-zone limits). Local zones (resolver/local.ts)
// answer ANY from their own data before this is reached.

import { RCODE, TYPE } from '../dns/constants.js';
import type { ResourceRecord } from '../dns/message.js';
import { nameEquals } from '../dns/name.js';
import type { Resolution, ResolveRequest, ResolveResult } from './iterator/types.js';

/** TTL of the synthesised HINFO at most (it is also held to the negative answer's TTL). */
export const ANY_HINFO_TTL = 3600;

/** HINFO rdata: CPU "RFC8482", OS "" (RFC 8482 section 4.2). */
const HINFO_RFC8482 = Buffer.from('\x07RFC8482\x00', 'latin1');

/** `inner`'s resolve, with ANY questions answered as above; every other question goes straight through. */
export function minimalAny(inner: Resolution): (req: ResolveRequest) => Promise<ResolveResult> {
  return (req) => (req.type === TYPE.ANY
    ? inner.resolve({ ...req, type: TYPE.CNAME }).then((res) => anyFromCname(req.name, req.class, res))
    : inner.resolve(req));
}

/** The answer to `name` ANY, from the result of resolving `name` CNAME. */
export function anyFromCname(name: string, cls: number, res: ResolveResult): ResolveResult {
  // The CNAME owned by the name, and the records before it (the DNAME that made it).
  const at = res.answers.findIndex((r) => r.type === TYPE.CNAME && nameEquals(r.name, name));
  if (at >= 0) {
    let end = at + 1;
    // Its RRSIGs (DO clients get each RRset's signatures right after it).
    while (end < res.answers.length && isSigOf(res.answers[end], name, TYPE.CNAME)) end++;
    const answers = res.answers.slice(0, end);
    const ttl = Math.min(res.cacheTtl, ...answers.map((r) => r.ttl));
    return withoutChainFields({ ...res, rcode: RCODE.NOERROR, answers, authority: [], additional: [], cacheTtl: ttl });
  }
  if (res.rcode === RCODE.NXDOMAIN) return withoutChainFields({ ...res, answers: [], additional: [] });
  if (res.rcode !== RCODE.NOERROR) return withoutChainFields({ ...res, answers: [], authority: [], additional: [] });
  const ttl = Math.max(0, Math.min(ANY_HINFO_TTL, res.cacheTtl));
  const hinfo: ResourceRecord = { name, type: TYPE.HINFO, class: cls, ttl, rdata: HINFO_RFC8482 };
  return { rcode: RCODE.NOERROR, answers: [hinfo], authority: [], additional: [], cacheTtl: ttl };
}

function isSigOf(r: ResourceRecord, owner: string, type: number): boolean {
  return r.type === TYPE.RRSIG && r.rdata.length >= 2 && r.rdata.readUInt16BE(0) === type && nameEquals(r.name, owner);
}

/** Drops what described the CNAME question's resolution and is no longer needed (sigs, servers). */
function withoutChainFields(res: ResolveResult): ResolveResult {
  const out = { ...res };
  delete out.sigs;
  delete out.servers;
  return out;
}
