import { describe, expect, it } from 'vitest';
import { calibrate, parseExactRouteCapture } from './calibrate.js';
import { parseIPv4 } from './ipv4.js';

const ip = (s: string) => parseIPv4(s)!;

// A capture written by hand for endpoints .11 .12 .13 and VIP 192.0.2.53, where the
// switch behaves exactly like seed-xor: key = ((s3^2)<<8)|(s4^53), 15 rows, path = row mod 3.
//   10.1.5.7:   key 1842, row 12 -> path 0 -> 10.1.0.11
//   10.1.5.1:   key 1792+(1^53)=1844, row 14 -> path 2 -> 10.1.0.13
//   10.1.5.2:   key 1792+(2^53)=1847, row  2 -> path 2 -> 10.1.0.13
//   10.1.5.4:   key 1792+(4^53)=1841, row 11 -> path 2 -> 10.1.0.13
//   10.1.5.53:  key 1792+0=1792,      row  7 -> path 1 -> 10.1.0.12
//   10.1.5.54:  key 1792+3=1795,      row 10 -> path 1 -> 10.1.0.12
const CAPTURE = `
sw1#show ip cef exact-route 10.1.5.7 192.0.2.53
10.1.5.7 -> 192.0.2.53 => IP adj out of Vlan100, addr 10.1.0.11
sw1#show ip cef exact-route 10.1.5.1 192.0.2.53
10.1.5.1        -> 192.0.2.53     => IP adj out of Vlan100, addr 10.1.0.13
10.1.5.2 -> 192.0.2.53 => IP adj out of Vlan100, addr 10.1.0.13
10.1.5.4 -> 192.0.2.53 => IP adj out of Vlan100, addr 10.1.0.13
sw1#show ip cef exact-route 10.1.5.53 src-port 40000 192.0.2.53 dest-port 53
10.1.5.53 -> 192.0.2.53 => IP adj out of Vlan100, addr 10.1.0.12
nx1# show routing hash 10.1.5.54 192.0.2.53
nx1# show ip cef exact-route 10.1.5.54 192.0.2.53
Load-share parameters used for software forwarding:
Hashing to path *10.1.0.12 (Vlan100)
`;

describe('parseExactRouteCapture', () => {
  it('reads IOS result lines and NX-OS "Hashing to path" after a command', () => {
    const obs = parseExactRouteCapture('cap.txt', CAPTURE);
    expect(obs.map((o) => [o.line, o.nextHop, o.srcPort ?? null])).toEqual([
      [3, '10.1.0.11', null],
      [5, '10.1.0.13', null],
      [6, '10.1.0.13', null],
      [7, '10.1.0.13', null],
      [9, '10.1.0.12', 40000],
      [13, '10.1.0.12', null],
    ]);
    expect(obs[5].src).toBe(ip('10.1.5.54'));
  });

  it('fails clearly on a file with no results', () => {
    expect(() => parseExactRouteCapture('x.txt', 'sw1#show version\n')).toThrow(/x.txt:0: .*no exact-route results/);
  });
});

describe('calibrate', () => {
  it('finds seed-xor agreeing 6/6 on a seed-xor switch', () => {
    const c = calibrate(parseExactRouteCapture('cap.txt', CAPTURE));
    expect(c.endpoints).toEqual(['10.1.0.11', '10.1.0.12', '10.1.0.13']);
    const sx = c.algorithms.find((a) => a.algorithm === 'seed-xor')!;
    expect([sx.compared, sx.agree, sx.agreement, sx.bestOrderAgree]).toEqual([6, 6, 1, 6]);
    expect(c.best).toBe('seed-xor');
    expect(c.algorithms.find((a) => a.algorithm === 'include-ports')!.compared).toBe(1);
  });

  it('best-order agreement forgives a different path order', () => {
    // Same flows, but the switch orders its paths differently: .11 <-> .13 swapped.
    const swapped = CAPTURE.replace(/10\.1\.0\.11/g, 'X').replace(/10\.1\.0\.13/g, '10.1.0.11').replace(/X/g, '10.1.0.13');
    const c = calibrate(parseExactRouteCapture('cap.txt', swapped));
    const sx = c.algorithms.find((a) => a.algorithm === 'seed-xor')!;
    expect(sx.agree).toBe(2); // only the two flows on .12 still match
    expect(sx.bestOrderAgree).toBe(6);
  });
});

describe('calibrate picks universal for a switch that hashes like it', () => {
  it('recognises the id-dependent model and rejects seed-xor', async () => {
    const { exactRoute } = await import('./cef.js');
    const endpoints = ['10.1.0.11', '10.1.0.12', '10.1.0.13', '10.1.0.14', '10.1.0.15'].map((s) => ({ address: ip(s), label: s }));
    const lines: string[] = [];
    for (let i = 0; i < 80; i++) {
      const src = `10.${20 + (i % 7)}.${(i * 37) % 256}.${(i * 101) % 256}`;
      const r = exactRoute({ vip: ip('192.0.2.53'), endpoints, algorithm: 'universal', id: 0x9e3b1a95 }, ip(src));
      lines.push(`${src} -> 192.0.2.53 => IP adj out of Vlan100, addr ${r.endpoint}`);
    }
    const obs = parseExactRouteCapture('cap.txt', lines.join('\n'));
    const right = calibrate(obs, { endpoints, id: 0x9e3b1a95 });
    expect(right.best).toBe('universal');
    expect(right.algorithms.find((a) => a.algorithm === 'universal')!.agreement).toBe(1);
    expect(right.algorithms.find((a) => a.algorithm === 'seed-xor')!.agreement).toBeLessThan(0.5);
    // The wrong id makes universal a different hash: no match.
    expect(calibrate(obs, { endpoints, id: 1 }).best).toBeUndefined();
  });
});
