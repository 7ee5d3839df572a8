// The dnsperf query-file format: one "name TYPE" per line, "#" starts a comment,
// blank lines are skipped. A line with only a name asks for type A, as dnsperf does.
// Every query is encoded once here (dns/buildQuery); the sender only copies the
// bytes and patches the ID, so per-query cost at send time is a memcpy.

import { readFileSync, statSync } from 'node:fs';
import { buildQuery, normalizeName, parseType, typeName, WireError } from '../../dns/index.js';

/** QueryFileError's machine code (a closed set of one; see docs/errors.md). */
export type QueryFileErrorCode = 'QUERY_FILE';

/** A problem with the query file, reported as FILE:LINE: MESSAGE. */
export class QueryFileError extends Error {
  readonly code: QueryFileErrorCode = 'QUERY_FILE';
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string) {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.name = 'QueryFileError';
    this.file = file;
    this.line = line;
  }
}

/** Pre-encoded queries, all in one slab so that sending never allocates per query. */
export interface QuerySet {
  /** Where the queries came from (file path or a label). */
  source: string;
  /** Concatenated wire queries (ID 0, RD set, no EDNS: the same bytes dnsperf sends by default). */
  wire: Buffer;
  /** Offset and length of each distinct query in `wire`. */
  offset: Int32Array;
  length: Int32Array;
  /** Length of header + question of each distinct query (what a reply must echo). */
  questionEnd: Int32Array;
  /** Presentation form of each distinct query, "name TYPE", for reports. */
  text: string[];
  /** Replay order: indices into the distinct queries, one per query line. */
  order: Int32Array;
  /** Longest encoded query, in bytes. */
  maxLength: number;
}

export interface QueryLine {
  name: string;
  type: number;
}

/** Upper bounds so a huge or wrong file fails with a message instead of exhausting memory. */
export const MAX_QUERY_FILE_BYTES = 1 << 30;
export const MAX_QUERY_LINES = 20_000_000;

/** Parses one line; returns null for blank and comment lines. Throws a plain message on error. */
export function parseQueryLine(raw: string): QueryLine | null {
  const hash = raw.indexOf('#');
  const text = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
  if (text === '') return null;
  const fields = text.split(/\s+/);
  if (fields.length > 2) throw new Error(`expected "name TYPE", got ${fields.length} fields: "${text}"`);
  const typeText = fields[1] ?? 'A';
  const type = parseType(typeText);
  if (type === undefined) throw new Error(`unknown query type "${typeText}" (use a mnemonic such as A, AAAA, MX, or TYPEnnn)`);
  if (type === 0 || type === 41) throw new Error(`query type ${typeText} cannot be asked for`);
  return { name: fields[0], type };
}

/** Encodes a parsed line; throws a plain message for a name that cannot be encoded. */
function encodeLine(q: QueryLine): Buffer {
  try {
    // normalizeName validates strictly (empty labels, lengths) and drops the trailing dot.
    return buildQuery({ id: 0, name: normalizeName(q.name), type: q.type, rd: true });
  } catch (err) {
    if (err instanceof WireError) throw new Error(`bad name "${q.name}": ${err.message}`);
    throw err;
  }
}

/** Builds a QuerySet from lines of text; `source` names the file in errors. */
export function parseQueries(content: Buffer | string, source: string): QuerySet {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const distinct = new Map<string, number>();
  const encoded: Buffer[] = [];
  const text: string[] = [];
  let order = new Int32Array(1024);
  let count = 0;
  let lineNo = 0;
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    lineNo++;
    const raw = buf.toString('utf8', start, end).replace(/\r$/, '');
    start = end + 1;
    let q: QueryLine | null;
    try {
      q = parseQueryLine(raw);
    } catch (err) {
      throw new QueryFileError(source, lineNo, (err as Error).message);
    }
    if (!q) continue;
    const key = `${q.name}\u0000${q.type}`;
    let idx = distinct.get(key);
    if (idx === undefined) {
      let wire: Buffer;
      try {
        wire = encodeLine(q);
      } catch (err) {
        throw new QueryFileError(source, lineNo, (err as Error).message);
      }
      idx = encoded.length;
      distinct.set(key, idx);
      encoded.push(wire);
      text.push(`${q.name} ${typeName(q.type)}`);
    }
    if (count === MAX_QUERY_LINES) throw new QueryFileError(source, lineNo, `more than ${MAX_QUERY_LINES} queries; use a smaller sample`);
    if (count === order.length) {
      const next = new Int32Array(order.length * 2);
      next.set(order);
      order = next;
    }
    order[count++] = idx;
  }
  if (count === 0) throw new QueryFileError(source, 0, 'no queries (only blank lines and comments)');
  const n = encoded.length;
  const offset = new Int32Array(n);
  const length = new Int32Array(n);
  const questionEnd = new Int32Array(n);
  let total = 0;
  let maxLength = 0;
  for (let i = 0; i < n; i++) {
    offset[i] = total;
    length[i] = encoded[i].length;
    // No EDNS and one question: the question runs to the end of the query.
    questionEnd[i] = encoded[i].length;
    total += encoded[i].length;
    if (encoded[i].length > maxLength) maxLength = encoded[i].length;
  }
  const wire = Buffer.concat(encoded, total);
  return { source, wire, offset, length, questionEnd, text, order: order.slice(0, count), maxLength };
}

/** Reads and encodes a query file. Errors name the file, and the line when there is one. */
export function loadQueryFile(file: string): QuerySet {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new QueryFileError(file, 0, 'not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof QueryFileError) throw err;
    throw new QueryFileError(file, 0, `cannot read query file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > MAX_QUERY_FILE_BYTES) throw new QueryFileError(file, 0, `file of ${size} bytes is larger than ${MAX_QUERY_FILE_BYTES}; use a smaller sample`);
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    throw new QueryFileError(file, 0, `cannot read query file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseQueries(content, file);
}
