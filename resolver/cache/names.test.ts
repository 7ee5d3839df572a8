import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fastLower, fastParent } from './names.js';
import { lowerName, parentName } from '../../dns/name.js';

describe('fast name helpers agree with dns/name.ts', () => {
  it('on examples', () => {
    expect(fastLower('www.example.com')).toBe('www.example.com');
    expect(fastLower('WwW.Example.COM')).toBe('www.example.com');
    expect(fastParent('www.example.com')).toBe('example.com');
    expect(fastParent('com')).toBe('');
    expect(fastParent('')).toBeNull();
    expect(fastParent('a\\.b.example')).toBe('example');
  });

  it('on random names', () => {
    const label = fc.stringMatching(/^([A-Za-z0-9-]|\\\.|\\\\){1,8}$/);
    fc.assert(fc.property(fc.array(label, { maxLength: 5 }), (labels) => {
      const name = labels.join('.');
      expect(fastLower(name)).toBe(lowerName(name));
      expect(fastParent(name)).toBe(parentName(name));
    }), { numRuns: 2000 });
  });
});
