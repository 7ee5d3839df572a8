import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/yaml-source.js';
import { readCapacityResult } from './plan.js';

const read = (o: unknown) => readCapacityResult('r.json', JSON.stringify(o));
const msg = (o: unknown) => {
  try {
    read(o);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

/** An open-loop run result at 10k q/s for 10 s, saturated unless a test changes it. */
const RUN = { kind: 'anycast-kit.loadtest.run', mode: 'open-loop', targetQps: 10000, sentQps: 10000, sent: 100000, durationS: 10, achievedQps: 9000, lossPct: 10 };

describe('readCapacityResult', () => {
  it('reads loadtest capacity and run results, with their caveats', () => {
    expect(read({ kind: 'anycast-kit.loadtest.capacity', version: 1, server: '127.0.0.1:53', capacityQps: 21000, lowerBoundOnly: false })).toEqual({
      capacityQps: 21000, field: 'capacityQps', file: 'r.json', detail: 'capacity search against 127.0.0.1:53',
    });
    expect(readCapacityResult('r.json', JSON.stringify({ kind: 'anycast-kit.loadtest.capacity', capacityQps: 9000, lowerBoundOnly: true, limitedBy: 'generator' }), { allowUnsaturated: true }).detail)
      .toBe('capacity search; a lower bound only (search stopped by generator); NOT saturated (the capacity search stopped on generator before the node crossed its loss or p99 limit, so 9000 qps is only a lower bound), used because of --allow-unsaturated');
    expect(read({ ...RUN, achievedQps: 12000, lossPct: 2.5 })).toMatchObject({ capacityQps: 12000, field: 'achievedQps', detail: 'run, 2.50% lost; saturated: the node fell behind the offered rate' });
    expect(read({ capacityQps: 5000 }).field).toBe('capacityQps');
    expect(read({ achievedQps: 4000 }).field).toBe('achievedQps');
  });

  it('refuses a run that never reached saturation, saying why, unless forced', () => {
    // The case from the issue: a 30-query smoke run taken as a site's capacity.
    expect(msg({ ...RUN, sent: 30, durationS: 0.005, achievedQps: 5544, lossPct: 0 })).toMatch(/not a capacity: only 30 queries were sent \(at least 1000 needed\): a smoke run.*--allow-unsaturated/);
    expect(msg({ ...RUN, durationS: 1 })).toMatch(/sent for 1 s \(at least 2 s needed\)/);
    // Open loop that the node kept up with: a rate it handled, not its limit.
    expect(msg({ ...RUN, lossPct: 0.1, achievedQps: 9990 })).toMatch(/answered 9990 of 10000 q\/s offered with 0\.10% loss: it kept up/);
    // The generator could not send the asked rate: the generator was the limit.
    expect(msg({ ...RUN, sentQps: 6000, achievedQps: 6000 })).toMatch(/generator sent only 6000 of the 10000 q\/s/);
    // Closed loop without loss: nothing shows a limit.
    expect(msg({ ...RUN, mode: 'closed-loop', targetQps: null, lossPct: 0 })).toMatch(/closed-loop run with 0\.00% loss/);
    expect(msg({ kind: 'anycast-kit.loadtest.capacity', capacityQps: 9000, lowerBoundOnly: true, limitedBy: 'max-qps' })).toMatch(/stopped on max-qps before the node crossed/);
    // Saturated: answered well under the offered rate.
    expect(read({ ...RUN, lossPct: 0.2, achievedQps: 8000 }).capacityQps).toBe(8000);
    // Forced: accepted, marked.
    const forced = readCapacityResult('r.json', JSON.stringify({ ...RUN, sent: 30, durationS: 0.005, achievedQps: 5544 }), { allowUnsaturated: true });
    expect(forced.capacityQps).toBe(5544);
    expect(forced.detail).toMatch(/NOT saturated \(only 30 queries/);
  });

  it('rejects results that carry no usable capacity', () => {
    expect(msg({ kind: 'anycast-kit.loadtest.capacity', capacityQps: null })).toBe('r.json:0: (top): capacityQps: must be a number above 0, got null (the capacity search found no step inside its limits)');
    expect(msg({ kind: 'something.else' })).toBe('r.json:0: (top): kind "something.else" is not a loadtest run or capacity result');
    expect(msg([1, 2])).toContain('expected a JSON object');
    expect(() => readCapacityResult('r.json', '{')).toThrow(/r\.json:0: \(top\): not JSON/);
    expect(msg({ qps: 1 })).toContain('no top-level "capacityQps"');
  });
});
