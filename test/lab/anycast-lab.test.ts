// End to end: `anycast-kit lab anycast` (the built CLI) builds the namespaces, sends load
// from 250 client sources through kernel ECMP to real nodes, kills one node, checks the
// emulated switch withdrew it inside the SLA/track window and the others took its load,
// and tears everything down. Traffic stays inside the namespaces the lab creates.
// Skips (with the reason) unless root with network namespaces.

import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labUnavailable } from '../../lab/anycast/run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = `${root}dist/cli/main.js`;

const why = await labUnavailable();
const built = existsSync(MAIN) && existsSync(`${root}dist/lab/anycast/switch-main.js`);
const skipReason = why ?? (built ? undefined : 'dist/ is not built (npm run build)');
if (skipReason) console.warn(`anycast lab e2e skipped: ${skipReason}`);

/** akl-<pid>-* namespaces of one lab run. */
function namespacesOf(pid: number): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`akl-${pid}-`));
}

describe.skipIf(!!skipReason)('anycast-kit lab anycast (root, network namespaces)', () => {
  it('spreads load per the kernel exact-route table, withdraws a killed node in the SLA/track window, tears down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'akl-test-'));
    try {
      const child = spawn(process.execPath, [MAIN, 'lab', 'anycast', '--only', 'shares,nodeLoss', '--shares-duration', '2', '--qps', '300', '--out', dir, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => { out += String(d); });
      child.stderr.on('data', (d) => { err += String(d); });
      const timer = setTimeout(() => child.kill('SIGINT'), 80_000);
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      clearTimeout(timer);
      expect(code, err).toBe(0);
      const j = JSON.parse(out.trim().split('\n').at(-1)!);
      // Shares: every node within 5 points of the prediction.
      expect(j.shares.nodes).toHaveLength(3);
      expect(j.shares.maxErrorPct).toBeLessThanOrEqual(5);
      expect(j.shares.nodes.reduce((a: number, n: { measuredPct: number }) => a + n.measuredPct, 0)).toBeCloseTo(100, 0);
      // Node loss: withdrawn, inside the predicted window, the others took its load.
      expect(j.nodeLoss.withdrawnAfterS).not.toBeNull();
      expect(j.nodeLoss.inWindow, JSON.stringify(j.nodeLoss)).toBe(true);
      expect(j.nodeLoss.othersTookLoad).toBe(true);
      expect(j.nodeLoss.lostQueries).toBeGreaterThan(0);
      expect(j.nodeLoss.lostQueries).toBeLessThan(j.nodeLoss.sent / 2);
      expect(readFileSync(join(dir, 'lab-report.md'), 'utf8')).toMatch(/## Shares/);
      expect(readFileSync(join(dir, 'lab-report.html'), 'utf8')).toMatch(/<h2>Node loss under load<\/h2>/);
      // Torn down: nothing of that run is left.
      expect(namespacesOf(child.pid!)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('a crashed parent (SIGKILL) leaves nothing behind: the watchdog removes its namespaces', async () => {
    const child = spawn(process.execPath, [MAIN, 'lab', 'anycast', '--only', 'shares', '--shares-duration', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "links:" line within 30 s: ${err}`)), 30_000);
      child.stderr.on('data', (d) => {
        err += String(d);
        if (/links: /.test(err)) { clearTimeout(timer); resolve(); }
      });
    });
    expect(namespacesOf(child.pid!).length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    const t0 = Date.now();
    while (namespacesOf(child.pid!).length && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 200));
    expect(namespacesOf(child.pid!)).toEqual([]);
  }, 60_000);
});
