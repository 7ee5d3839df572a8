import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMessage, TYPE } from '../../dns/index.js';
import { loadQueryFile, parseQueries, parseQueryLine, QueryFileError } from './queryfile.js';

const dir = mkdtempSync(join(tmpdir(), 'qf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseQueryLine', () => {
  it('reads name and type, skipping comments and blanks', () => {
    expect(parseQueryLine('www.example.com A')).toEqual({ name: 'www.example.com', type: TYPE.A });
    expect(parseQueryLine('  example.org.\tAAAA  # trailing comment')).toEqual({ name: 'example.org.', type: TYPE.AAAA });
    expect(parseQueryLine('# only a comment')).toBeNull();
    expect(parseQueryLine('   ')).toBeNull();
    expect(parseQueryLine('x.test type65')).toEqual({ name: 'x.test', type: 65 });
  });
  it('defaults to type A like dnsperf', () => {
    expect(parseQueryLine('example.com')).toEqual({ name: 'example.com', type: TYPE.A });
  });
  it('rejects unknown types and extra fields', () => {
    expect(() => parseQueryLine('example.com BOGUS')).toThrow(/unknown query type "BOGUS"/);
    expect(() => parseQueryLine('example.com A IN')).toThrow(/expected "name TYPE", got 3 fields/);
    expect(() => parseQueryLine('example.com OPT')).toThrow(/cannot be asked for/);
  });
});

describe('parseQueries', () => {
  it('encodes each distinct query once, RD set, ID 0, and keeps the replay order', () => {
    const qs = parseQueries('a.test A\nb.test MX\n# c\n\na.test A\nB.test mx\n', 'mem');
    expect(qs.text).toEqual(['a.test A', 'b.test MX', 'B.test MX']);
    expect([...qs.order]).toEqual([0, 1, 0, 2]);
    const first = qs.wire.subarray(qs.offset[1], qs.offset[1] + qs.length[1]);
    const m = parseMessage(first);
    expect(m.id).toBe(0);
    expect(m.flags & 0x0100).toBe(0x0100);
    expect(m.questions).toEqual([{ name: 'b.test', type: TYPE.MX, class: 1 }]);
    expect(m.edns).toBeUndefined();
    expect(qs.questionEnd[1]).toBe(qs.length[1]);
    expect(qs.maxLength).toBe(Math.max(...qs.length));
  });
  it('handles CRLF and a missing final newline', () => {
    const qs = parseQueries('a.test A\r\nb.test AAAA', 'mem');
    expect(qs.text).toEqual(['a.test A', 'b.test AAAA']);
  });
  it('names the file and line of a bad line', () => {
    const bad = 'a.test A\n\n# ok\nbad..name A\n';
    expect(() => parseQueries(bad, 'q.txt')).toThrow(QueryFileError);
    expect(() => parseQueries(bad, 'q.txt')).toThrow(/^q\.txt:4: bad name "bad\.\.name"/);
    expect(() => parseQueries('a A\nb NOPE\n', 'q.txt')).toThrow(/^q\.txt:2: unknown query type/);
    const long = 'x'.repeat(64) + '.test A';
    expect(() => parseQueries(`ok.test A\n${long}\n`, 'q.txt')).toThrow(/^q\.txt:2: .*longer than 63/);
  });
  it('rejects a file without queries', () => {
    expect(() => parseQueries('# nothing\n\n', 'empty.txt')).toThrow(/empty\.txt: no queries/);
  });
});

describe('loadQueryFile', () => {
  it('reads a file', () => {
    const f = join(dir, 'q.txt');
    writeFileSync(f, 'a.test A\nb.test NS\n');
    expect(loadQueryFile(f).order.length).toBe(2);
  });
  it('says when the file cannot be read', () => {
    expect(() => loadQueryFile(join(dir, 'missing.txt'))).toThrow(/missing\.txt: cannot read query file: ENOENT/);
    expect(() => loadQueryFile(dir)).toThrow(/not a regular file/);
  });
});
