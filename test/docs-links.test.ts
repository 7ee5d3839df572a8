// Documentation points only inside the repository: no file cites notes that a clone
// does not have, and every relative Markdown link names a file or folder that exists.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP = new Set(['node_modules', 'dist', '.git']);

function files(dir: string, exts: string[], out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, exts, out);
    else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out;
}

/** Relative link targets in Markdown text, without their #fragment. */
function relativeLinks(md: string): string[] {
  const out: string[] = [];
  for (const m of md.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1];
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
    out.push(target.replace(/#.*$/, ''));
  }
  return out;
}

describe('docs', () => {
  it('finds relative links, not URLs or anchors', () => {
    expect(relativeLinks('[a](x/README.md#top) [b](https://e.org/) [c](#here) [d](../y.md)')).toEqual(['x/README.md', '../y.md']);
  });

  it('no code or doc cites a file outside the repository', () => {
    // The notes and design files the project was started from live outside it; such a
    // file named without a path counts only while the repository has no file of that name.
    const all = files(ROOT, ['.ts', '.md', '.mjs', '.c', '.yaml', '.json']).filter((f) => !f.endsWith(`test${sep}docs-links.test.ts`));
    const have = new Set(files(ROOT, ['.md']).map((f) => f.slice(f.lastIndexOf(sep) + 1)));
    // Spelt from parts, so that this checker does not itself cite them.
    const [notes, design] = ['notes', 'design'].map((b) => b.toUpperCase());
    const bare = [notes, design].map((b) => `${b}.md`).filter((n) => !have.has(n));
    const outside = new RegExp([`shared\\/${notes}`, '\\.\\.\\/shared\\b', `shared ${notes}`, ...bare.map((n) => `(?<![\\w/.-])${n.replace('.', '\\.')}`)].join('|'));
    const bad = all.filter((f) => outside.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f));
    expect(bad).toEqual([]);
  });

  it('every relative link in a README or docs/ page resolves', () => {
    const mds = files(ROOT, ['.md']);
    expect(mds.length).toBeGreaterThan(8);
    const broken: string[] = [];
    for (const f of mds) {
      for (const link of relativeLinks(readFileSync(f, 'utf8'))) {
        if (!existsSync(join(dirname(f), link))) broken.push(`${relative(ROOT, f)}: ${link}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
