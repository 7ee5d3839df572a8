import { describe, expect, it } from 'vitest';
import { ConfigError, YamlSource } from '../common/yaml-source.js';
import { checkSections, defaultLameduck, parseDuration, parseListen, readNodeSections, resolveSections, slaDetectionMs } from './config.js';

function read(text: string) {
  const src = YamlSource.fromText('node.yaml', text);
  const input = readNodeSections(src);
  return { src, input };
}

function issues(text: string): string[] {
  const { src } = read(text);
  try { src.throwIfIssues(); return []; } catch (err) { return (err as ConfigError).issues.map((i) => `${i.line}: ${i.field}: ${i.message}`); }
}

describe('health/snmp/metrics sections', () => {
  it('accepts the shape `anycast-kit ios` emits', () => {
    const { src, input } = read(`
resolver:
  listen: ["192.0.2.53:53"]
health:
  listen: 10.1.1.11:8053
  probeName: health.anycast.example.net
  interval: 1
  rise: 2
  fall: 3
  lameduck: 33
`);
    src.throwIfIssues();
    const c = resolveSections(input);
    expect(c.health.listen).toEqual({ host: '10.1.1.11', port: 8053 });
    expect(c.health.probeName).toBe('health.anycast.example.net');
    expect(c.health.intervalMs).toBe(1000);
    expect(c.health.lameduckMs).toBe(33_000);
    expect(c.health.lameduckSource).toBe('config');
    expect(c.health.probeTimeoutMs).toBe(1000);
  });

  it('fills defaults: 1 s interval, rise 2, fall 3, lameduck at least 5 s', () => {
    const c = resolveSections({});
    expect(c.health).toMatchObject({ intervalMs: 1000, rise: 2, fall: 3, lameduckMs: 5000, lameduckSource: 'minimum', withdrawOnDegraded: false, probeName: 'health.anycast-kit.invalid' });
    expect(c.snmp.baseOid).toBe('1.3.6.1.4.1.32473.53');
    expect(c.metrics.enabled).toBe(true);
  });

  it('drainProbeAnswer: none by default, refused as an option, anything else names its line', () => {
    expect(resolveSections({}).health.drainProbeAnswer).toBe('none');
    expect(resolveSections(read('health:\n  drainProbeAnswer: refused\n').input).health.drainProbeAnswer).toBe('refused');
    expect(resolveSections(read('health:\n  drain_probe_answer: none\n').input).health.drainProbeAnswer).toBe('none');
    expect(issues('health:\n  interval: 1\n  drainProbeAnswer: servfail\n')).toEqual(['3: health.drainProbeAnswer: must be none or refused, not "servfail"']);
  });

  it('derives lameduck from the longest SLA detection time (3x)', () => {
    const { src, input } = read(`
health:
  sla:
    - { frequency: 5, timeout: 2000, delayDown: 3 }
    - { frequency: 10, timeout: 1000 }
`);
    src.throwIfIssues();
    const c = resolveSections(input);
    expect(slaDetectionMs(c.health.sla[0])).toBe(10_000);
    expect(slaDetectionMs(c.health.sla[1])).toBe(11_000);
    expect(c.health.lameduckMs).toBe(33_000);
    expect(c.health.lameduckSource).toBe('sla');
    expect(defaultLameduck([{ frequencyS: 1, timeoutMs: 200, delayDownS: 0 }])).toEqual({ ms: 5000, source: 'minimum' });
  });

  it('accepts one sla mapping on its own, durations with units, and snake_case spellings', () => {
    const { src, input } = read(`
health:
  sla: { frequency: 2, timeout: 500, delay_down: 1 }
  probe_timeout: 300ms
  interval: 0.5
  drain_file: /run/anycast-kit/drain
  withdraw_on_degraded: true
  canaries: [example.com, { name: example.org, type: AAAA, nonce: false }]
snmp:
  listen: 127.60.0.1:1161
  community: public
  base_oid: 1.3.6.1.4.1.99999.1
metrics:
  listen: "[::1]:9153"
`);
    src.throwIfIssues();
    const c = resolveSections(input);
    expect(c.health.sla).toEqual([{ frequencyS: 2, timeoutMs: 500, delayDownS: 1 }]);
    expect(c.health.probeTimeoutMs).toBe(300);
    expect(c.health.intervalMs).toBe(500);
    expect(c.health.drainFile).toBe('/run/anycast-kit/drain');
    expect(c.health.withdrawOnDegraded).toBe(true);
    expect(c.health.canaries).toEqual([{ name: 'example.com', type: 1, nonce: true }, { name: 'example.org', type: 28, nonce: false }]);
    expect(c.snmp.communities).toEqual(['public']);
    expect(c.snmp.baseOid).toBe('1.3.6.1.4.1.99999.1');
    expect(c.metrics.listen).toEqual({ host: '::1', port: 9153 });
  });

  it('reports every problem with its line and field', () => {
    const got = issues(`health:
  listen: nowhere
  rise: 0
  interval: fast
  rsie: 2
  sla:
    - { frequency: 1, timeout: 5000 }
snmp:
  users:
    - name: ops
      authProtocol: md5
      authKey: short
      privProtocol: des
      privKey: longenough
  baseOid: enterprises.1
  traps: [{ host: trap.example, community: x }]
metrics:
  enabled: "yes"
`);
    expect(got).toEqual(expect.arrayContaining([
      expect.stringMatching(/^2: health\.listen: must be ADDR:PORT/),
      expect.stringMatching(/^3: health\.rise: must be a whole number from 1 to 100/),
      expect.stringMatching(/^4: health\.interval: must be a duration/),
      expect.stringMatching(/^5: health\.rsie: unknown key/),
      expect.stringMatching(/^7: health\.sla\[0\]\.timeout: timeout 5000 ms exceeds frequency 1 s/),
      expect.stringMatching(/^11: snmp\.users\[0\]\.authProtocol: must be one of sha224/),
      expect.stringMatching(/^12: snmp\.users\[0\]\.authKey: must be at least 8/),
      expect.stringMatching(/^13: snmp\.users\[0\]\.privProtocol: must be one of aes/),
      expect.stringMatching(/^15: snmp\.baseOid: must be a dotted OID/),
      expect.stringMatching(/^16: snmp\.traps\[0\]\.host: must be an IP address/),
      expect.stringMatching(/^18: metrics\.enabled: must be true or false/),
    ]));
    expect(got).toHaveLength(11);
  });

  it('rejects a key given in both spellings', () => {
    expect(issues('health:\n  drainFile: /a\n  drain_file: /b\n')).toEqual([expect.stringMatching(/drain_file: given twice/)]);
  });

  it('cross-checks what flags and file provide together', () => {
    const c = resolveSections({ health: { intervalMs: 1000, probeTimeoutMs: 2000 }, snmp: { listen: { host: '127.0.0.1', port: 161 } } });
    const fields = checkSections(c).map((p) => p.field);
    expect(fields).toEqual(['health.listen', 'health.probeTimeout', 'snmp']);
  });

  it('parses durations and listen addresses', () => {
    expect(parseDuration(2)).toBe(2000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('2h')).toBeUndefined();
    expect(parseDuration(-1)).toBeUndefined();
    expect(parseListen('127.60.0.1:8053')).toEqual({ host: '127.60.0.1', port: 8053 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseListen('::1:80')).toBeUndefined();
    expect(parseListen('127.0.0.1:70000')).toBeUndefined();
    expect(parseListen('example.com:80')).toBeUndefined();
  });
});
