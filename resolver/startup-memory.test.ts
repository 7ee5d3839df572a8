// releaseStartupMemory (resolver/startup-memory.ts): the memory-reducing GC frees
// what start-up left dead, and malloc_trim gives the freed pages back to the kernel.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fastUdp } from '../native/index.js';
import { releaseStartupMemory } from './startup-memory.js';

const rssMiB = () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const trimmable = fastUdp()?.trim !== undefined;

describe('releaseStartupMemory', () => {
  it.skipIf(!trimmable && process.env.ANYCAST_KIT_REQUIRE_NATIVE !== '1')('gives back the pages of dead buffers that glibc kept between live ones', () => {
    // 24 KiB buffers come from malloc's arenas (below its mmap threshold); one in 16
    // stays alive, so the freed ones sit between live chunks, where only malloc_trim
    // returns them (free() gives back only the top of a heap).
    const keep: Uint8Array[] = [];
    let dead: Uint8Array[] | null = [];
    for (let i = 0; i < 800; i++) {
      const b = new Uint8Array(new ArrayBuffer(24 * 1024)).fill(1);
      (i % 16 === 0 ? keep : dead).push(b);
    }
    const before = rssMiB();
    dead = null;
    const r = releaseStartupMemory();
    const after = rssMiB();
    expect(r.gc).toBe(true);
    expect(r.trim).toBe(1);
    // 750 x 24 KiB = 17.6 MiB dead; most of it must leave RSS.
    expect(before - after).toBeGreaterThan(10);
    expect(keep.every((b) => b[0] === 1 && b[24 * 1024 - 1] === 1)).toBe(true);
  });

  it('runs the GC even where there is no addon to trim with', () => {
    const r = releaseStartupMemory();
    expect(r.gc).toBe(true);
    expect(r.ms).toBeLessThan(5000);
  });
});
