import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ResourceRecord } from '../../dns/message.js';
import { lowerName } from '../../dns/name.js';
import { groupRRsets, rrsetMinTtls } from './rrset-group.js';

/** The reference: a Map keyed by lower-cased owner, type and class. */
function refGroups(records: ResourceRecord[]): ResourceRecord[][] {
  const map = new Map<string, ResourceRecord[]>();
  for (const r of records) {
    const k = `${lowerName(r.name)}|${r.type}|${r.class}`;
    const list = map.get(k);
    if (list) list.push(r); else map.set(k, [r]);
  }
  return [...map.values()];
}

function refMinTtls(records: ResourceRecord[]): number[] {
  const sets = refGroups(records);
  return records.map((r) => Math.min(...sets.find((s) => s.includes(r))!.map((x) => x.ttl)));
}

const record = fc.record({
  name: fc.constantFrom('a.example', 'A.Example', 'b.example', 'B.EXAMPLE', 'a\\.b.example', 'example', ''),
  type: fc.constantFrom(1, 5, 28),
  class: fc.constantFrom(1, 3),
  ttl: fc.nat(1000),
  rdata: fc.constant(Buffer.alloc(0)),
});

describe('RRset grouping', () => {
  it('groups as the Map-keyed reference does, in the same order, short lists and long ones', () => {
    fc.assert(fc.property(fc.array(record, { maxLength: 80 }), (records) => {
      expect(groupRRsets(records)).toEqual(refGroups(records));
      // Same objects, not copies.
      const flat = groupRRsets(records).flat();
      expect(new Set(flat)).toEqual(new Set(records));
      expect(rrsetMinTtls(records)).toEqual(refMinTtls(records));
    }), { numRuns: 300 });
  });

  it('on an example: owners compared without case, types and classes apart', () => {
    const rr = (name: string, type: number, ttl: number, cls = 1): ResourceRecord => ({ name, type, class: cls, ttl, rdata: Buffer.alloc(0) });
    const recs = [rr('www.Example', 1, 300), rr('www.example', 28, 50), rr('WWW.example', 1, 100), rr('www.example', 1, 10, 3)];
    expect(groupRRsets(recs).map((g) => g.length)).toEqual([2, 1, 1]);
    expect(rrsetMinTtls(recs)).toEqual([100, 50, 100, 10]);
  });
});
