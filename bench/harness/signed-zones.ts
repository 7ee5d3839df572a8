// A signed mini-internet for the DNSSEC interop tests and the validation bench,
// signed with Debian's ldnsutils (ldns-keygen, ldns-signzone) and served by NSD on
// PREFIX.1 (root), PREFIX.2 (the TLD "signed.") and PREFIX.3 (every leaf zone).
//
//   .                  RSASHA256 (8), NSEC       the trust anchor: its DS
//   signed.            ECDSAP256SHA256 (13), NSEC
//   rsa.signed.        RSASHA256 (8)             secure
//   ecdsa.signed.      ECDSAP256SHA256 (13)      secure, and the bench's zone (perf names)
//   ed.signed.         ED25519 (15)              secure
//   nsec3.signed.      13, NSEC3 (0 iterations, no salt: RFC 9276)   secure, NSEC3 denial
//   insecure.signed.   unsigned, no DS           insecure
//   badsig.signed.     13, www A signature corrupted                 bogus
//   expired.signed.    13, every signature expired yesterday         bogus
//   badds.signed.      13, the DS in signed. is of a key never used  bogus
//
// Keys are generated fresh for each start (a few hundred ms for the RSA ones).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNsd, type Running } from './daemons.js';
import { requireBinary } from './proc.js';

export const LDNS_KEYGEN = '/usr/bin/ldns-keygen';
export const LDNS_SIGNZONE = '/usr/bin/ldns-signzone';

export const SIGNED_HOST = { root: 1, tld: 2, leaves: 3, unbound: 20, ours: 21, client: 200 } as const;

/** Names the bench's cache-hit run asks (perf0..perf{N-1}.ecdsa.signed A). */
export const SIGNED_PERF_NAMES = 100;

type Fault = 'bad-signature' | 'expired' | 'ds-mismatch';
interface LeafSpec { name: string; algorithm?: number; nsec3?: boolean; fault?: Fault }

export const LEAVES: readonly LeafSpec[] = [
  { name: 'rsa', algorithm: 8 },
  { name: 'ecdsa', algorithm: 13 },
  { name: 'ed', algorithm: 15 },
  { name: 'nsec3', algorithm: 13, nsec3: true },
  { name: 'insecure' },
  { name: 'badsig', algorithm: 13, fault: 'bad-signature' },
  { name: 'expired', algorithm: 13, fault: 'expired' },
  { name: 'badds', algorithm: 13, fault: 'ds-mismatch' },
];

const ALG_NAMES: Record<number, string> = { 8: 'RSASHA256', 13: 'ECDSAP256SHA256', 15: 'ED25519' };

/** Where each leaf's www A points: 192.0.2.(10 + index). */
export const leafAddress = (leaf: string) => `192.0.2.${10 + LEAVES.findIndex((l) => l.name === leaf)}`;

export interface SignedTree {
  prefix: string;
  addr(host: number): string;
  dir: string;
  rootHintsFile: string;
  /** The root's DS, zone-file syntax (unbound trust-anchor-file; our trust_anchors). */
  trustAnchorFile: string;
  servers: Running[];
  stop(): Promise<void>;
}

function keygen(dir: string, zone: string, algorithm: number): { base: string; ds: string } {
  const base = execFileSync(LDNS_KEYGEN, ['-a', ALG_NAMES[algorithm], '-k', zone], { cwd: dir, encoding: 'utf8' }).trim();
  const ds = readFileSync(join(dir, `${base}.ds`), 'utf8').split('\n').find((l) => /\sDS\s/.test(l))!.split(';')[0].trim();
  return { base: join(dir, base), ds };
}

function sign(dir: string, origin: string, text: string, key: string, o: { nsec3?: boolean; expired?: boolean } = {}): string {
  const unsigned = join(dir, `${origin || 'root'}.zone`);
  const signed = `${unsigned}.signed`;
  writeFileSync(unsigned, text);
  const now = Math.floor(Date.now() / 1000);
  const [inception, expiration] = o.expired ? [now - 30 * 86400, now - 86400] : [now - 3600, now + 30 * 86400];
  const args = ['-o', origin === '' ? '.' : origin + '.', '-f', signed, '-i', String(inception), '-e', String(expiration)];
  if (o.nsec3) args.push('-n', '-t', '0');
  execFileSync(LDNS_SIGNZONE, [...args, unsigned, key], { cwd: dir });
  return readFileSync(signed, 'utf8');
}

/** Flips one base64 character in the signature of OWNER's RRSIG over TYPE (the key stays valid, the data does not). */
function corruptSignature(text: string, owner: string, type: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.toLowerCase().startsWith(owner + '.') && new RegExp(`\\sRRSIG\\s+${type}\\s`).test(l));
  if (i < 0) throw new Error(`no RRSIG ${type} for ${owner} in the signed zone`);
  const f = lines[i].split(/\s+/);
  const sig = f[f.length - 1];
  const mid = Math.floor(sig.length / 2);
  f[f.length - 1] = sig.slice(0, mid) + (sig[mid] === 'A' ? 'B' : 'A') + sig.slice(mid + 1);
  lines[i] = f.join('\t');
  return lines.join('\n');
}

/** Signs the tree with ldns and starts the three NSD instances on PREFIX.1-.3 (port 53). */
export async function startSignedTree(prefix: string, label = 'dnssec'): Promise<SignedTree> {
  requireBinary(LDNS_KEYGEN, 'ldnsutils');
  requireBinary(LDNS_SIGNZONE, 'ldnsutils');
  const a = (h: number) => `${prefix}.${h}`;
  const dir = mkdtempSync(join(tmpdir(), `anycast-kit-${label}-`));
  const keys = join(dir, 'keys');
  mkdirSync(keys);
  const servers: Running[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Leaves first: their DS records go into signed.
    const leafZones: Array<{ origin: string; text: string }> = [];
    const dsLines: string[] = [];
    const perf = Array.from({ length: SIGNED_PERF_NAMES }, (_, i) => `perf${i} A 198.51.100.${i % 250}`).join('\n');
    for (const l of LEAVES) {
      const origin = `${l.name}.signed`;
      const text = `$ORIGIN ${origin}.
$TTL 300
@        SOA ns.leaves.signed. hostmaster.signed. 1 3600 900 604800 60
@        NS  ns.leaves.signed.
www      A   ${leafAddress(l.name)}
www      TXT "${l.name}"
alias    CNAME www
a.b.ent  TXT "below an empty non-terminal"
*.wild   A   192.0.2.99
${l.name === 'ecdsa' ? perf : ''}
`;
      if (!l.algorithm) { leafZones.push({ origin, text }); continue; }
      const k = keygen(keys, origin, l.algorithm);
      let signed = sign(keys, origin, text, k.base, { nsec3: l.nsec3, expired: l.fault === 'expired' });
      if (l.fault === 'bad-signature') signed = corruptSignature(signed, `www.${origin}`, 'A');
      dsLines.push(l.fault === 'ds-mismatch' ? keygen(keys, origin, l.algorithm).ds : k.ds);
      leafZones.push({ origin, text: signed });
    }
    const tld = `$ORIGIN signed.
$TTL 3600
@        SOA ns.nic.signed. hostmaster.signed. 1 3600 900 604800 300
@        NS  ns.nic.signed.
ns.nic   A   ${a(SIGNED_HOST.tld)}
ns.leaves A  ${a(SIGNED_HOST.leaves)}
${LEAVES.map((l) => `${l.name} NS ns.leaves.signed.`).join('\n')}
${dsLines.join('\n')}
`;
    const tldKey = keygen(keys, 'signed', 13);
    const tldSigned = sign(keys, 'signed', tld, tldKey.base);
    const root = `$ORIGIN .
$TTL 86400
.               SOA a.root.signed. hostmaster.signed. 1 1800 900 604800 3600
.               NS  a.root.signed.
signed.  172800 NS  ns.nic.signed.
ns.nic.signed. 172800 A ${a(SIGNED_HOST.tld)}
a.root.signed. 172800 A ${a(SIGNED_HOST.root)}
${tldKey.ds}
`;
    const rootKey = keygen(keys, '.', 8);
    const rootSigned = sign(keys, '', root, rootKey.base);

    const rootHintsFile = join(dir, 'root.hints');
    writeFileSync(rootHintsFile, `.  3600000 NS A.ROOT.SIGNED.\nA.ROOT.SIGNED. 3600000 A ${a(SIGNED_HOST.root)}\n`);
    const trustAnchorFile = join(dir, 'root.key');
    writeFileSync(trustAnchorFile, `; the signed tree's root DS\n${rootKey.ds}\n`);

    servers.push(await startNsd({ name: `${label}-root`, address: a(SIGNED_HOST.root), zones: [{ origin: '', text: rootSigned }] }, dir));
    servers.push(await startNsd({ name: `${label}-tld`, address: a(SIGNED_HOST.tld), zones: [{ origin: 'signed', text: tldSigned }] }, dir));
    servers.push(await startNsd({ name: `${label}-leaves`, address: a(SIGNED_HOST.leaves), zones: leafZones }, dir));
    return { prefix, addr: a, dir, rootHintsFile, trustAnchorFile, servers, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
