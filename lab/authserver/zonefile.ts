// RFC 1035 section 5 master files ("zone files"), as NSD and BIND read them:
// $ORIGIN, $TTL, $INCLUDE, relative names, "@", blank owner = previous owner,
// parentheses across lines, ";" comments, TTL and class in either order (both
// optional), the types dns/rdata.ts knows, and the RFC 3597 generic form
// (TYPEnnn / \# LEN HEX) for every other type.
//
// Errors never throw mid-file: every problem is collected as FILE:LINE: message
// so an operator fixes the whole file in one pass.

import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { CLASS, TYPE, parseClass, parseType, typeName } from '../../dns/constants.js';
import { WireError } from '../../dns/errors.js';
import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, nameToLabels, normalizeName } from '../../dns/name.js';
import { rdataFromText } from '../../dns/rdata.js';

/** A record as read from a file, with where it came from (for later validation errors). */
export interface ZoneRecord extends ResourceRecord {
  file: string;
  line: number;
}

export interface ZoneFileIssue {
  file: string;
  line: number;
  message: string;
}

/** ZoneFileError's machine code (a closed set of one; see docs/errors.md). */
export type ZoneFileErrorCode = 'ZONE_FILE';

export class ZoneFileError extends Error {
  readonly code: ZoneFileErrorCode = 'ZONE_FILE';
  readonly issues: ZoneFileIssue[];
  constructor(issues: ZoneFileIssue[]) {
    super(issues.map(formatZoneIssue).join('\n'));
    this.name = 'ZoneFileError';
    this.issues = issues;
  }
}

export function formatZoneIssue(i: ZoneFileIssue): string {
  return `${i.file}:${i.line}: ${i.message}`;
}

export interface ParseOptions {
  /** Name used in error messages and as the base for $INCLUDE (default "zone"). */
  file?: string;
  /** Initial $ORIGIN (the zone's name), presentation form; "" or "." is the root. */
  origin: string;
  /** TTL used before any $TTL or explicit TTL; default: none (an error, unless an SOA gives one). */
  defaultTtl?: number;
  /** Reads an $INCLUDEd file; default readFileSync. Tests pass a map. */
  readFile?: (path: string) => string;
}

export interface ParseResult {
  records: ZoneRecord[];
  issues: ZoneFileIssue[];
}

const MAX_ISSUES = 100;
const MAX_INCLUDE_DEPTH = 8;
/** RFC 2181 section 8: TTLs are 31-bit. */
const MAX_TTL = 0x7fffffff;

interface Token {
  text: string;
  quoted: boolean;
}

interface LogicalLine {
  line: number;
  /** The line began with a space or tab: the owner is the previous one. */
  blankOwner: boolean;
  tokens: Token[];
  /** The lexer already reported a problem here: don't report it twice. */
  broken?: boolean;
}

/**
 * Splits a file into logical lines: a newline inside parentheses does not end an
 * entry. Quoted strings keep their escapes; comments are dropped.
 */
export function lexLines(text: string, file: string, issues: ZoneFileIssue[]): LogicalLine[] {
  const out: LogicalLine[] = [];
  let line = 1;
  let cur: LogicalLine | null = null;
  let depth = 0;
  let parenLine = 0;
  let i = 0;
  const n = text.length;
  const startLine = (): LogicalLine => {
    if (!cur) {
      cur = { line, blankOwner: false, tokens: [] };
    }
    return cur;
  };
  let atLineStart = true;
  while (i < n) {
    const c = text[i];
    if (atLineStart) {
      atLineStart = false;
      if (depth === 0) cur = { line, blankOwner: c === ' ' || c === '\t', tokens: [] };
    }
    if (c === '\n') {
      line++;
      i++;
      atLineStart = true;
      if (depth === 0 && cur) {
        if ((cur as LogicalLine).tokens.length) out.push(cur);
        cur = null;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === ';') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '(') {
      if (depth === 0) parenLine = line;
      depth++;
      i++;
      startLine();
      continue;
    }
    if (c === ')') {
      if (depth === 0) issues.push({ file, line, message: 'closing parenthesis without an opening one' });
      else depth--;
      i++;
      continue;
    }
    const ll = startLine();
    if (c === '"') {
      let j = i + 1;
      let body = '';
      let closed = false;
      while (j < n) {
        const d = text[j];
        if (d === '\\' && j + 1 < n) { body += d + text[j + 1]; j += 2; continue; }
        if (d === '"') { closed = true; break; }
        if (d === '\n') break;
        body += d;
        j++;
      }
      if (!closed) {
        issues.push({ file, line, message: 'quoted string is not closed on its line' });
        ll.broken = true;
        i = j;
        continue;
      }
      ll.tokens.push({ text: '"' + body + '"', quoted: true });
      i = j + 1;
      continue;
    }
    let j = i;
    let tok = '';
    while (j < n) {
      const d = text[j];
      if (d === '\\' && j + 1 < n && text[j + 1] !== '\n') { tok += d + text[j + 1]; j += 2; continue; }
      if (d === ' ' || d === '\t' || d === '\r' || d === '\n' || d === ';' || d === '(' || d === ')' || d === '"') break;
      tok += d;
      j++;
    }
    ll.tokens.push({ text: tok, quoted: false });
    i = j;
  }
  if (depth > 0) {
    issues.push({ file, line: parenLine, message: 'parenthesis opened here is never closed' });
    if (cur) (cur as LogicalLine).broken = true;
  }
  if (cur && (cur as LogicalLine).tokens.length) out.push(cur);
  return out;
}

/** TTL as seconds or BIND units (1w2d3h4m5s), case-insensitive. */
export function parseTtl(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const v = Number(text);
    return v <= MAX_TTL ? v : undefined;
  }
  if (!/^(\d+[wdhms])+$/i.test(text)) return undefined;
  const mult: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
  let total = 0;
  for (const m of text.matchAll(/(\d+)([wdhms])/gi)) total += Number(m[1]) * mult[m[2].toLowerCase()];
  return total <= MAX_TTL ? total : undefined;
}

function endsWithUnescapedDot(name: string): boolean {
  if (!name.endsWith('.')) return false;
  let bs = 0;
  for (let i = name.length - 2; i >= 0 && name[i] === '\\'; i--) bs++;
  return bs % 2 === 0;
}

/** Makes a name absolute against `origin` (no trailing dot in the result). Throws WireError when invalid. */
export function absoluteName(name: string, origin: string): string {
  if (name === '@') return origin;
  if (name === '.') return '';
  if (endsWithUnescapedDot(name)) return normalizeName(name);
  const full = origin === '' ? name : `${name}.${origin}`;
  nameToLabels(full); // validates lengths and escapes
  return normalizeName(full);
}

interface State {
  origin: string;
  ttl: number | undefined;
  lastTtl: number | undefined;
  lastOwner: string | undefined;
}

/** Parses zone file text. Never throws: problems are returned in `issues`. */
export function parseZoneText(text: string, opts: ParseOptions): ParseResult {
  const file = opts.file ?? 'zone';
  const records: ZoneRecord[] = [];
  const issues: ZoneFileIssue[] = [];
  let origin: string;
  try {
    origin = absoluteName(opts.origin === '' ? '.' : opts.origin.endsWith('.') ? opts.origin : opts.origin + '.', '');
  } catch (err) {
    issues.push({ file, line: 0, message: `zone origin "${opts.origin}": ${(err as Error).message}` });
    return { records, issues };
  }
  const state: State = { origin, ttl: opts.defaultTtl, lastTtl: undefined, lastOwner: undefined };
  parseInto(text, file, state, opts, records, issues, 0);
  // Lexer problems are found before the lines are read: put everything in file order.
  const order = new Map<string, number>();
  for (const i of issues) if (!order.has(i.file)) order.set(i.file, order.size);
  issues.sort((a, b) => (a.file === b.file ? a.line - b.line : order.get(a.file)! - order.get(b.file)!));
  return { records, issues: issues.slice(0, MAX_ISSUES) };
}

function parseInto(
  text: string, file: string, state: State, opts: ParseOptions,
  records: ZoneRecord[], issues: ZoneFileIssue[], depth: number,
): void {
  const lines = lexLines(text, file, issues);
  for (const ll of lines) {
    if (issues.length >= MAX_ISSUES) return;
    if (ll.broken) continue;
    const err = (message: string) => issues.push({ file, line: ll.line, message });
    const toks = ll.tokens;
    const first = toks[0];
    if (!ll.blankOwner && !first.quoted && first.text.startsWith('$')) {
      const dir = first.text.toUpperCase();
      if (dir === '$ORIGIN') {
        if (toks.length !== 2) { err('$ORIGIN needs exactly one name'); continue; }
        if (!endsWithUnescapedDot(toks[1].text) && toks[1].text !== '@') {
          // RFC 1035 allows a relative $ORIGIN (appended to the current one); BIND warns. Accept it.
        }
        try { state.origin = absoluteName(toks[1].text, state.origin); } catch (e) { err(`$ORIGIN: ${(e as Error).message}`); }
      } else if (dir === '$TTL') {
        const t = toks.length === 2 ? parseTtl(toks[1].text) : undefined;
        if (t === undefined) { err(`$TTL needs one TTL in seconds (0-${MAX_TTL}) or units like 1h30m`); continue; }
        state.ttl = t;
      } else if (dir === '$INCLUDE') {
        if (toks.length < 2 || toks.length > 3) { err('$INCLUDE needs a file name and an optional origin'); continue; }
        if (depth >= MAX_INCLUDE_DEPTH) { err(`$INCLUDE nested deeper than ${MAX_INCLUDE_DEPTH}`); continue; }
        const path = resolvePath(dirname(file), toks[1].text.replace(/^"|"$/g, ''));
        let body: string;
        try {
          body = (opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
        } catch (e) {
          err(`$INCLUDE ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
          continue;
        }
        // The included file gets its own origin; ours is restored afterwards (RFC 1035 5.1).
        const saved = state.origin;
        if (toks[2]) {
          try { state.origin = absoluteName(toks[2].text, state.origin); } catch (e) { err(`$INCLUDE origin: ${(e as Error).message}`); continue; }
        }
        parseInto(body, path, state, opts, records, issues, depth + 1);
        state.origin = saved;
      } else {
        err(`unsupported directive ${first.text} (supported: $ORIGIN, $TTL, $INCLUDE)`);
      }
      continue;
    }

    // Owner.
    let pos = 0;
    let owner: string;
    if (ll.blankOwner) {
      if (state.lastOwner === undefined) { err('record has no owner name and there is no previous one'); continue; }
      owner = state.lastOwner;
    } else {
      if (first.quoted) { err('owner name cannot be a quoted string'); continue; }
      try { owner = absoluteName(first.text, state.origin); } catch (e) { err(`owner "${first.text}": ${(e as Error).message}`); continue; }
      pos = 1;
    }
    state.lastOwner = owner;

    // [TTL] [class] or [class] [TTL], then type.
    let ttl: number | undefined;
    let cls: number | undefined;
    let type: number | undefined;
    let bad = false;
    while (pos < toks.length) {
      const t = toks[pos];
      if (t.quoted) break;
      const asTtl = ttl === undefined && /^\d/.test(t.text) ? parseTtl(t.text) : undefined;
      if (ttl === undefined && /^\d/.test(t.text)) {
        if (asTtl === undefined) { err(`TTL "${t.text}" is not a number of seconds (0-${MAX_TTL}) or units like 1h30m`); bad = true; break; }
        ttl = asTtl;
        pos++;
        continue;
      }
      if (cls === undefined && /^(IN|CH|HS|CLASS\d+)$/i.test(t.text)) {
        cls = parseClass(t.text);
        if (cls === undefined) { err(`class "${t.text}" is not valid`); bad = true; break; }
        pos++;
        continue;
      }
      type = parseType(t.text);
      if (type === undefined) { err(`"${t.text}" is not a known type, TTL or class (use TYPEnnn with \\# for other types)`); bad = true; }
      pos++;
      break;
    }
    if (bad) continue;
    if (type === undefined) { err('record has no type'); continue; }
    if (cls !== undefined && cls !== CLASS.IN) { err(`class ${toks.find((t) => /^(CH|HS|CLASS\d+)$/i.test(t.text))?.text ?? cls}: only class IN is served`); continue; }
    if (type === TYPE.OPT || (type >= 128 && type <= 255)) { err(`type ${typeName(type)} cannot appear in a zone`); continue; }

    const rdataText = toks.slice(pos).map((t) => t.text).join(' ');
    if (rdataText === '') { err(`${typeName(type)} record has no rdata`); continue; }
    let rdata: Buffer;
    try {
      rdata = rdataFromText(type, rdataText, (nm) => absoluteName(nm, state.origin));
    } catch (e) {
      const msg = e instanceof WireError ? e.message : String((e as Error).message ?? e);
      err(`${typeName(type)} rdata "${rdataText}": ${msg}`);
      continue;
    }
    if (type === TYPE.SOA && state.ttl === undefined && ttl === undefined) {
      // RFC 1035 leaves this open; BIND and NSD fall back to the SOA minimum.
      const minimum = rdata.readUInt32BE(rdata.length - 4);
      ttl = minimum;
    }
    if (ttl === undefined) ttl = state.ttl ?? state.lastTtl;
    if (ttl === undefined) { err('no TTL on this record and no $TTL before it'); continue; }
    state.lastTtl = ttl;
    records.push({ name: owner, type, class: CLASS.IN, ttl, rdata, file, line: ll.line });
  }
}

/** Reads and parses a zone file; throws ZoneFileError listing every problem. */
export function parseZoneFile(path: string, origin: string, readFile?: (p: string) => string): ZoneRecord[] {
  let text: string;
  try {
    text = (readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
  } catch (err) {
    throw new ZoneFileError([{ file: path, line: 0, message: `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }]);
  }
  const r = parseZoneText(text, { file: path, origin, readFile });
  if (r.issues.length) throw new ZoneFileError(r.issues);
  return r.records;
}

/** True when `name` is inside the zone `origin`. */
export function inZone(name: string, origin: string): boolean {
  return isSubdomain(name, origin);
}
