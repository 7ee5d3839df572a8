// ChurnMap: a Map whose deleted values cannot be kept alive by the hash tables V8
// leaves in the old generation (common/churn-map.ts).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ChurnMap } from './churn-map.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('ChurnMap', () => {
  it('behaves as a Map for get, set, has, delete, size, values, entries and clear', () => {
    const m = new ChurnMap<string, { n: number }>();
    const a = { n: 1 };
    const b = { n: 2 };
    m.set('a', a).set('b', b);
    expect(m.size).toBe(2);
    expect(m.get('a')).toBe(a);
    expect(m.has('b')).toBe(true);
    m.set('a', b); // replacing keeps the insertion order
    expect([...m.entries()]).toEqual([['a', b], ['b', b]]);
    expect(m.delete('a')).toBe(true);
    expect(m.delete('a')).toBe(false);
    expect(m.get('a')).toBeUndefined();
    expect(m.has('a')).toBe(false);
    expect([...m.values()]).toEqual([b]);
    m.clear();
    expect(m.size).toBe(0);
    expect([...m.values()]).toEqual([]);
  });

  it('lets a deleted value die in the young generation where a Map, once its table is old, gets it promoted', () => {
    // A child process with --expose-gc and a fixed 64 MiB young generation (no GC but the
    // ones asked for). Each map's table is first made old (entries kept across full GCs);
    // then 50 rounds of 16 entries set and deleted (each a graph of 500 small objects),
    // with a young-generation GC after each round. What the old generation gained is what
    // the replaced tables kept alive.
    const mod = pathToFileURL(join(ROOT, 'dist/common/churn-map.js')).href;
    const script = `
      import { ChurnMap } from ${JSON.stringify(mod)};
      import v8 from 'node:v8';
      const oldUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
      const graph = () => { const a = []; for (let i = 0; i < 500; i++) a.push({ i, s: 'x' + i, n: [i] }); return a; };
      function run(m) {
        for (let i = 0; i < 8; i++) m.set('k' + i, graph());
        gc(); gc();
        for (let i = 0; i < 8; i++) m.delete('k' + i);
        gc();
        const before = oldUsed();
        let key = 0;
        for (let round = 0; round < 50; round++) {
          for (let j = 0; j < 16; j++) m.set('q' + (key + j), graph());
          for (let j = 0; j < 16; j++) m.delete('q' + (key + j));
          key += 16;
          gc({ type: 'minor' });
        }
        gc({ type: 'minor' }); gc({ type: 'minor' });
        return oldUsed() - before;
      }
      console.log(JSON.stringify({ map: run(new Map()), churn: run(new ChurnMap()) }));`;
    const out = execFileSync(process.execPath, ['--expose-gc', '--max-semi-space-size=64', '--min-semi-space-size=64', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    const { map, churn } = JSON.parse(out) as { map: number; churn: number };
    // The control: a plain Map's replaced tables kept tens of MB of deleted graphs alive (53.8 MB measured).
    expect(map).toBeGreaterThan(10 * 1024 * 1024);
    // ChurnMap: only the boxes and key strings (0.19 MB measured).
    expect(churn).toBeLessThan(map / 20);
  });
});
