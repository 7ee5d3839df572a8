// YAML files whose every value can be traced back to "file:line". Inventories,
// topologies and node configs all report errors as FILE:LINE: FIELD: MESSAGE, and
// keep collecting after the first one so an operator fixes everything in one pass.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Document, LineCounter } from 'yaml';

// yaml is loaded on first use, not at import: loading it costs about 4 MiB of heap
// and 9 MiB of RSS (measured on Node 24), and a resolver started from flags alone
// never reads a file (resolver/README.md, "Memory").
type Yaml = typeof import('yaml');
let yamlModule: Yaml | undefined;
function yaml(): Yaml {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as Yaml);
}

export type FieldPath = Array<string | number>;

export interface ConfigIssue {
  file: string;
  line: number;
  /** Dotted path with indices, e.g. "sites[0].switches[1].nodes[3].address". */
  field: string;
  message: string;
}

/** ConfigError's machine code (a closed set of one; see docs/errors.md). */
export type ConfigErrorCode = 'CONFIG';

/** Thrown when a file has one or more problems; `issues` lists them all. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode = 'CONFIG';
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}: ${i.field || '(top)'}: ${i.message}`;
}

export function formatPath(path: FieldPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

export class YamlSource {
  readonly file: string;
  readonly data: unknown;
  private readonly doc: Document.Parsed;
  private readonly lines: LineCounter;
  readonly issues: ConfigIssue[] = [];

  private constructor(file: string, text: string) {
    this.file = file;
    const { LineCounter, parseDocument } = yaml();
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    for (const e of this.doc.errors) {
      const line = e.linePos?.[0]?.line ?? 1;
      this.issues.push({ file, line, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}` });
    }
    this.data = this.doc.errors.length ? undefined : this.doc.toJS({ maxAliasCount: 100 });
  }

  /** Reads and parses a file; an unreadable file becomes a ConfigError naming it. */
  static load(file: string): YamlSource {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([{ file, line: 0, field: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
    }
    return new YamlSource(file, text);
  }

  static fromText(file: string, text: string): YamlSource {
    return new YamlSource(file, text);
  }

  /** Line of the value at `path`, or of its nearest ancestor that exists. */
  lineOf(path: FieldPath): number {
    const { isMap, isNode, isSeq } = yaml();
    let node: unknown = this.doc.contents;
    let best = node;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isNode(p.key) ? (p.key as { value?: unknown }).value : p.key) === key);
        if (!pair) break;
        node = pair.value ?? pair.key;
        best = pair.key ?? node;
        if (isNode(node)) best = node;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        if (!node) break;
        best = node;
      } else break;
    }
    const range = isNode(best) ? best.range : undefined;
    return range ? this.lines.linePos(range[0]).line : 1;
  }

  /** Records a problem at `path`; validation goes on. */
  error(path: FieldPath, message: string): void {
    this.issues.push({ file: this.file, line: this.lineOf(path), field: formatPath(path), message });
  }

  /** Throws a ConfigError if anything was recorded. */
  throwIfIssues(): void {
    if (this.issues.length) throw new ConfigError(this.issues.slice().sort((a, b) => a.line - b.line));
  }
}
