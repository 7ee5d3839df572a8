import { describe, expect, it } from 'vitest';
import { loadProjectVerify, validatorPresent, verifyRates } from './dnssec.js';

describe('the DNSSEC bench: verifications per second', () => {
  it('measures the node:crypto ceiling for all eight algorithms', () => {
    const rows = verifyRates(undefined, 5);
    expect(rows.map((r) => r.algorithm)).toEqual([5, 7, 8, 10, 13, 14, 15, 16]);
    for (const r of rows) {
      expect(r.ceiling).toBeGreaterThan(10);
      expect(r.project).toBeUndefined();
    }
  });

  it('loads the validator\'s verify path when the validator is in the tree, and says why not otherwise', async () => {
    const p = await loadProjectVerify();
    if (validatorPresent()) {
      expect(typeof p).not.toBe('string');
      const rows = verifyRates(typeof p === 'string' ? undefined : p, 5);
      for (const r of rows) expect(r.project).toBeGreaterThan(10);
    } else {
      expect(p).toMatch(/not in this tree/);
    }
  });

  it('a project path that rejects good signatures stops the bench instead of timing failures', () => {
    const rejecting = { verifyRRset: () => ({ ok: false }), zoneKeys: () => [], sigsFor: () => [] };
    expect(() => verifyRates(rejecting, 5)).toThrow(/verification failed/);
  });
});
