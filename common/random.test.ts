import { describe, expect, it } from 'vitest';
import { closeRandom, randomFill } from './random.js';

describe('randomFill', () => {
  it('fills small and large buffers, and never hands out the same bytes twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.alloc(8);
      randomFill(b);
      seen.add(b.toString('hex'));
    }
    // 3000 draws of 64 bits: a repeat would mean bytes were reused.
    expect(seen.size).toBe(3000);
    const big = Buffer.alloc(100_000);
    randomFill(big);
    // Every byte value shows up in 100k uniform bytes (the chance one does not is ~1e-165).
    expect(new Set(big).size).toBe(256);
    closeRandom();
    const again = Buffer.alloc(300);
    randomFill(again);
    expect(again.equals(Buffer.alloc(300))).toBe(false);
  });
});
