// The repository's import graph, for the layering checks in import-graph.test.ts.
// Imports are read with TypeScript's own pre-parser (ts.preProcessFile: import,
// export-from, import(), import type), so comments and strings never count.
// Only relative imports are edges; packages and node: builtins are leaves.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** File (repository-relative, '/'-separated) -> the repository files it imports. */
export type ImportGraph = Map<string, string[]>;

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git']);

/** Every .ts file under root, except node_modules/ and dist/. */
export function tsFiles(root: string, dir = root, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || SKIP_DIRS.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) tsFiles(root, p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(relative(root, p).split(sep).join('/'));
  }
  return out;
}

/** The relative module specifiers a TypeScript source imports. */
export function importSpecifiers(source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('./') || s.startsWith('../'));
}

/** Builds the graph of every .ts file under root. An import of x.js resolves to x.ts (NodeNext ESM). */
export function buildImportGraph(root: string): ImportGraph {
  const files = tsFiles(root);
  const known = new Set(files);
  const graph: ImportGraph = new Map();
  for (const f of files) {
    const deps: string[] = [];
    for (const spec of importSpecifiers(readFileSync(join(root, f), 'utf8'))) {
      const abs = resolve(root, dirname(f), spec.replace(/\.js$/, '.ts'));
      const target = relative(root, abs).split(sep).join('/');
      if (known.has(target)) deps.push(target);
    }
    graph.set(f, deps);
  }
  return graph;
}

/**
 * The import cycles: each strongly connected component of more than one file (or a
 * file that imports itself), as its files sorted. Tarjan's algorithm.
 */
export function findCycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

/** Imports from a file under one of `from` folders into `into` folder: "a.ts -> cli/x.ts". */
export function importsInto(graph: ImportGraph, from: string[], into: string): string[] {
  const bad: string[] = [];
  for (const [f, deps] of graph) {
    if (!from.some((d) => f.startsWith(`${d}/`))) continue;
    for (const d of deps) if (d.startsWith(`${into}/`)) bad.push(`${f} -> ${d}`);
  }
  return bad.sort();
}
