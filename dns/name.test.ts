import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lowerByte, lowerName, parentName, splitLabels } from './name.js';

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
