// The private mini-internet the interop tests and the resolver bench resolve
// through: a root, two TLDs and zones that exercise CNAME chains across zones,
// glueless, lame and dead delegations, wildcards, empty non-terminals, short
// TTLs, answers too big for UDP and unknown RR types. Every address is
// PREFIX.N, so each test file (and the bench) gets its own /24 of loopback.
//
// Host numbers inside the /24 (fixed so zone data and tests agree):
//   .1  root NSD ("."; also the "upward referral" lame server for uplame.interop)
//   .2  interop. NSD (also the self-referring lame server for selflame.interop)
//   .3  auth-a NSD: a.interop, lame.interop, halfdead.interop, perf.interop
//   .4  auth-b NSD: b.elsewhere, glueless.interop, glueless2.elsewhere
//   .5  lame NSD: REFUSEs everything it is asked for (serves only unrelated.elsewhere)
//   .6, .12  dead: nothing listens (ICMP port unreachable)
//   .7  blackhole: a socket that reads and never answers (test-owned)
//   .8  hostile authoritative server for hostile.interop (test-owned)
//   .9  scripted authoritative server for dyn.interop (test-owned)
//   .10 elsewhere. NSD
//   .11 spoofer: sends forged answers from the wrong address (test-owned)
//   .13 trap: where forged glue points; any query reaching it means the resolver was poisoned
//   .14 honest server for sub.hostile.interop (test-owned)
//   .20 unbound   .21 ours   .22 ours with 2 workers (bench)
//   .100 a client outside --allow   .200-.250 clients inside

export const HOST = {
  root: 1, tldInterop: 2, authA: 3, authB: 4, lame: 5, dead: 6, blackhole: 7, hostile: 8, dyn: 9,
  tldElsewhere: 10, spoofer: 11, dead2: 12, trap: 13, hostileSub: 14, unbound: 20, ours: 21, ours2: 22, unboundQmin: 23, oursNoQmin: 24, oursBaseline: 25, clientDenied: 100, client: 200,
} as const;

export interface ZoneFile {
  /** Zone name without trailing dot; "" is the root. */
  origin: string;
  text: string;
}

export interface NsdInstanceSpec {
  name: string;
  address: string;
  zones: ZoneFile[];
}

export interface Lab {
  prefix: string;
  addr(host: number): string;
  nsd: NsdInstanceSpec[];
  /** named.root-format hints pointing at the lab root. */
  rootHints: string;
}

/** The big TXT RRset: 40 strings of 100 bytes, about 4.4 KB on the wire, so it needs TCP even with EDNS 1232. */
export const BIG_TXT_COUNT = 40;
/** The medium TXT RRset: about 700 bytes, more than 512 (no EDNS) but less than 1232. */
export const MEDIUM_TXT_COUNT = 6;

function txtFiller(tag: string, i: number): string {
  const head = `${tag}-${String(i).padStart(2, '0')}-`;
  return head + 'x'.repeat(100 - head.length);
}

/** Names queried by the cache-hit benchmark. */
export const PERF_HIT_NAMES = 100;

export function buildLab(prefix: string): Lab {
  const a = (h: number) => `${prefix}.${h}`;
  const H = HOST;

  const root = `$ORIGIN .
$TTL 86400
.                     SOA a.root-servers.net. nstld.root-servers.net. 2024010101 1800 900 604800 86400
.                     NS  a.root-servers.net.
a.root-servers.net.   A   ${a(H.root)}
interop.       172800 NS  ns.nic.interop.
ns.nic.interop. 172800 A  ${a(H.tldInterop)}
elsewhere.     172800 NS  ns.nic.elsewhere.
ns.nic.elsewhere. 172800 A ${a(H.tldElsewhere)}
`;

  const interop = `$ORIGIN interop.
$TTL 3600
@            SOA ns.nic.interop. hostmaster.nic.interop. 1 3600 900 604800 300
@            NS  ns.nic
ns.nic       A   ${a(H.tldInterop)}
a            NS  ns1.a
ns1.a        A   ${a(H.authA)}
perf         NS  ns.perf
ns.perf      A   ${a(H.authA)}
; glueless: the only NS name lives under another TLD
glueless     NS  ns.b.elsewhere.
; lame: one server REFUSEs, one sends an upward referral, one is good
lame         NS  ns-refuse.lame
lame         NS  ns-up.lame
lame         NS  ns-good.lame
ns-refuse.lame A ${a(H.lame)}
ns-up.lame   A   ${a(H.root)}
ns-good.lame A   ${a(H.authA)}
; every server lame
alllame      NS  ns.alllame
ns.alllame   A   ${a(H.lame)}
uplame       NS  ns.uplame
ns.uplame    A   ${a(H.root)}
selflame     NS  ns.selflame
ns.selflame  A   ${a(H.tldInterop)}
; every server dead (nothing listens) / silent (never answers)
dead         NS  ns1.dead
dead         NS  ns2.dead
ns1.dead     A   ${a(H.dead)}
ns2.dead     A   ${a(H.dead2)}
blackhole    NS  ns.blackhole
ns.blackhole A   ${a(H.blackhole)}
; one dead server and one good one
halfdead     NS  ns-dead.halfdead
halfdead     NS  ns-good.halfdead
ns-dead.halfdead A ${a(H.dead)}
ns-good.halfdead A ${a(H.authA)}
hostile      NS  ns.hostile
ns.hostile   A   ${a(H.hostile)}
dyn          NS  ns.dyn
ns.dyn       A   ${a(H.dyn)}
`;

  const elsewhere = `$ORIGIN elsewhere.
$TTL 3600
@            SOA ns.nic.elsewhere. hostmaster.nic.elsewhere. 1 3600 900 604800 300
@            NS  ns.nic
ns.nic       A   ${a(H.tldElsewhere)}
b            NS  ns.b
ns.b         A   ${a(H.authB)}
; glueless twice over: the NS name is itself inside a glueless zone
glueless2    NS  ns.glueless.interop.
`;

  const longChain: string[] = [];
  const longChainB: string[] = [];
  // long0.a -> long1.b -> long2.a -> ... -> long8.a A (8 CNAMEs, alternating zones)
  for (let i = 0; i < 8; i++) {
    const line = `long${i} CNAME long${i + 1}.${i % 2 === 0 ? 'b.elsewhere.' : 'a.interop.'}`;
    (i % 2 === 0 ? longChain : longChainB).push(line);
  }
  // toolong0.a -> toolong1.b -> ... -> toolong20.a A (20 CNAMEs: beyond every resolver's limit)
  for (let i = 0; i < 20; i++) {
    const line = `toolong${i} CNAME toolong${i + 1}.${i % 2 === 0 ? 'b.elsewhere.' : 'a.interop.'}`;
    (i % 2 === 0 ? longChain : longChainB).push(line);
  }
  const big = Array.from({ length: BIG_TXT_COUNT }, (_, i) => `big TXT "${txtFiller('big', i)}"`).join('\n');
  const medium = Array.from({ length: MEDIUM_TXT_COUNT }, (_, i) => `medium TXT "${txtFiller('medium', i)}"`).join('\n');

  const zoneA = `$ORIGIN a.interop.
$TTL 300
@            SOA ns1.a.interop. hostmaster.a.interop. 1 3600 900 604800 60
@            NS  ns1
ns1          A   ${a(H.authA)}
www          A   192.0.2.1
www          A   192.0.2.2
www          AAAA 2001:db8::1
MiXeD        A   192.0.2.3
mx           MX  10 mail.a.interop.
mail         A   192.0.2.4
txt          TXT "hello world" "second string"
_sip._udp    SRV 10 60 5060 sip.a.interop.
sip          A   192.0.2.5
ptr          PTR www.a.interop.
caa          CAA 0 issue "ca.example"
; CNAME chain across zones: chain.a -> c1.b -> c2.a -> c3.b -> target.a
chain        CNAME c1.b.elsewhere.
c2           CNAME c3.b.elsewhere.
target       A   192.0.2.9
; CNAME chain inside the zone (the server follows it itself)
intra        CNAME intra2
intra2       CNAME www
dangling     CNAME nothere.b.elsewhere.
loop1        CNAME loop2.b.elsewhere.
${longChain.join('\n')}
long8        A   192.0.2.8
toolong20    A   192.0.2.20
*.wild       A   192.0.2.50
*.wild       TXT "wildcard"
sub.wild     A   192.0.2.51
; ent and y.ent are empty non-terminals
x.y.ent      A   192.0.2.60
short     3  A   192.0.2.70
unknown      TYPE65000 \\# 4 deadbeef
unknown      TYPE65001 \\# 0
${big}
${medium}
`;

  const zoneB = `$ORIGIN b.elsewhere.
$TTL 300
@            SOA ns.b.elsewhere. hostmaster.b.elsewhere. 1 3600 900 604800 120
@            NS  ns
ns           A   ${a(H.authB)}
www          A   192.0.2.10
c1           CNAME c2.a.interop.
c3           CNAME target.a.interop.
loop2        CNAME loop1.a.interop.
${longChainB.join('\n')}
`;

  const glueless = `$ORIGIN glueless.interop.
$TTL 300
@            SOA ns.b.elsewhere. hostmaster.glueless.interop. 1 3600 900 604800 60
@            NS  ns.b.elsewhere.
host         A   192.0.2.80
ns           A   ${a(H.authB)}
`;

  const glueless2 = `$ORIGIN glueless2.elsewhere.
$TTL 300
@            SOA ns.glueless.interop. hostmaster.glueless2.elsewhere. 1 3600 900 604800 60
@            NS  ns.glueless.interop.
host         A   192.0.2.81
`;

  const lame = `$ORIGIN lame.interop.
$TTL 300
@            SOA ns-good.lame.interop. hostmaster.lame.interop. 1 3600 900 604800 60
@            NS  ns-refuse
@            NS  ns-up
@            NS  ns-good
ns-refuse    A   ${a(H.lame)}
ns-up        A   ${a(H.root)}
ns-good      A   ${a(H.authA)}
host         A   192.0.2.90
`;

  const halfdead = `$ORIGIN halfdead.interop.
$TTL 300
@            SOA ns-good.halfdead.interop. hostmaster.halfdead.interop. 1 3600 900 604800 60
@            NS  ns-dead
@            NS  ns-good
ns-dead      A   ${a(H.dead)}
ns-good      A   ${a(H.authA)}
host         A   192.0.2.91
`;

  const hits = Array.from({ length: PERF_HIT_NAMES }, (_, i) => `h${i} A 192.0.2.${100 + (i % 100)}`).join('\n');
  const perf = `$ORIGIN perf.interop.
$TTL 3600
@            SOA ns.perf.interop. hostmaster.perf.interop. 1 3600 900 604800 60
@            NS  ns
ns           A   ${a(H.authA)}
${hits}
; every name under miss. is a distinct cache miss for the resolver
*.miss       A   192.0.2.200
`;

  const unrelated = `$ORIGIN unrelated.elsewhere.
$TTL 300
@            SOA ns.unrelated.elsewhere. hostmaster.unrelated.elsewhere. 1 3600 900 604800 60
@            NS  ns
ns           A   ${a(H.lame)}
`;

  const rootHints = `; lab root hints (named.root format)
.                        3600000      NS    A.ROOT-SERVERS.NET.
A.ROOT-SERVERS.NET.      3600000      A     ${a(H.root)}
`;

  return {
    prefix,
    addr: a,
    rootHints,
    nsd: [
      { name: 'nsd-root', address: a(H.root), zones: [{ origin: '', text: root }] },
      { name: 'nsd-interop', address: a(H.tldInterop), zones: [{ origin: 'interop', text: interop }] },
      { name: 'nsd-elsewhere', address: a(H.tldElsewhere), zones: [{ origin: 'elsewhere', text: elsewhere }] },
      {
        name: 'nsd-auth-a', address: a(H.authA), zones: [
          { origin: 'a.interop', text: zoneA }, { origin: 'lame.interop', text: lame },
          { origin: 'halfdead.interop', text: halfdead }, { origin: 'perf.interop', text: perf },
        ],
      },
      {
        name: 'nsd-auth-b', address: a(H.authB), zones: [
          { origin: 'b.elsewhere', text: zoneB }, { origin: 'glueless.interop', text: glueless },
          { origin: 'glueless2.elsewhere', text: glueless2 },
        ],
      },
      { name: 'nsd-lame', address: a(H.lame), zones: [{ origin: 'unrelated.elsewhere', text: unrelated }] },
    ],
  };
}
