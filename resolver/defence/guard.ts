// The front's guard: what happens to a query between the ACL and the cache, for
// the two defences that look at the client. One call per query, screen():
//   1. DNS cookies (resolver/cookies/): a COOKIE option of a bad length is FORMERR
//      (RFC 7873 section 5.2.2); a server cookie is checked; the reply's COOKIE
//      option (the client cookie and a valid or fresh server cookie) is left in
//      `replyCookie` for the front to put in the reply's OPT record.
//      With `enforce`, a UDP query without a valid server cookie gets BADCOOKIE and
//      a fresh cookie (client cookie only), or an empty TC=1 reply (no cookie).
//   2. Per-client rate limiting (ratelimit.ts), UDP only, skipped for a query with
//      a valid server cookie: the cookie proves the source address, so the client
//      is not the forged victim of a reflection, and it is a client we know.
// It also keeps the defence counters (DefenceStats) the front reports.

import { randomBytes } from 'node:crypto';
import { ClientRateLimiter, RL } from './ratelimit.js';
import { defaultCookieSettings, type CookieSettings, type RateLimitSettings } from './settings.js';
import { CLIENT_COOKIE_LEN, COOKIE_OPTION, SERVER_COOKIE_LEN, ServerCookies, cookieLengthOk, secretsFromHex } from '../cookies/server-cookie.js';
import type { DefenceStats } from './stats.js';
import { emptyDefenceStats } from './stats.js';

/** The guard's verdict on one query. */
export const GV = { PASS: 0, DROP: 1, TC: 2, BADCOOKIE: 3, FORMERR: 4 } as const;
export type GuardVerdict = (typeof GV)[keyof typeof GV];

export const RCODE_BADCOOKIE = 23;

export interface GuardSettings {
  rateLimit?: RateLimitSettings;
  cookies?: CookieSettings;
}

/**
 * Fills in a random cookie secret when cookies are on and none is configured.
 * Called once per service, before workers start, so every worker of a node shares
 * the secret. Returns the config to use (the input is not changed).
 */
export function withCookieSecret<C extends GuardSettings>(cfg: C, log: (m: string) => void): C {
  const ck = cfg.cookies ?? defaultCookieSettings();
  if (!ck.enabled || ck.secrets.length > 0) return cfg;
  log('cookies: no secret configured (cookies.secret or cookies.secret_file); using a random one. '
    + 'Server cookies made by this node will not be valid on the other nodes of the service, so a client moved to another node must learn a new one');
  return { ...cfg, cookies: { ...ck, secrets: [randomBytes(16).toString('hex')], generated: true } };
}

/**
 * A reloaded config that still configures no secret keeps the random one made at
 * start, so clients' cookies stay valid and the reload reports no change for it.
 * Changes `next` in place.
 */
export function keepGeneratedSecret(live: GuardSettings, next: GuardSettings): void {
  const l = live.cookies, n = next.cookies;
  if (l?.generated && n && n.enabled && n.secrets.length === 0) next.cookies = { ...n, secrets: l.secrets.slice(), generated: true };
}

export class Guard {
  private readonly rl: ClientRateLimiter | null;
  private readonly cookies: ServerCookies | null;
  private readonly enforce: boolean;
  private readonly idle: boolean;
  readonly counts: DefenceStats = emptyDefenceStats();
  /** The COOKIE option for the reply to the query last screened, or null. */
  replyCookie: Buffer | null = null;

  /**
   * `previous`: the guard this one replaces (a reload). With no secret configured its
   * server cookies, and so its random secret, carry on: clients' cookies stay valid.
   */
  constructor(s: GuardSettings, private readonly wallSeconds: () => number = () => Math.floor(Date.now() / 1000), previous?: Guard) {
    const rl = s.rateLimit;
    this.rl = rl && rl.qps > 0 ? new ClientRateLimiter(rl) : null;
    const ck = s.cookies ?? defaultCookieSettings();
    // No secret here means the caller did not run withCookieSecret (tests, embedding): make one.
    this.cookies = !ck.enabled ? null
      : ck.secrets.length ? new ServerCookies(secretsFromHex(ck.secrets))
      : previous?.cookies ?? new ServerCookies([randomBytes(16)]);
    this.enforce = ck.enabled && ck.enforce;
    this.idle = this.rl === null && this.cookies === null;
  }

  /** Buckets held by the rate limiter (bounded by rate_limit.max_clients). */
  get rateLimitClients(): number {
    return this.rl?.size ?? 0;
  }

  /**
   * Screens one query. `cookieOff`/`cookieLen`: where the COOKIE option's data is
   * in `msg` (length 0: none). `udp`: framing 0.
   */
  screen(msg: Buffer, cookieOff: number, cookieLen: number, address: string, udp: boolean, nowMs: number): GuardVerdict {
    this.replyCookie = null;
    if (this.idle) return GV.PASS;
    let valid = false;
    const ck = this.cookies;
    if (ck !== null) {
      if (cookieLen > 0) {
        const c = this.counts;
        c.cookieQueries++;
        if (!cookieLengthOk(cookieLen)) { c.cookieMalformed++; return GV.FORMERR; }
        const nowS = this.wallSeconds();
        const out = Buffer.allocUnsafe(4 + CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN);
        out.writeUInt16BE(COOKIE_OPTION, 0);
        out.writeUInt16BE(CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN, 2);
        msg.copy(out, 4, cookieOff, cookieOff + CLIENT_COOKIE_LEN);
        let state: 'valid' | 'reissue' | 'invalid' | 'none' = 'none';
        if (cookieLen > CLIENT_COOKIE_LEN) state = ck.check(msg, cookieOff, cookieOff + CLIENT_COOKIE_LEN, cookieLen - CLIENT_COOKIE_LEN, address, nowS);
        if (state === 'valid') msg.copy(out, 12, cookieOff + CLIENT_COOKIE_LEN, cookieOff + cookieLen);
        else if (!ck.make(msg, cookieOff, address, nowS, out, 12)) return GV.PASS;
        this.replyCookie = out;
        valid = state === 'valid' || state === 'reissue';
        if (valid) c.cookieValid++;
        else if (state === 'invalid') c.cookieInvalid++;
        if (this.enforce && udp && !valid) { c.cookieBadcookie++; return GV.BADCOOKIE; }
      } else if (this.enforce && udp) {
        this.counts.cookieEnforceTc++;
        return GV.TC;
      }
    }
    if (udp && !valid && this.rl !== null) {
      const v = this.rl.check(address, nowMs);
      if (v === RL.DROP) { this.counts.droppedRateLimit++; return GV.DROP; }
      if (v === RL.SLIP) { this.counts.rateLimitSlipped++; return GV.TC; }
    }
    return GV.PASS;
  }
}
