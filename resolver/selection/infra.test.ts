import { describe, expect, it } from 'vitest';
import { InfraCache, type LivenessEvent } from './infra.js';

function make(extra: Partial<ConstructorParameters<typeof InfraCache>[0]> = {}) {
  let t = 10_000;
  let r = 0;
  const infra = new InfraCache({ now: () => t, maxRtoMs: 2000, random: () => r, ...extra });
  return { infra, advance: (ms: number) => { t += ms; }, setRandom: (x: number) => { r = x; } };
}

describe('InfraCache', () => {
  it('starts unknown servers at the initial RTO and learns a smoothed RTT', () => {
    const { infra } = make();
    expect(infra.rtoMs('192.0.2.1')).toBe(376);
    expect(infra.srttMs('192.0.2.1')).toBeUndefined();
    infra.onAnswer('192.0.2.1', 40);
    expect(infra.srttMs('192.0.2.1')).toBe(40);
    expect(infra.rtoMs('192.0.2.1')).toBe(120); // 40 + 4*20 = 120, at the floor
    for (let i = 0; i < 20; i++) infra.onAnswer('192.0.2.1', 200);
    expect(infra.srttMs('192.0.2.1')!).toBeGreaterThan(180);
    expect(infra.rtoMs('192.0.2.1')).toBeGreaterThan(200);
  });

  it('doubles the RTO on timeouts, capped at maxRtoMs', () => {
    const { infra } = make({ deadAfterTimeouts: 10 });
    infra.onTimeout('192.0.2.1');
    expect(infra.rtoMs('192.0.2.1')).toBe(752);
    infra.onTimeout('192.0.2.1');
    infra.onTimeout('192.0.2.1');
    expect(infra.rtoMs('192.0.2.1')).toBe(2000);
  });

  it('prefers the fastest server and picks at random among the near-best', () => {
    const { infra, setRandom } = make();
    infra.onAnswer('192.0.2.1', 5);
    infra.onAnswer('192.0.2.2', 900);
    const seen = new Set<string>();
    for (const r of [0, 0.3, 0.6, 0.99]) { setRandom(r); seen.add(infra.select(['192.0.2.1', '192.0.2.2'], 'example')!); }
    expect([...seen]).toEqual(['192.0.2.1']);
    infra.onAnswer('192.0.2.3', 6);
    for (const r of [0, 0.99]) { setRandom(r); seen.add(infra.select(['192.0.2.1', '192.0.2.2', '192.0.2.3'], 'example')!); }
    expect(seen).toEqual(new Set(['192.0.2.1', '192.0.2.3']));
  });

  it('marks a server dead after consecutive timeouts, probes it after a back-off, and revives it on an answer', () => {
    const { infra, advance } = make({ deadAfterTimeouts: 2, deadBackoffMinMs: 1000, deadBackoffMaxMs: 4000 });
    const s = '192.0.2.9';
    infra.onTimeout(s);
    expect(infra.state(s, 'z')).toBe('up');
    infra.onTimeout(s);
    expect(infra.state(s, 'z')).toBe('dead');
    expect(infra.select([s], 'z')).toBeUndefined();
    advance(1000);
    expect(infra.state(s, 'z')).toBe('probe');
    expect(infra.select([s], 'z')).toBe(s);
    // Only one probe at a time.
    expect(infra.select([s], 'z')).toBeUndefined();
    infra.onTimeout(s); // probe failed: back-off doubles
    advance(1999);
    expect(infra.state(s, 'z')).toBe('dead');
    advance(1);
    expect(infra.select([s], 'z')).toBe(s);
    infra.onTimeout(s);
    infra.onTimeout(s);
    advance(4000); // capped at 4000
    expect(infra.select([s], 'z')).toBe(s);
    infra.onAnswer(s, 3);
    expect(infra.state(s, 'z')).toBe('up');
    expect(infra.rtoMs(s)).toBe(120);
  });

  it('prefers live servers over a dead one due for a probe', () => {
    const { infra, advance } = make({ deadAfterTimeouts: 1 });
    infra.onTimeout('192.0.2.1');
    advance(60_000);
    expect(infra.select(['192.0.2.1', '192.0.2.2'], 'z')).toBe('192.0.2.2');
    expect(infra.select(['192.0.2.1'], 'z')).toBe('192.0.2.1');
  });

  it('keeps lameness per zone, uses lame servers only as a last resort, and forgets it after lameTtlMs', () => {
    const { infra, advance } = make({ lameTtlMs: 5000 });
    infra.markLame('192.0.2.1', 'example');
    expect(infra.state('192.0.2.1', 'example')).toBe('lame');
    expect(infra.state('192.0.2.1', 'other')).toBe('up');
    expect(infra.select(['192.0.2.1', '192.0.2.2'], 'example')).toBe('192.0.2.2');
    expect(infra.select(['192.0.2.1'], 'example')).toBe('192.0.2.1');
    advance(5000);
    expect(infra.state('192.0.2.1', 'example')).toBe('up');
  });

  it('a burst of timeouts from queries in flight together counts once', () => {
    const { infra } = make({ deadAfterTimeouts: 2 });
    const s = '192.0.2.20';
    const used = infra.rtoMs(s);
    for (let i = 0; i < 50; i++) infra.onTimeout(s, used, 10_000);
    expect(infra.rtoMs(s)).toBe(used * 2);
    expect(infra.state(s, 'z')).toBe('up');
  });

  it('timeouts of queries sent before the latest answer do not make a server dead (load shedding is not an outage)', () => {
    const { infra, advance } = make({ deadAfterTimeouts: 1 });
    const s = '192.0.2.21';
    const sentAt = 10_000;
    advance(50);
    infra.onAnswer(s, 2);
    infra.onTimeout(s, infra.rtoMs(s), sentAt);
    expect(infra.state(s, 'z')).toBe('up');
    // A query sent after the last answer that times out does count.
    advance(50);
    infra.onTimeout(s, infra.rtoMs(s), 10_100);
    expect(infra.state(s, 'z')).toBe('dead');
  });

  it('with a prober attached, a dead server due for its retry is probed in the background, once per back-off, never given to a question', () => {
    const { infra, advance } = make({ deadAfterTimeouts: 1, deadBackoffMinMs: 1000, deadBackoffMaxMs: 8000 });
    const probes: Array<[string, string]> = [];
    infra.setProber((a, z) => probes.push([a, z]));
    const [s1, s2] = ['192.0.2.31', '192.0.2.32'];
    infra.onTimeout(s1);
    infra.onTimeout(s2);
    expect(infra.allDead([s1, s2])).toBe(true);
    expect(infra.select([s1, s2], 'z')).toBeUndefined();
    expect(probes).toEqual([]);
    advance(1000);
    // Due: each gets one probe, the question gets no server, and the zone stays dead.
    expect(infra.select([s1, s2], 'z')).toBeUndefined();
    expect(probes).toEqual([[s1, 'z'], [s2, 'z']]);
    expect(infra.allDead([s1, s2])).toBe(true);
    expect(infra.select([s1, s2], 'z')).toBeUndefined();
    expect(probes.length).toBe(2);
    // s1's probe times out: its back-off doubles; s2 answers: it is up at once.
    infra.onTimeout(s1);
    infra.onAnswer(s2, 5);
    expect(infra.allDead([s1, s2])).toBe(false);
    expect(infra.select([s1, s2], 'z')).toBe(s2);
    advance(1999);
    infra.select([s1, s2], 'z');
    expect(probes.length).toBe(2);
    advance(1);
    // Due again beside a live server: probed in the background, the live one answers the question.
    expect(infra.select([s1, s2], 'z')).toBe(s2);
    expect(probes).toEqual([[s1, 'z'], [s2, 'z'], [s1, 'z']]);
  });

  it('allDead needs every candidate dead, and at least one candidate', () => {
    const { infra } = make({ deadAfterTimeouts: 1 });
    expect(infra.allDead([])).toBe(false);
    infra.onTimeout('192.0.2.41');
    expect(infra.allDead(['192.0.2.41'])).toBe(true);
    expect(infra.allDead(['192.0.2.41', '192.0.2.42'])).toBe(false);
  });

  it('shares liveness with other workers: publishes each dead and revived transition, applies theirs without echo', () => {
    const a = make();
    const b = make();
    const seen: LivenessEvent[] = [];
    a.infra.shareLiveness((ev) => { seen.push(ev); b.infra.applyLiveness(ev); });
    b.infra.shareLiveness((ev) => seen.push(ev));
    const s = '192.0.2.51';
    a.infra.onTimeout(s);
    a.infra.onTimeout(s);
    expect(seen).toEqual([]); // not dead yet: nothing to tell
    a.infra.onTimeout(s);
    expect(seen).toEqual([{ address: s, dead: true, forMs: 1000, backoffMs: 1000 }]);
    // b skips the server at once, for as long as a does, and publishes nothing itself.
    expect(b.infra.state(s, 'z')).toBe('dead');
    expect(b.infra.allDead([s])).toBe(true);
    b.advance(999);
    expect(b.infra.state(s, 'z')).toBe('dead');
    b.advance(2);
    expect(b.infra.state(s, 'z')).toBe('probe');
    expect(seen).toHaveLength(1);
    // An answer at a brings it back everywhere; an answer from a live server tells nobody.
    a.infra.onAnswer(s, 20);
    expect(seen[1]).toEqual({ address: s, dead: false });
    expect(b.infra.state(s, 'z')).toBe('up');
    a.infra.onAnswer(s, 20);
    expect(seen).toHaveLength(2);
    // Nonsense from the channel changes nothing; a long claim is held to the back-off cap.
    b.infra.applyLiveness({ address: s, dead: true, forMs: -5, backoffMs: 1000 });
    b.infra.applyLiveness({ address: s, dead: true, forMs: Number.NaN, backoffMs: 1000 });
    expect(b.infra.state(s, 'z')).toBe('up');
    b.infra.applyLiveness({ address: s, dead: true, forMs: 1e12, backoffMs: 1e12 });
    b.advance(30_001);
    expect(b.infra.state(s, 'z')).toBe('probe');
  });
});
