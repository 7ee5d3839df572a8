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

describe('readCapacityResult', () => {
  it('reads loadtest capacity and run results, with their caveats', () => {
    expect(read({ kind: 'anycast-kit.loadtest.capacity', version: 1, server: '127.0.0.1:53', capacityQps: 21000, lowerBoundOnly: false })).toEqual({
      capacityQps: 21000, field: 'capacityQps', file: 'r.json', detail: 'capacity search against 127.0.0.1:53',
    });
    expect(read({ kind: 'anycast-kit.loadtest.capacity', capacityQps: 9000, lowerBoundOnly: true, limitedBy: 'generator' }).detail).toBe('capacity search; a lower bound only (search stopped by generator)');
    expect(read({ kind: 'anycast-kit.loadtest.run', achievedQps: 12000, lossPct: 0.5 })).toMatchObject({ capacityQps: 12000, field: 'achievedQps', detail: 'run, 0.50% lost; a capacity only if the run saturated the node' });
    expect(read({ capacityQps: 5000 }).field).toBe('capacityQps');
    expect(read({ achievedQps: 4000 }).field).toBe('achievedQps');
  });

  it('rejects results that carry no usable capacity', () => {
    expect(msg({ kind: 'anycast-kit.loadtest.capacity', capacityQps: null })).toBe('r.json:0: (top): capacityQps: must be a number above 0, got null (the capacity search found no step inside its limits)');
    expect(msg({ kind: 'something.else' })).toBe('r.json:0: (top): kind "something.else" is not a loadtest run or capacity result');
    expect(msg([1, 2])).toContain('expected a JSON object');
    expect(() => readCapacityResult('r.json', '{')).toThrow(/r\.json:0: \(top\): not JSON/);
    expect(msg({ qps: 1 })).toContain('no top-level "capacityQps"');
  });
});
