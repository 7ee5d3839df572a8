import { describe, expect, it } from 'vitest';
import { parseSources } from './sources.js';

describe('parseSources', () => {
  it('reads lists and CIDR blocks', () => {
    expect(parseSources('127.41.0.1,127.41.0.2')).toEqual(['127.41.0.1', '127.41.0.2']);
    const c = parseSources('127.41.0.0/24');
    expect(c.length).toBe(254);
    expect(c[0]).toBe('127.41.0.1');
    expect(c[253]).toBe('127.41.0.254');
    expect(parseSources('127.41.0.4/31')).toEqual(['127.41.0.4', '127.41.0.5']);
    expect(parseSources('127.41.0.9/32')).toEqual(['127.41.0.9']);
    expect(parseSources('127.41.0.5/30')).toEqual(['127.41.0.5', '127.41.0.6']);
  });
  it('drops duplicates and accepts IPv6', () => {
    expect(parseSources('127.41.0.1, 127.41.0.1')).toEqual(['127.41.0.1']);
    expect(parseSources('fd00::1:0/126')).toEqual(['fd00::1:0', 'fd00::1:1', 'fd00::1:2', 'fd00::1:3']);
    expect(parseSources('0:0:0:0:0:0:0:1')).toEqual(['::1']);
  });
  it('names the bad element', () => {
    expect(() => parseSources('127.41.0.1,nope')).toThrow(/"nope" is not an IP address/);
    expect(() => parseSources('127.41.0.0/33')).toThrow(/at most 32/);
    expect(() => parseSources('10.0.0.0/8')).toThrow(/more than the 4096/);
    expect(() => parseSources('')).toThrow(/no addresses/);
  });
});
