// Memory (issue 16): the flags and environment the long-running commands re-execute
// with, the RSS of an idle resolver right after start, and the caches' own byte
// counts against what the heap really grows by when they fill.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { heapFlags, missingHeapFlags } from '../../common/runtime.js';
import { measureCacheAccounting } from '../../resolver/memory-accounting.js';
import { rrsetCacheBytes, rssCeilingBytes } from '../../resolver/memory.js';
import { fastUdp } from '../../native/index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');

describe('re-exec flags', () => {
  it('adds only the heap flags that are not given already, by name', () => {
    expect(missingHeapFlags([], '')).toEqual(heapFlags());
    expect(heapFlags()).toEqual(['--max-semi-space-size=16', '--min-semi-space-size=16', '--heap-growing-percent=50']);
    // A young generation given explicitly is its minimum too.
    expect(missingHeapFlags(['--max-semi-space-size=16'], '')).toEqual(['--min-semi-space-size=16', '--heap-growing-percent=50']);
    expect(missingHeapFlags([], '--max_semi_space_size=8 --inspect')).toEqual(['--min-semi-space-size=8', '--heap-growing-percent=50']);
    expect(missingHeapFlags(['--min-semi-space-size=2'], '')).toEqual(['--max-semi-space-size=16', '--heap-growing-percent=50']);
    expect(missingHeapFlags(['--heap-growing-percent=20', '--max-semi-space-size=4', '--min-semi-space-size=1'], '')).toEqual([]);
  });
});

describe('the memory ceiling (resolver/README.md, "Memory ceiling")', () => {
  const MiB = 1024 * 1024;
  it('is 112 MiB + 2 x semi-space (16 MiB by default) + 2 x (answers + RRsets) per worker, plus 64 MiB for a primary', () => {
    expect(rrsetCacheBytes(8 * MiB)).toBe(2 * MiB);
    expect(rrsetCacheBytes(2 * MiB)).toBe(1 * MiB);
    expect(rssCeilingBytes({ cacheBytes: 8 * MiB, workers: 1 })).toBe((112 + 32 + 20) * MiB);
    expect(rssCeilingBytes({ cacheBytes: 64 * MiB, workers: 2 })).toBe((2 * (112 + 32 + 160) + 64) * MiB);
    expect(rssCeilingBytes({ cacheBytes: 64 * MiB, workers: 1, semiSpaceMiB: 32 })).toBe((112 + 64 + 160) * MiB);
  });
});

describe('the resolver process', () => {
  it('runs with the heap flags and MALLOC_ARENA_MAX, and starts small', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const env = { ...process.env };
    delete env.MALLOC_ARENA_MAX;
    delete env.ANYCAST_KIT_NO_REEXEC;
    const child = spawn(process.execPath, [CLI, 'resolver', '--listen', '127.0.0.1:0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        let err = '';
        const t = setTimeout(() => reject(new Error(`resolver did not start: ${err}`)), 15_000);
        child.stderr!.on('data', (d) => { err += d; });
        child.stdout!.on('data', (d) => { out += d; if (out.includes('"listening"')) { clearTimeout(t); resolve(); } });
        child.once('exit', (code) => { clearTimeout(t); reject(new Error(`resolver exited ${code}: ${err}`)); });
      });
      const pid = child.pid!;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      for (const f of heapFlags()) expect(argv).toContain(f);
      expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain('MALLOC_ARENA_MAX=2');
      // Idle, right after start. Node 24 alone is ~42 MiB here (34 of it pages of its
      // executable). The resolver was 69 MiB before issue 16, 75-81 MiB with the JIT
      // warm-up (resolver/warmup.ts), and is ~40 MiB since start-up gives back what
      // only start-up used (resolver/startup-memory.ts: memory-reducing GC, malloc_trim,
      // unmapped start-up-only code pages; ~20 MiB anonymous + ~20 file-backed, with
      // the young generation's 16 MiB minimum reserved but not resident).
      // 50 MiB is issue 16's target and leaves 10 MiB for a loaded box. Without the
      // fastudp addon nothing trims or unmaps, and ~63 MiB is expected.
      const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      expect(rssKiB / 1024).toBeLessThan(fastUdp() !== null ? 50 : 80);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('keeps start-up memory (and the compiled warm-up) with warmup_release_memory: false', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const dir = mkdtempSync(join(tmpdir(), 'ak-keep-'));
    const file = join(dir, 'node.yaml');
    writeFileSync(file, 'resolver:\n  warmup_release_memory: false\n');
    const child = spawn(process.execPath, [CLI, 'resolver', '--listen', '127.0.0.1:0', '--config', file, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error(`resolver did not start: ${err}`)), 15_000);
        child.stderr!.on('data', (d) => { err += d; });
        child.stdout!.on('data', (d) => { out += d; if (out.includes('"listening"')) { clearTimeout(t); resolve(); } });
        child.once('exit', (code) => { clearTimeout(t); reject(new Error(`resolver exited ${code}: ${err}`)); });
      });
      expect(err).toContain('start-up memory: kept (warmup_release_memory: false)');
      // The warm-up ran (a loaded box may cut it short of 3000 at its time limit).
      expect(err).toMatch(/warmed up: [1-9]\d* of [1-9]\d* synthetic queries answered/);
      // Released, an idle resolver is ~40 MiB (the test above); kept, the warm-up's
      // young generation and code stay resident (110-130 MiB measured).
      const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]);
      if (fastUdp() !== null) expect(rssKiB / 1024).toBeGreaterThan(60);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cache accounting', () => {
  // Each cache's own count must stay within 25% of what the heap (V8 heap and
  // array buffers, after forced GCs) really grew by when it filled with 20k names
  // as resolutions fill it: a count that is too low would let RSS outgrow cache.max_bytes.
  it('the RRset cache and the answer cache count what they hold', () => {
    const m = measureCacheAccounting(20_000);
    expect(m.rrset.heapPerName / m.rrset.countedPerName).toBeGreaterThan(0.75);
    expect(m.rrset.heapPerName / m.rrset.countedPerName).toBeLessThan(1.25);
    expect(m.answers.heapPerName / m.answers.countedPerName).toBeGreaterThan(0.75);
    expect(m.answers.heapPerName / m.answers.countedPerName).toBeLessThan(1.25);
  });
});
