import { describe, expect, it } from 'vitest';
import { TYPE } from '../../dns/constants.js';
import { rdataToText } from '../../dns/rdata.js';
import { parseTtl, parseZoneFile, parseZoneText, ZoneFileError } from './zonefile.js';

const parse = (text: string, origin = 'example.lab.') => parseZoneText(text, { file: 'z', origin });
const texts = (text: string, origin?: string) => {
  const r = parse(text, origin);
  expect(r.issues).toEqual([]);
  return r.records.map((x) => `${x.name} ${x.ttl} ${x.type} ${rdataToText(x.type, x.rdata)}`);
};

describe('zone file parser', () => {
  it('reads relative names, @, $ORIGIN and a blank owner', () => {
    expect(texts([
      '$TTL 300',
      '@ IN SOA ns1 hostmaster 1 2 3 4 5',
      '  IN NS ns1',
      'www A 192.0.2.1',
      '    AAAA 2001:db8::1',
      'abs.other. A 192.0.2.2',
      '$ORIGIN sub.example.lab.',
      'x CNAME @',
      '$ORIGIN deeper', // relative $ORIGIN is appended to the current one
      'y MX 10 x.sub.example.lab.',
    ].join('\n'))).toEqual([
      'example.lab 300 6 ns1.example.lab. hostmaster.example.lab. 1 2 3 4 5',
      'example.lab 300 2 ns1.example.lab.',
      'www.example.lab 300 1 192.0.2.1',
      'www.example.lab 300 28 2001:db8::1',
      'abs.other 300 1 192.0.2.2',
      'x.sub.example.lab 300 5 sub.example.lab.',
      'y.deeper.sub.example.lab 300 15 10 x.sub.example.lab.',
    ]);
  });

  it('joins parentheses across lines and drops comments, even inside them', () => {
    expect(texts([
      '$TTL 60',
      '@ SOA ns1 hostmaster ( 2025 ; serial',
      '   3600 ; refresh (a comment with ( and ) inside)',
      '   900 604800',
      '   30 )',
      'multi ( A',
      '  192.0.2.9 ) ; trailing',
    ].join('\n'))).toEqual([
      'example.lab 60 6 ns1.example.lab. hostmaster.example.lab. 2025 3600 900 604800 30',
      'multi.example.lab 60 1 192.0.2.9',
    ]);
  });

  it('takes TTL and class in either order, both optional, with BIND units', () => {
    expect(texts([
      '$TTL 1h',
      'a 300 IN A 192.0.2.1',
      'b IN 301 A 192.0.2.2',
      'c IN A 192.0.2.3',
      'd 1d2h A 192.0.2.4',
      'e A 192.0.2.5',
    ].join('\n')).map((t) => t.split(' ')[1])).toEqual(['300', '301', '3600', '93600', '3600']);
  });

  it('uses the previous TTL, or the SOA minimum, when there is no $TTL', () => {
    expect(texts('@ SOA ns1 hm 1 2 3 4 77\na A 192.0.2.1\nb 5 A 192.0.2.2\nc A 192.0.2.3').map((t) => t.split(' ')[1])).toEqual(['77', '77', '5', '5']);
  });

  it('keeps quoted TXT strings, escapes and semicolons', () => {
    expect(texts('$TTL 1\nt TXT "a b" c "d\\"e;f" "\\065\\066" ""')).toEqual([
      't.example.lab 1 16 "a b" "c" "d\\"e;f" "AB" ""',
    ]);
  });

  it('reads the RFC 3597 generic form for unknown and known types', () => {
    const r = parse('$TTL 1\nu TYPE65280 \\# 4 0A000001\nv TYPE65281 \\# 0\nw A \\# 4 C0000201\nx TYPE1 192.0.2.7');
    expect(r.issues).toEqual([]);
    expect(r.records.map((x) => [x.type, rdataToText(x.type, x.rdata)])).toEqual([
      [65280, '\\# 4 0a000001'], [65281, '\\# 0'], [TYPE.A, '192.0.2.1'], [TYPE.A, '192.0.2.7'],
    ]);
  });

  it('reads the root zone with origin "."', () => {
    expect(texts('$TTL 5\n. NS a.root.\nlab. NS ns1.lab.\n@ A 192.0.2.1', '.')).toEqual([
      ' 5 2 a.root.', 'lab 5 2 ns1.lab.', ' 5 1 192.0.2.1',
    ].map((s) => s.replace(/^ /, '')).map((s) => (s.startsWith('5 ') ? ' ' + s : s)));
  });

  it('reports every bad line as FILE:LINE: message and keeps going', () => {
    const r = parse([
      '$TTL 60',
      'a A 999.1.1.1',
      'b BOGUS 1',
      'c A',
      'd 99999999999 A 192.0.2.1',
      'e TXT "unterminated',
      'f CH A 192.0.2.1',
      '$GENERATE 1-10 x$ A 192.0.2.$',
      'g TYPE65280 \\# 3 0102',
      'h A 192.0.2.1',
      'toolong' + 'x'.repeat(64) + ' A 192.0.2.1',
      'i ( A 192.0.2.1',
    ].join('\n'));
    expect(r.issues.map((i) => `${i.file}:${i.line}`)).toEqual(['z:2', 'z:3', 'z:4', 'z:5', 'z:6', 'z:7', 'z:8', 'z:9', 'z:11', 'z:12']);
    expect(r.issues[1].message).toMatch(/BOGUS.*not a known type/);
    expect(r.issues[5].message).toMatch(/only class IN/);
    expect(r.issues[9].message).toMatch(/never closed/);
    expect(r.records.map((x) => x.name)).toEqual(['h.example.lab']);
  });

  it('needs a TTL from somewhere', () => {
    expect(parse('a A 192.0.2.1').issues[0].message).toMatch(/no TTL/);
  });

  it('follows $INCLUDE with its own origin and restores ours', () => {
    const files: Record<string, string> = { '/z/inc.zone': 'x A 192.0.2.8\n' };
    const r = parseZoneText('$TTL 9\n$INCLUDE inc.zone other.lab.\ny A 192.0.2.9\n$INCLUDE missing.zone', {
      file: '/z/main.zone', origin: 'example.lab.', readFile: (p) => { if (!(p in files)) throw Object.assign(new Error('no'), { code: 'ENOENT' }); return files[p]; },
    });
    expect(r.records.map((x) => x.name)).toEqual(['x.other.lab', 'y.example.lab']);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0].message).toMatch(/missing\.zone.*ENOENT/);
  });

  it('parseZoneFile throws a ZoneFileError naming the file when it cannot read it', () => {
    expect(() => parseZoneFile('/nonexistent/x.zone', 'x.')).toThrow(ZoneFileError);
    expect(() => parseZoneFile('/nonexistent/x.zone', 'x.')).toThrow(/\/nonexistent\/x\.zone:0: cannot read \(ENOENT\)/);
  });

  it('never throws on arbitrary input', () => {
    const junk = ['(', ')', '"', ';', '\\', '$ORIGIN', '$TTL x', '@', 'IN', 'A', 'TXT', '\\#', '\n', ' ', '1', 'a.b.', '..', '\u00e9'];
    let seed = 42;
    const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    for (let i = 0; i < 500; i++) {
      let text = '';
      for (let j = 0; j < 30; j++) text += junk[rnd() % junk.length] + (rnd() % 3 ? ' ' : '');
      expect(() => parse(text)).not.toThrow();
    }
  });
});

describe('parseTtl', () => {
  it('reads seconds and units, rejects junk and 32-bit overflow', () => {
    expect(parseTtl('0')).toBe(0);
    expect(parseTtl('1W')).toBe(604800);
    expect(parseTtl('1h30m')).toBe(5400);
    expect(parseTtl('2147483647')).toBe(2147483647);
    expect(parseTtl('2147483648')).toBeUndefined();
    expect(parseTtl('1x')).toBeUndefined();
    expect(parseTtl('h')).toBeUndefined();
  });
});
