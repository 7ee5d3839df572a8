// Every error class carries a stable machine code from a closed union (docs/errors.md):
// each is thrown here by the real code path an operator or a caller would hit.
import { describe, expect, it } from 'vitest';
import { parseFlags, type UsageErrorCode } from '../common/args.js';
import { YamlSource, type ConfigErrorCode } from '../common/yaml-source.js';
import { parseMessage, type WireErrorCode } from '../dns/index.js';
import { assertGrammar, type GrammarErrorCode } from '../ios-templates/grammar.js';
import { parseInventory } from '../ios-templates/inventory.js';
import { parseZoneFile, type ZoneFileErrorCode } from '../lab/authserver/zonefile.js';
import { LoadEngine } from '../loadtest/driver/engine.js';
import type { DriverErrorCode } from '../loadtest/driver/errors.js';
import { parseQueries, type QueryFileErrorCode } from '../loadtest/driver/queryfile.js';
import { validateCidr, type AclErrorCode } from '../resolver/acl.js';
import { decodeDump, type DumpErrorCode } from '../resolver/cache/dump.js';

function codeOf(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  return 'did not throw';
}

describe('error codes', () => {
  it('UsageError: an unknown flag', () => {
    const want: UsageErrorCode = 'USAGE';
    expect(codeOf(() => parseFlags(['--lissten', 'x'], { listen: { type: 'string' } }))).toBe(want);
  });

  it('ConfigError: a bad inventory', () => {
    const want: ConfigErrorCode = 'CONFIG';
    expect(codeOf(() => parseInventory(YamlSource.fromText('inv.yaml', 'sites: 3\n')))).toBe(want);
  });

  it('QueryFileError: a bad query type', () => {
    const want: QueryFileErrorCode = 'QUERY_FILE';
    expect(codeOf(() => parseQueries('www.example.com AAA\n', 'q.txt'))).toBe(want);
  });

  it('ZoneFileError: a bad record', () => {
    const want: ZoneFileErrorCode = 'ZONE_FILE';
    expect(codeOf(() => parseZoneFile('z.zone', 'example.', () => 'www IN A not-an-address\n'))).toBe(want);
  });

  it('GrammarError: a command no dialect knows', () => {
    const want: GrammarErrorCode = 'GRAMMAR';
    expect(codeOf(() => assertGrammar('ios', ['frobnicate the switch']))).toBe(want);
  });

  it('WireError: a message cut short', () => {
    const want: WireErrorCode = 'TRUNCATED';
    expect(codeOf(() => parseMessage(new Uint8Array(5)))).toBe(want);
  });

  it('AclError: host bits set in an allowed network', () => {
    const want: AclErrorCode = 'ACL';
    expect(codeOf(() => validateCidr('10.0.0.1/8'))).toBe(want);
  });

  it('DumpError: a cache dump that is not one', () => {
    const want: DumpErrorCode = 'CACHE_DUMP';
    expect(codeOf(() => decodeDump(Buffer.from('not a cache dump, just text')))).toBe(want);
  });

  it('DriverError: an option that cannot work', () => {
    const want: DriverErrorCode = 'BAD_OPTION';
    expect(codeOf(() => new LoadEngine({ server: { host: '127.0.0.1', port: 53 }, queries: parseQueries('a.test\n', 'q'), qps: 0 }))).toBe(want);
  });
});
