// Layering, checked on every `npm test`: no import cycles anywhere in the repository,
// and no part imports cli/ (the bin layer sits on top; shared helpers live in common/).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImportGraph, findCycles, importSpecifiers, importsInto, type ImportGraph } from './import-graph.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PARTS = ['resolver', 'healthcheck', 'ios-templates', 'loadtest', 'dns', 'common', 'lab', 'native'];

const graph = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

describe('the import-graph checker', () => {
  it('finds a two-file cycle and a longer one, and nothing in an acyclic graph', () => {
    expect(findCycles(graph({ 'a.ts': ['b.ts'], 'b.ts': ['a.ts'], 'c.ts': ['a.ts'] }))).toEqual([['a.ts', 'b.ts']]);
    expect(findCycles(graph({ 'x.ts': ['y.ts'], 'y.ts': ['z.ts'], 'z.ts': ['x.ts'], 'w.ts': [] }))).toEqual([['x.ts', 'y.ts', 'z.ts']]);
    expect(findCycles(graph({ 'self.ts': ['self.ts'] }))).toEqual([['self.ts']]);
    // A diamond is not a cycle.
    expect(findCycles(graph({ 'a.ts': ['b.ts', 'c.ts'], 'b.ts': ['d.ts'], 'c.ts': ['d.ts'], 'd.ts': [] }))).toEqual([]);
  });

  it('reads every kind of import, and none in comments or strings', () => {
    const src = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "import './side-effect.js';",
      "const d = await import('./d.js');",
      "import x from 'yaml';",
      "import fs from 'node:fs';",
      "// import { no } from './comment.js';",
      "const s = \"import { no } from './string.js'\";",
    ].join('\n');
    expect(importSpecifiers(src).sort()).toEqual(['../b.js', './a.js', './c.js', './d.js', './side-effect.js']);
  });

  const dir = mkdtempSync(join(tmpdir(), 'ak-import-graph-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds the graph of a small tree on disk, .js specifiers resolved to .ts, and finds its cycle and its cli/ import', () => {
    const write = (f: string, text: string) => { mkdirSync(dirname(join(dir, f)), { recursive: true }); writeFileSync(join(dir, f), text); };
    write('cli/main.ts', "import { p } from '../part/p.js';\n");
    write('part/p.ts', "import { q } from './q.js';\nexport const p = q;\n");
    write('cli/usage.ts', "export const usage = 'x';\n");
    write('part/q.ts', "import { p } from './p.js';\nimport { usage } from '../cli/usage.js';\nexport const q = 1;\n");
    write('node_modules/dep/index.ts', "import './x.js';\n");
    const g = buildImportGraph(dir);
    expect([...g.keys()].sort()).toEqual(['cli/main.ts', 'cli/usage.ts', 'part/p.ts', 'part/q.ts']);
    expect(findCycles(g)).toEqual([['part/p.ts', 'part/q.ts']]);
    expect(importsInto(g, ['part'], 'cli')).toEqual(['part/q.ts -> cli/usage.ts']);
  });
});

describe('the repository', () => {
  const g = buildImportGraph(ROOT);

  it('has the files the checks walk over', () => {
    // A broken walk (wrong root) would find no cycle and no cli/ import in an empty graph.
    expect(g.size).toBeGreaterThan(150);
    expect(g.get('cli/main.ts')?.length).toBeGreaterThan(0);
  });

  it('has no import cycles', () => {
    expect(findCycles(g).map((c) => c.join(' <-> '))).toEqual([]);
  });

  it('no part imports cli/', () => {
    expect(importsInto(g, PARTS, 'cli')).toEqual([]);
  });
});
