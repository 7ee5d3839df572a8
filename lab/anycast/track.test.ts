import { describe, expect, it } from 'vitest';
import { TrackObject, outcomeUp, withdrawalWindowS, type TrackSettings } from './track.js';

const S: TrackSettings = { kind: 'reachability', delayDownMs: 2000, delayUpMs: 3000, errorReply: 'fail' };

/** Feeds one probe result per `freq` ms from `from`, returns the changes. */
function run(t: TrackObject, outcomes: string, freq: number, from = 0) {
  const out: Array<{ up: boolean; atMs: number }> = [];
  [...outcomes].forEach((c, i) => {
    const now = from + i * freq;
    const ch = t.tick(now) ?? t.result(c === '+' ? 'ok' : c === 's' ? 'over-threshold' : c === 'r' ? 'error-reply' : 'timeout', now);
    if (ch) out.push(ch);
  });
  return out;
}

describe('track object timing (delay down / up)', () => {
  it('the first result sets the state at once', () => {
    const t = new TrackObject(S);
    expect(t.result('ok', 0)).toEqual({ up: true, atMs: 0 });
    expect(new TrackObject(S).result('timeout', 5)).toEqual({ up: false, atMs: 5 });
  });

  it('goes down only after delay down of continuous failure, at first failure + delay', () => {
    const t = new TrackObject(S);
    // up at 0; failures from 3000 every 1000 ms: down due at 3000 + 2000 = 5000.
    expect(run(t, '+++-----', 1000)).toEqual([{ up: true, atMs: 0 }, { up: false, atMs: 5000 }]);
  });

  it('a failure that recovers within delay down changes nothing (damping)', () => {
    const t = new TrackObject(S);
    expect(run(t, '++-+-+-+', 1000)).toEqual([{ up: true, atMs: 0 }]);
    expect(t.state).toBe(true);
  });

  it('comes back up only after delay up of continuous success', () => {
    const t = new TrackObject(S);
    // down at 0, successes from 1000: up due at 1000 + 3000 = 4000, a blip at 2000 restarts it.
    expect(run(t, '-++++', 1000)).toEqual([{ up: false, atMs: 0 }, { up: true, atMs: 4000 }]);
    const u = new TrackObject(S);
    expect(run(u, '-+-+++++', 1000)).toEqual([{ up: false, atMs: 0 }, { up: true, atMs: 6000 }]);
  });

  it('tick() applies a due change between probes, at the exact due time', () => {
    const t = new TrackObject(S);
    t.result('ok', 0);
    t.result('timeout', 1000);
    expect(t.dueMs()).toBe(3000);
    expect(t.tick(2999)).toBeUndefined();
    expect(t.tick(3500)).toEqual({ up: false, atMs: 3000 });
  });

  it('reachability keeps a slow node up; state withdraws it', () => {
    expect(outcomeUp('over-threshold', { kind: 'reachability', errorReply: 'fail' })).toBe(true);
    expect(outcomeUp('over-threshold', { kind: 'state', errorReply: 'fail' })).toBe(false);
    const t = new TrackObject({ ...S, kind: 'state' });
    expect(run(t, '+sss', 1000)).toEqual([{ up: true, atMs: 0 }, { up: false, atMs: 3000 }]);
  });

  it('error replies (REFUSED) count per the assumed switch behaviour', () => {
    const fail = new TrackObject(S);
    expect(run(fail, '+rrrr', 1000).at(-1)).toEqual({ up: false, atMs: 3000 });
    const ok = new TrackObject({ ...S, errorReply: 'ok' });
    expect(run(ok, '+rrrr', 1000)).toEqual([{ up: true, atMs: 0 }]);
    // Silence fails on both.
    const silent = new TrackObject({ ...S, errorReply: 'ok' });
    expect(run(silent, '+----', 1000).at(-1)).toEqual({ up: false, atMs: 3000 });
  });

  it('predicts the withdrawal window of a dead node: [delay down, frequency + timeout + delay down]', () => {
    expect(withdrawalWindowS({ frequencyMs: 1000, timeoutMs: 500 }, 2000)).toEqual([2, 3.5]);
    expect(withdrawalWindowS({ frequencyMs: 5000, timeoutMs: 2000 }, 10000)).toEqual([10, 17]);
  });
});
