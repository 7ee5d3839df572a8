// releaseStartupMemory (resolver/startup-memory.ts): the memory-reducing GC frees
// what start-up left dead, malloc_trim gives the freed pages back to the kernel,
// and only clean read-only file mappings have their pages unmapped.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fastUdp } from '../native/index.js';
import { cleanFileMappings, releaseStartupMemory } from './startup-memory.js';

const status = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const addon = fastUdp();
const needAddon = addon === null && process.env.ANYCAST_KIT_REQUIRE_NATIVE !== '1';

const SMAPS = `55d000000000-55d000400000 r--p 00000000 08:01 1234    /usr/bin/node
Rss:                1024 kB
Anonymous:             0 kB
55d000400000-55d002000000 r-xp 00400000 08:01 1234    /usr/bin/node
Rss:               20000 kB
Anonymous:             0 kB
55d002000000-55d002100000 r--p 02000000 08:01 1234    /usr/bin/node
Rss:                1024 kB
Anonymous:           512 kB
55d002100000-55d002200000 rw-p 02100000 08:01 1234    /usr/bin/node
Rss:                1024 kB
Anonymous:          1024 kB
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
Rss:                1024 kB
Anonymous:          1024 kB
7f0000200000-7f0000300000 r--s 00000000 00:01 99      /memfd:x (deleted)
Rss:                1024 kB
Anonymous:             0 kB
7f0000300000-7f0000301000 r--p 00000000 00:05 7       /dev/something
Rss:                   4 kB
Anonymous:             0 kB
7f0000400000-7f0000500000 r-xp 00000000 08:01 77      /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1024 kB
Anonymous:             0 kB
7ffc00000000-7ffc00001000 r-xp 00000000 00:00 0       [vdso]
Rss:                   4 kB
Anonymous:             0 kB
`;

describe('cleanFileMappings', () => {
  it('keeps only read-only regular-file mappings without a copy-on-write page', () => {
    expect(cleanFileMappings(SMAPS)).toEqual([
      { start: 0x55d000000000, end: 0x55d000400000, path: '/usr/bin/node' },
      { start: 0x55d000400000, end: 0x55d002000000, path: '/usr/bin/node' },
      { start: 0x7f0000400000, end: 0x7f0000500000, path: '/usr/lib/x86_64-linux-gnu/libc.so.6' },
    ]);
  });

  it('finds this process\'s own executable among them', () => {
    const maps = cleanFileMappings(readFileSync('/proc/self/smaps', 'utf8'));
    expect(maps.some((m) => m.path === process.execPath)).toBe(true);
    expect(maps.every((m) => m.end > m.start)).toBe(true);
  });
});

describe.skipIf(needAddon)('releaseStartupMemory', () => {
  it('gives back the pages of dead buffers that glibc kept between live ones, and unmaps clean code pages', () => {
    // 24 KiB buffers come from malloc's arenas (below its mmap threshold); one in 16
    // stays alive, so the freed ones sit between live chunks, where only malloc_trim
    // returns them (free() gives back only the top of a heap).
    const keep: Uint8Array[] = [];
    let dead: Uint8Array[] | null = [];
    for (let i = 0; i < 800; i++) {
      const b = new Uint8Array(new ArrayBuffer(24 * 1024)).fill(1);
      (i % 16 === 0 ? keep : dead).push(b);
    }
    const anonBefore = status('RssAnon');
    const fileBefore = status('RssFile');
    dead = null;
    const r = releaseStartupMemory();
    const anonAfter = status('RssAnon');
    const fileAfter = status('RssFile');
    expect(r.gc).toBe(true);
    expect(r.trim).toBe(1);
    // 750 x 24 KiB = 17.6 MiB dead; most of it must leave RSS.
    expect(anonBefore - anonAfter).toBeGreaterThan(10);
    expect(r.droppedBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(fileAfter).toBeLessThan(fileBefore);
    // The live buffers and the code are intact (this test keeps running on it).
    expect(keep.every((b) => b[0] === 1 && b[24 * 1024 - 1] === 1)).toBe(true);
    expect(JSON.parse(JSON.stringify({ a: [1, 'x'] }))).toEqual({ a: [1, 'x'] });
  });
});

describe('releaseStartupMemory, addon or not', () => {
  it('always runs the GC', () => {
    const r = releaseStartupMemory();
    expect(r.gc).toBe(true);
    expect(r.ms).toBeLessThan(5000);
  });
});
