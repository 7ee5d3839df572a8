import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HealthMachine, type StateChange } from './state.js';

const ok = { at: 0, ok: true, rttMs: 1, rcode: 'NOERROR' };
const bad = { at: 0, ok: false, error: 'timeout after 1000 ms' };

function machine(rise = 2, fall = 3, withdrawOnDegraded = false) {
  let t = 1000;
  const m = new HealthMachine({ rise, fall, withdrawOnDegraded }, () => t);
  const changes: StateChange[] = [];
  m.onChange((c) => changes.push(c));
  return { m, changes, tick: (ms = 1000) => { t += ms; } };
}

describe('HealthMachine', () => {
  it('starts out of service and comes up only after `rise` answered probes', () => {
    const { m, changes } = machine(2, 3);
    expect(m.state).toBe('starting');
    expect(m.serving).toBe(false);
    m.probe(ok);
    expect(m.state).toBe('starting');
    expect(m.snapshot().reason).toMatch(/rising, 1\/2/);
    m.probe(ok);
    expect(m.state).toBe('up');
    expect(m.serving).toBe(true);
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(['starting->up']);
  });

  it('goes down only after `fall` failures in a row; a success in between resets the count', () => {
    const { m } = machine(2, 3);
    m.probe(ok); m.probe(ok);
    m.probe(bad); m.probe(bad);
    expect(m.state).toBe('up');
    m.probe(ok);
    m.probe(bad); m.probe(bad);
    expect(m.state).toBe('up');
    m.probe(bad);
    expect(m.state).toBe('down');
    expect(m.snapshot().reason).toMatch(/3 probes in a row failed.*timeout/);
    m.probe(ok);
    expect(m.state).toBe('down');
    m.probe(ok);
    expect(m.state).toBe('up');
  });

  it('drain takes the node out at once and brings it back only through rise', () => {
    const { m, changes } = machine(2, 3);
    m.probe(ok); m.probe(ok);
    m.setDrainFile(true);
    expect(m.state).toBe('draining');
    expect(m.serving).toBe(false);
    m.probe(ok); m.probe(ok); m.probe(ok);
    expect(m.state).toBe('draining');
    m.setDrainFile(false);
    expect(m.state).toBe('starting');
    m.probe(ok);
    expect(m.serving).toBe(false);
    m.probe(ok);
    expect(m.state).toBe('up');
    expect(changes.map((c) => c.to)).toEqual(['up', 'draining', 'starting', 'up']);
  });

  it('drain by file and by signal are independent; both must clear', () => {
    const { m } = machine(1, 1);
    m.probe(ok);
    m.setDrainFile(true);
    expect(m.toggleDrainSignal()).toBe(true);
    m.setDrainFile(false);
    expect(m.state).toBe('draining');
    expect(m.snapshot().reason).toMatch(/SIGUSR1/);
    expect(m.toggleDrainSignal()).toBe(false);
    expect(m.state).toBe('starting');
    m.probe(ok);
    expect(m.state).toBe('up');
  });

  it('lameduck wins over everything and never leaves', () => {
    const { m } = machine(1, 1);
    m.probe(ok);
    m.lameduck();
    expect(m.state).toBe('lameduck');
    m.setDrainFile(true);
    m.setDrainFile(false);
    m.probe(ok); m.probe(ok);
    expect(m.state).toBe('lameduck');
    expect(m.serving).toBe(false);
    expect(m.lameduckSinceMs).toBe(1000);
  });

  it('degraded is reported but does not withdraw by default', () => {
    const { m } = machine(1, 2);
    m.probe(ok);
    m.canaries(['example.com: SERVFAIL']);
    m.probe(ok); m.probe(ok); m.probe(ok);
    expect(m.state).toBe('up');
    expect(m.degraded).toBe(true);
    expect(m.snapshot().reason).toMatch(/degraded: example.com: SERVFAIL/);
    m.canaries([]);
    expect(m.degraded).toBe(false);
  });

  it('withdrawOnDegraded turns canary failures into probe failures through fall', () => {
    const { m } = machine(1, 2, true);
    m.probe(ok);
    m.canaries(['example.com: timeout']);
    m.probe(ok);
    expect(m.state).toBe('up');
    m.probe(ok);
    expect(m.state).toBe('down');
    expect(m.snapshot().reason).toMatch(/withdrawOnDegraded/);
    m.canaries([]);
    m.probe(ok);
    expect(m.state).toBe('up');
    // Probes themselves answered throughout.
    expect(m.counts.probesFailed).toBe(0);
  });

  it('counts probes and transitions', () => {
    const { m } = machine(1, 1);
    m.probe(ok); m.probe(bad); m.probe(ok);
    expect(m.counts).toEqual({ probesOk: 2, probesFailed: 1, transitions: 3 });
  });

  it('rejects rise or fall below 1', () => {
    expect(() => new HealthMachine({ rise: 0, fall: 1, withdrawOnDegraded: false })).toThrow(RangeError);
  });

  // Property: with no drain or lameduck, the node is serving exactly when the hysteresis
  // says so, computed independently here from the outcome sequence.
  it('matches a reference hysteresis on random probe sequences', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.boolean(), { maxLength: 60 }),
      (rise, fall, seq) => {
        const m = new HealthMachine({ rise, fall, withdrawOnDegraded: false }, () => 1);
        let alive = false, okRun = 0, badRun = 0;
        for (const r of seq) {
          m.probe(r ? ok : bad);
          if (r) { okRun++; badRun = 0; if (okRun >= rise) alive = true; } else { badRun++; okRun = 0; if (badRun >= fall) alive = false; }
          if (m.serving !== alive) return false;
        }
        return true;
      },
    ));
  });
});
