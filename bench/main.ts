// npm run bench [-- --quick] [-- --only NAME[,NAME]]
// Runs each side-by-side benchmark in turn (never in parallel: they share 2 cores),
// prints a table per bench and writes bench/results/latest.json and latest.md.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import type { BenchReport } from './types.js';

const BENCHES = ['codec', 'resolver', 'dnssec', 'flood', 'memory', 'generator', 'model', 'warm-start'] as const;

function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '(no rows)';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v ?? ''));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => '| ' + vals.map((v, i) => v.padEnd(widths[i])).join(' | ') + ' |';
  return [line(cols), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`usage: npm run bench [-- --quick] [-- --only ${BENCHES.join(',')}]\n`);
    return 0;
  }
  const only = values.only ? values.only.split(',') : [...BENCHES];
  const unknown = only.filter((n) => !(BENCHES as readonly string[]).includes(n));
  if (unknown.length) {
    process.stderr.write(`bench: unknown bench ${unknown.join(', ')} (have ${BENCHES.join(', ')})\n`);
    return 2;
  }
  const header = `anycast-kit bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${new Date().toISOString()}`;
  process.stdout.write(header + '\n\n');
  const reports: BenchReport[] = [];
  let failed = 0;
  for (const name of only) {
    const started = Date.now();
    try {
      const mod = (await import(`./${name}.js`)) as { bench: (o: { quick: boolean }) => Promise<BenchReport> };
      const r = await mod.bench({ quick: !!values.quick });
      reports.push(r);
      process.stdout.write(`## ${r.title}  (${((Date.now() - started) / 1000).toFixed(1)} s)\n\n${table(r.rows)}\n`);
      for (const n of r.notes) process.stdout.write(`- ${n}\n`);
      process.stdout.write('\n');
    } catch (err) {
      failed++;
      const msg = (err as Error).message ?? String(err);
      reports.push({ title: name, rows: [], notes: [`FAILED: ${msg}`] });
      process.stdout.write(`## ${name}\n\nFAILED: ${msg}\n\n`);
    }
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', JSON.stringify({ header, reports }, null, 2));
  writeFileSync('bench/results/latest.md', [header, '', ...reports.map((r) => `## ${r.title}\n\n${table(r.rows)}\n${r.notes.map((n) => `- ${n}`).join('\n')}\n`)].join('\n'));
  process.stdout.write('saved bench/results/latest.json and latest.md\n');
  return failed ? 1 : 0;
}

main().then((c) => { process.exitCode = c; }, (e: unknown) => { process.stderr.write(String(e) + '\n'); process.exitCode = 1; });
