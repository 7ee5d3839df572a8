// Contract: the node.yaml that `anycast-kit ios --host` writes is read without a single
// issue by the config readers `anycast-kit node` uses (resolver and healthcheck sections),
// and the values arrive as intended.
import { describe, expect, it } from 'vitest';
import { YamlSource } from '../../common/yaml-source.js';
import { readResolverSection } from '../../resolver/config.js';
import { checkSections, readNodeSections, resolveSections } from '../../healthcheck/config.js';
import { hostSnippet } from '../../ios-templates/host.js';
import { BASE, inv } from '../../ios-templates/testdata/fixture.js';

const PROBES: Record<string, string> = {
  dns: BASE,
  http: BASE.replace('    type: dns\n    name: probe.anycast.example\n', '    type: http\n    path: /health\n    port: 8053\n'),
  tcp: BASE.replace('    type: dns\n    name: probe.anycast.example\n', '    type: tcp\n    port: 9053\n'),
};

describe('node.yaml from anycast-kit ios is accepted by anycast-kit node', () => {
  for (const [probe, text] of Object.entries(PROBES)) {
    it(`${probe} probe`, () => {
      const s = hostSnippet(inv(text), 'dc1-dns02');
      const src = YamlSource.fromText('node.yaml', s.nodeYaml);
      const resolver = readResolverSection(src);
      const sections = readNodeSections(src);
      expect(src.issues).toEqual([]);
      expect(resolver.listen).toEqual([
        { host: '192.0.2.53', port: 53 },
        { host: '10.1.0.12', port: 53 },
      ]);
      const resolved = resolveSections(sections, resolver.probe?.name);
      expect(checkSections(resolved)).toEqual([]);
      expect(resolved.health.lameduckMs).toBe(s.timing.lameduck * 1000);
      expect(resolved.health.intervalMs).toBe(s.timing.interval * 1000);
      expect(resolved.health.listen).toEqual({ host: '10.1.0.12', port: probe === 'tcp' ? 9053 : 8053 });
    });
  }
});
