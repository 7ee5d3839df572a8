import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isSubdomain, lowerByte, lowerName, nameToWire, parentName, readName, readNameWire, splitLabels } from './name.js';

/** parentName by label splitting alone: the reference for its indexOf fast path. */
function parentByLabels(name: string): string | null {
  return name === '' ? null : splitLabels(name).slice(1).join('.');
}

describe('name helpers', () => {
  it('on examples', () => {
    expect(lowerName('www.example.com')).toBe('www.example.com');
    expect(lowerName('WwW.Example.COM')).toBe('www.example.com');
    expect(parentName('www.example.com')).toBe('example.com');
    expect(parentName('com')).toBe('');
    expect(parentName('')).toBeNull();
    expect(parentName('a\\.b.example')).toBe('example');
  });

  it('lowerName returns the same string when nothing changes (no allocation on hot paths)', () => {
    const s = ['www', 'example', 'com'].join('.');
    expect(lowerName(s)).toBe(s);
  });

  it('lowerByte folds ASCII A-Z only', () => {
    for (let c = 0; c < 256; c++) {
      const want = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
      expect(lowerByte(c)).toBe(want);
    }
  });

  it('on random names', () => {
    const label = fc.stringMatching(/^([A-Za-z0-9-]|\\\.|\\\\){1,8}$/);
    fc.assert(fc.property(fc.array(label, { maxLength: 5 }), (labels) => {
      const name = labels.join('.');
      expect(lowerName(name)).toBe(name.replace(/[A-Z]/g, (ch) => ch.toLowerCase()));
      expect(parentName(name)).toBe(parentByLabels(name));
    }), { numRuns: 2000 });
  });
});

/** The name text built label by label, character by character: the reference for readName's one-step decoding. */
function referenceText(labels: number[][]): string {
  return labels.map((l) => l.map((c) => (c === 0x2e || c === 0x5c ? '\\' + String.fromCharCode(c)
    : c > 0x20 && c < 0x7f ? String.fromCharCode(c) : '\\' + String(c).padStart(3, '0'))).join('')).join('.');
}

describe('readName and readNameWire', () => {
  const byte = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...Buffer.from('abAB-0_')) }, { weight: 1, arbitrary: fc.constantFrom(0x2e, 0x5c, 0x20, 0x21, 0x7e, 0x7f, 0) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) });
  const label = fc.array(byte, { minLength: 1, maxLength: 12 });

  it('read the same name as the reference, directly or through a compression pointer', () => {
    fc.assert(fc.property(fc.array(label, { maxLength: 6 }), fc.array(label, { maxLength: 3 }), fc.nat(6), (labels, prefix, cut) => {
      // Message: 12 header bytes, the name, then `prefix` labels followed by a pointer into the name.
      const wire = nameWire(labels);
      const at = Math.min(cut, labels.length);
      let off = 12;
      for (let i = 0; i < at; i++) off += labels[i].length + 1;
      const tail = [...prefix.flatMap((l) => [l.length, ...l]), 0xc0 | (off >> 8), off & 0xff];
      const buf = Buffer.from([...new Array(12).fill(0), ...wire, ...tail]);
      const direct = readName(buf, 12);
      expect(direct.name).toBe(referenceText(labels));
      expect(direct.end).toBe(12 + wire.length);
      expect(direct.wireLen).toBe(wire.length);
      const viaPointer = readName(buf, 12 + wire.length);
      const want = [...prefix, ...labels.slice(at)];
      expect(viaPointer.name).toBe(referenceText(want));
      expect(viaPointer.end).toBe(buf.length);
      // Wire form: exactly what re-encoding the text gives.
      const w = readNameWire(buf, 12 + wire.length);
      expect(w.wire.equals(nameToWire(viaPointer.name))).toBe(true);
      expect(w.wire.equals(Buffer.from(nameWire(want)))).toBe(true);
      expect(w.end).toBe(buf.length);
    }));
  });

  it('give the same errors on names too long, pointers forward, and truncation', () => {
    const long = Buffer.from([...Array.from({ length: 5 }, () => [60, ...new Array(60).fill(0x61)]).flat(), 0]);
    expect(() => readName(long, 0)).toThrowError(/longer than 255/);
    expect(() => readNameWire(long, 0)).toThrowError(/longer than 255/);
    const forward = Buffer.from([0xc0, 0x00]);
    expect(() => readName(forward, 0)).toThrowError(/does not point backwards/);
    expect(() => readNameWire(forward, 0)).toThrowError(/does not point backwards/);
    const cut = Buffer.from([3, 0x61, 0x62]);
    expect(() => readName(cut, 0)).toThrowError(/runs past end/);
    expect(() => readNameWire(cut, 0)).toThrowError(/runs past end/);
    // 254 bytes of wire name is the most: four 62-byte labels and the root.
    const max = Buffer.from([...Array.from({ length: 4 }, () => [62, ...new Array(62).fill(0x61)]).flat(), 0]);
    expect(readName(max, 0).wireLen).toBe(253);
    expect(readNameWire(max, 0).wire.length).toBe(253);
  });
});

function nameWire(labels: number[][]): number[] {
  return [...labels.flatMap((l) => [l.length, ...l]), 0];
}

describe('isSubdomain', () => {
  /** By labels: z's labels are the last labels of n (case-insensitive). */
  function byLabels(n: string, z: string): boolean {
    const nl = splitLabels(lowerName(n)), zl = splitLabels(lowerName(z));
    return zl.length <= nl.length && zl.every((l, i) => nl[nl.length - zl.length + i] === l);
  }
  const label = fc.array(fc.constantFrom(0x61, 0x41, 0x62, 0x2e, 0x5c, 0x31), { minLength: 1, maxLength: 3 });

  it('agrees with label-by-label comparison, escaped dots and backslashes included', () => {
    fc.assert(fc.property(fc.array(label, { maxLength: 4 }), fc.array(label, { maxLength: 3 }), fc.boolean(), (zl, prefix, related) => {
      const z = referenceText(zl);
      const n = related ? referenceText([...prefix, ...zl]) : referenceText(prefix);
      expect(isSubdomain(n, z)).toBe(byLabels(n, z));
      expect(isSubdomain(z, n)).toBe(byLabels(z, n));
    }), { numRuns: 500 });
  });
});
