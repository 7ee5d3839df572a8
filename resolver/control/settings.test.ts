import { describe, expect, it } from 'vitest';
import { YamlSource } from '../../common/yaml-source.js';
import { parseFlags, UsageError } from '../../common/args.js';
import { applyResolverFlags, defaultResolverConfig, readResolverSection, resolverFlagOptions, RESOLVER_FLAGS_HELP, type ResolverFlagValues } from '../config.js';

const fromYaml = (text: string) => {
  const src = YamlSource.fromText('/etc/ak/node.yaml', text);
  const cfg = readResolverSection(src);
  return { cfg, issues: src.issues.slice().sort((a, b) => a.line - b.line).map((i) => `${i.file}:${i.line}: ${i.field}: ${i.message}`) };
};

describe('control and warm_start settings', () => {
  it('reads every key, paths relative to the config file', () => {
    const { cfg, issues } = fromYaml(`
resolver:
  control:
    socket: run/ctl.sock
    mode: "0660"
  warm_start:
    dump_file: /var/lib/ak/cache.dump
    names_file: top.txt
    time_limit_s: 12
    concurrency: 4
`);
    expect(issues).toEqual([]);
    expect(cfg.ops).toEqual({
      controlSocket: '/etc/ak/run/ctl.sock', controlMode: 0o660,
      dumpFile: '/var/lib/ak/cache.dump', warmNamesFile: '/etc/ak/top.txt', warmTimeLimitMs: 12_000, warmConcurrency: 4,
    });
    // YAML reads an unquoted 0600 as a number: accepted too.
    expect(fromYaml('resolver:\n  control:\n    mode: 0600\n').cfg.ops?.controlMode).toBe(0o600);
    expect(defaultResolverConfig().ops).toBeUndefined();
  });

  it('reports every bad key as FILE:LINE: FIELD: MESSAGE', () => {
    const { issues } = fromYaml(`
resolver:
  control:
    socket: ""
    mode: "0666"
    user: dns
  warm_start:
    time_limit_s: 0
    concurrency: many
    dumpfile: x
`);
    expect(issues).toEqual([
      '/etc/ak/node.yaml:4: resolver.control.socket: must be a non-empty path, got ""',
      '/etc/ak/node.yaml:5: resolver.control.mode: must be "0600" (the service user only) or "0660" (and its group), got "0666"',
      '/etc/ak/node.yaml:6: resolver.control.user: unknown key (known: socket, mode)',
      '/etc/ak/node.yaml:8: resolver.warm_start.time_limit_s: must be a whole number from 1 to 3600, got 0',
      '/etc/ak/node.yaml:9: resolver.warm_start.concurrency: must be a whole number from 1 to 1000, got "many"',
      '/etc/ak/node.yaml:10: resolver.warm_start.dumpfile: unknown key (known: dump_file, names_file, time_limit_s, concurrency)',
    ]);
    const long = fromYaml(`resolver:\n  control:\n    socket: /${'x'.repeat(120)}\n`).issues;
    expect(long[0]).toMatch(/:3: resolver\.control\.socket: path .* is longer than a Unix socket path may be \(107 bytes\)/);
  });

  it('takes the flags over the file, and documents them in --help', () => {
    const { cfg } = fromYaml('resolver:\n  warm_start:\n    dump_file: /a.dump\n    time_limit_s: 5\n');
    const f = parseFlags<ResolverFlagValues>(['--cache-dump', 'b.dump', '--control-socket', '/run/c.sock', '--warm-names', 'n.txt'], resolverFlagOptions).values;
    const out = applyResolverFlags(cfg, f);
    expect(out.ops?.dumpFile).toBe(`${process.cwd()}/b.dump`);
    expect(out.ops?.controlSocket).toBe('/run/c.sock');
    expect(out.ops?.warmNamesFile).toBe(`${process.cwd()}/n.txt`);
    expect(out.ops?.warmTimeLimitMs).toBe(5000);
    expect(() => applyResolverFlags(cfg, { 'cache-dump': '' })).toThrow(new UsageError('--cache-dump needs a path'));
    for (const flag of ['--control-socket PATH', '--cache-dump FILE', '--warm-names FILE']) expect(RESOLVER_FLAGS_HELP).toContain(flag);
  });
});
