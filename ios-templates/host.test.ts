import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { healthTiming, hostSnippet, renderHostSnippet } from './host.js';
import { BASE, inv } from './testdata/fixture.js';

describe('node side', () => {
  const i = inv(BASE);

  it('derives health timing from the SLA and track settings', () => {
    // frequency 5 s, timeout 2000 ms, delay down 10 s
    expect(healthTiming(i)).toEqual({ interval: 1, rise: 2, fall: 3, detectionS: 5 + 2 + 10, lameduck: 51 });
    const slow = inv(BASE.replace('frequency: 5', 'frequency: 30').replace('timeout: 2000', 'timeout: 2500').replace('delayDown: 10', 'delayDown: 1'));
    // interval = floor(30 / 3) = 10; detection = 30 + ceil(2.5) + 1 = 34
    expect(healthTiming(slow)).toMatchObject({ interval: 10, detectionS: 34, lameduck: 102 });
  });

  it('keeps lameduck at least 5 s and at least 3 x detection', () => {
    for (const f of [1, 2, 5, 60]) {
      for (const down of [1, 10, 180]) {
        const t = healthTiming(inv(BASE.replace('frequency: 5', `frequency: ${f}`).replace('timeout: 2000', 'timeout: 500').replace('threshold: 1000', 'threshold: 500').replace('delayDown: 10', `delayDown: ${down}`)));
        expect(t.lameduck).toBeGreaterThanOrEqual(5);
        expect(t.lameduck).toBeGreaterThanOrEqual(3 * t.detectionS);
        expect(t.interval * t.fall).toBeLessThanOrEqual(Math.max(f, t.fall));
      }
    }
  });

  it('writes node.yaml with the VIP and the node address as listen addresses', () => {
    const s = hostSnippet(i, 'dc1-dns02');
    const y = parse(s.nodeYaml);
    expect(y).toEqual({
      resolver: { listen: ['192.0.2.53:53', '10.1.0.12:53'], allow: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8'], identity: 'dc1-dns02' },
      health: { listen: '10.1.0.12:8053', probeName: 'probe.anycast.example', interval: 1, rise: 2, fall: 3, lameduck: 51 },
    });
    expect(s.nodeConfig).toEqual(y);
  });

  it('uses service.clients and the http/tcp probe port', () => {
    const http = inv(
      BASE.replace('  tag: 5353\n', '  tag: 5353\n  clients: [10.20.0.0/16]\n').replace('    type: dns\n    name: probe.anycast.example\n', '    type: http\n    path: /health\n    port: 9053\n'),
    );
    const y = parse(hostSnippet(http, 'dc2-dns01').nodeYaml);
    expect(y.resolver.allow).toEqual(['10.20.0.0/16']);
    expect(y.health.listen).toBe('10.2.0.11:9053');
    expect(y.health.probeName).toBeUndefined();
  });

  it('puts the VIP on a dummy interface, with the ARP settings, and checks the probe the switch sends', () => {
    const s = hostSnippet(i, 'dc1-dns01');
    expect(s.linuxCommands).toEqual(
      expect.arrayContaining([
        'ip link add anycast0 type dummy',
        'ip link set anycast0 up',
        'ip addr add 192.0.2.53/32 dev anycast0',
        'sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2',
        'dig @10.1.0.11 probe.anycast.example A +norecurse',
      ]),
    );
  });

  it('writes a systemd unit that creates the VIP before start and waits out the lameduck on stop', () => {
    const u = hostSnippet(i, 'dc1-dns01').systemdUnit;
    expect(u).toMatch(/^ExecStart=\/usr\/bin\/anycast-kit node --config \/etc\/anycast-kit\/node\.yaml$/m);
    expect(u).toMatch(/^ExecStartPre=-\+\/usr\/sbin\/ip addr add 192\.0\.2\.53\/32 dev anycast0$/m);
    expect(u).toMatch(/^TimeoutStopSec=61$/m);
    expect(u).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    for (const section of ['[Unit]', '[Service]', '[Install]']) expect(u).toContain(section);
  });

  it('renders all parts in one text and refuses an unknown node', () => {
    const text = renderHostSnippet(hostSnippet(i, 'dc2-dns01'));
    expect(text).toMatch(/^# ==== dc2-dns01 \(10\.2\.0\.11\) on switch dc2-sw1: host side ====/);
    for (const h of ['VIP and kernel settings', '/etc/anycast-kit/node.yaml', 'anycast-kit-node.service', 'systemctl daemon-reload']) expect(text).toContain(h);
    expect(() => hostSnippet(i, 'nope')).toThrow(/no node named "nope"/);
  });
});
