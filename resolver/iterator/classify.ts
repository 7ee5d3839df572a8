// Classifies a scrubbed response: what it means for the question we asked of a
// server authoritative for `zone`. This decides the iterator's next state.

import { FLAG, RCODE, TYPE } from '../../dns/constants.js';
import type { Message } from '../../dns/message.js';
import { isSubdomain, lowerName } from '../../dns/name.js';
import type { Scrubbed } from './scrub.js';

export type ResponseKind =
  /** The final RRset is there (possibly after a CNAME/DNAME chain). */
  | 'answer'
  /** A chain that stops before the answer: continue at `finalName` from scratch. */
  | 'cname'
  | 'nxdomain'
  | 'nodata'
  /** A delegation to a zone strictly below the one we asked. */
  | 'referral'
  /** The server does not serve the zone: REFUSED, NOTAUTH, upward or sideways referral, recursive answer without AA. */
  | 'lame'
  /** The server choked on EDNS (FORMERR/NOTIMP): retry it without OPT. */
  | 'formerr'
  /** SERVFAIL or another rcode: try another server, but the server is not lame. */
  | 'server-error'
  /** DNAME substitution overflowed (RFC 6672): pass YXDOMAIN on. */
  | 'yxdomain';

/**
 * `rdSet`: the question went out with RD=1 (the last resort for servers that proved
 * recursion-lame, see Iterator): a recursive answer is then what was asked for, not
 * a sign of lameness.
 */
export function classifyResponse(msg: Message, s: Scrubbed, zone: string, rdSet = false): ResponseKind {
  const aa = (msg.flags & FLAG.AA) !== 0;
  const ra = (msg.flags & FLAG.RA) !== 0;
  // A recursive server answering for a zone it does not serve: data without AA, RA set.
  const recursiveLame = ra && !aa && !rdSet;
  switch (msg.rcode) {
    case RCODE.REFUSED: case RCODE.NOTAUTH:
      return 'lame';
    case RCODE.FORMERR: case RCODE.NOTIMP:
      return 'formerr';
    case RCODE.YXDOMAIN:
      return 'yxdomain';
    case RCODE.NOERROR: case RCODE.NXDOMAIN:
      break;
    default:
      return 'server-error';
  }
  if (s.stop === 'dname-overflow') return 'yxdomain';
  const chainLeftZone = s.stop === 'out-of-zone' || s.stop === 'loop' || s.stop === 'too-long';

  if (msg.rcode === RCODE.NXDOMAIN) {
    // The NXDOMAIN speaks for the chain's end; if that left the zone, the server cannot know.
    if (chainLeftZone) return 'cname';
    if (recursiveLame && !s.soa) return 'lame';
    if (!aa && !s.soa) return 'lame';
    return 'nxdomain';
  }

  if (s.answered) return recursiveLame ? 'lame' : 'answer';
  if (chainLeftZone) return s.answers.length ? 'cname' : 'lame';

  const cut = s.ns.length ? lowerName(s.ns[0].name) : undefined;
  const below = cut !== undefined && cut !== lowerName(zone) && isSubdomain(cut, zone);
  if (below && !s.soa) return 'referral';
  if (s.soa) return 'nodata';
  // A chain that ended inside the zone without the data or a proof: ask for the target.
  if (s.answers.length) return 'cname';
  // A referral upwards (an NS set for an ancestor of the zone, no SOA) says the server
  // does not serve the zone, AA or not: some servers are lame for one type only.
  if (hasNsAbove(msg, zone)) return 'lame';
  if (aa) return 'nodata';
  // Without AA, judge the raw message (scrubbing has removed what is out of the zone):
  // an NS set at or above the zone we asked is a referral to the same zone or upward,
  // i.e. a server that does not serve it; RA without AA is a recursive server's answer.
  if (recursiveLame || hasNsAbove(msg, zone, true)) return 'lame';
  // Otherwise an empty NOERROR is NODATA even without AA, as unbound and Knot Resolver
  // take it (servers that leave AA off, or the type asked does not exist at the name).
  return 'nodata';
}

/** True if the authority section holds an NS record whose owner is an ancestor of `zone`, or `zone` itself with `orAt`. */
function hasNsAbove(msg: Message, zone: string, orAt = false): boolean {
  for (const r of msg.authority) if (r.type === TYPE.NS && isSubdomain(zone, r.name) && (orAt || !isSubdomain(r.name, zone))) return true;
  return false;
}
