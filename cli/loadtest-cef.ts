// anycast-kit loadtest cef: model how a switch's CEF table spreads clients over its
// equal-cost endpoints, answer exact-route questions, and calibrate against a real switch.

import { parseFlags, UsageError, parseHostPort } from '../common/args.js';
import {
  calibrate,
  cefDistribution,
  exactRoute,
  loadClientsFile,
  loadExactRouteCapture,
  parseIPv4,
  syntheticEndpoints,
  CEF_ALGORITHMS,
  type CefAlgorithm,
  type CefOptions,
  type Endpoint,
} from '../loadtest/model/index.js';
import { bar, fmtPct, fmtQps, fmtRatio, textTable } from '../loadtest/model/format.js';

const HELP = `usage: anycast-kit loadtest cef --vip IP --endpoints N|ADDR,ADDR,... --clients FILE
         [--algorithm seed-xor|universal|include-ports] [--id N] [--exact-route SRC[:PORT]]...
         [--calibrate FILE] [--json]

Models how CEF per-destination load sharing spreads clients over equal-cost endpoints.
Cisco has not published its hash: every algorithm here is a model (see loadtest/README.md).

  --vip IP              the anycast service address (the destination every client uses)
  --endpoints N|LIST    N endpoints, or their addresses (paths are ordered by address)
  --clients FILE        one "ADDRESS_OR_CIDR [QPS]" per line; a CIDR spreads its qps
                        evenly over its addresses; qps defaults to 1 per address
  --algorithm NAME      seed-xor (default; the reference deployment's description:
                        key = ((s3^d3)<<8)|(s4^d4)), universal, include-ports
  --id N                the router's universal id (decimal or 0xHEX, from
                        'show ip cef summary'); used by universal and include-ports
  --exact-route SRC[:PORT]  which endpoint SRC reaches (repeatable), like
                        'show ip cef exact-route SRC VIP'
  --calibrate FILE      captured 'show ip cef exact-route' output from a real switch:
                        report how often each algorithm agrees with it
  --json                machine-readable output
`;

interface Flags {
  vip?: string;
  endpoints?: string;
  clients?: string;
  algorithm?: string;
  id?: string;
  'exact-route'?: string[];
  calibrate?: string;
  json?: boolean;
}

export async function run(argv: string[]): Promise<number> {
  const { values: f, help } = parseFlags<Flags>(argv, {
    vip: { type: 'string' },
    endpoints: { type: 'string' },
    clients: { type: 'string' },
    algorithm: { type: 'string' },
    id: { type: 'string' },
    'exact-route': { type: 'string', multiple: true },
    calibrate: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (help) {
    process.stdout.write(HELP);
    return 0;
  }
  const routes = f['exact-route'] ?? [];
  if (!f.clients && !routes.length && !f.calibrate) throw new UsageError('give --clients FILE, --exact-route SRC or --calibrate FILE (see --help)');
  const algorithm = parseAlgorithm(f.algorithm);
  const id = parseId(f.id);
  const endpoints = f.endpoints === undefined ? undefined : parseEndpoints(f.endpoints);
  const out: Record<string, unknown> = {};
  const text: string[] = [];

  if (f.clients || routes.length) {
    if (!f.vip) throw new UsageError('--vip IP is required with --clients or --exact-route');
    if (!endpoints) throw new UsageError('--endpoints N|ADDR,ADDR,... is required with --clients or --exact-route');
    const vip = parseIPv4(f.vip);
    if (vip === undefined) throw new UsageError(`--vip "${f.vip}" is not an IPv4 address`);
    const opts: CefOptions = { vip, endpoints, algorithm, id };
    if (f.clients) {
      const d = cefDistribution(loadClientsFile(f.clients), opts);
      out.distribution = d;
      text.push(
        `CEF model: ${d.algorithm}${d.algorithm === 'seed-xor' ? ' (the reference deployment\'s description)' : ` (id ${d.id})`}; Cisco's real hash is unpublished`,
        `VIP ${d.vip}: ${d.paths} paths, ${d.tableRows}-row table (row r serves path r mod ${d.paths})`,
        `clients: ${d.addresses.toLocaleString('en-US')} addresses, ${fmtQps(d.totalQps)} qps`,
        '',
        textTable(
          ['path', 'endpoint', 'rows', 'qps', 'share', 'vs fair', ''],
          d.endpoints.map((e) => [e.path, e.endpoint, e.rows, fmtQps(e.qps), fmtPct(e.share, 2), fmtRatio(e.ratioToFair), bar(e.ratioToFair / Math.max(1e-12, d.hottest.ratioToFair), 24)]),
        ),
        '',
        `hottest ${d.hottest.endpoint} at ${fmtRatio(d.hottest.ratioToFair)} a fair share; coldest ${d.coldest.endpoint} at ${fmtRatio(d.coldest.ratioToFair)}`,
        `table rows (qps): ${d.table.map((r) => `${r.row}->${r.path}:${fmtQps(r.qps)}`).join(' ')}`,
        ...d.warnings.map((w) => `warning: ${w}`),
      );
    }
    if (routes.length) {
      const answers = routes.map((r) => {
        const { host, port } = parseSrc(r);
        const src = parseIPv4(host);
        if (src === undefined) throw new UsageError(`--exact-route "${r}" is not an IPv4 address`);
        if (algorithm === 'include-ports' && port === undefined) throw new UsageError(`--exact-route "${r}": include-ports hashes the source port too; give SRC:PORT`);
        return exactRoute(opts, src, port);
      });
      out.exactRoutes = answers;
      if (text.length) text.push('');
      for (const a of answers) {
        text.push(`${a.src}${a.srcPort !== undefined ? `[${a.srcPort}]` : ''} -> ${a.dst} => ${a.endpoint} (path ${a.path}, key ${a.key}, row ${a.row}) [${a.algorithm} model]`);
      }
    }
  }

  if (f.calibrate) {
    const c = calibrate(loadExactRouteCapture(f.calibrate), { endpoints, id });
    out.calibration = c;
    if (text.length) text.push('');
    text.push(
      `calibration against ${f.calibrate}: ${c.observations} observations, ${c.endpoints.length} paths (chance ${fmtPct(c.chance)}), id ${c.id}`,
      textTable(
        ['algorithm', 'compared', 'agree', 'agreement', 'best path order'],
        c.algorithms.map((a) => [a.algorithm, a.compared, a.agree, a.compared ? fmtPct(a.agreement) : 'n/a', a.compared ? fmtPct(a.bestOrderAgreement) : 'n/a']),
      ),
      c.best ? `best match: ${c.best}` : 'no algorithm agrees on 90% of flows: this switch\'s hash is not modelled; treat per-flow answers as unknown and the split as "a well-mixed hash"',
      ...c.algorithms.filter((a) => a.note).map((a) => `note: ${a.algorithm}: ${a.note}`),
      ...c.warnings.map((w) => `warning: ${w}`),
    );
  }

  process.stdout.write(f.json ? JSON.stringify(out, null, 2) + '\n' : text.join('\n') + '\n');
  return 0;
}

function parseAlgorithm(v: string | undefined): CefAlgorithm {
  if (v === undefined) return 'seed-xor';
  if (!(CEF_ALGORITHMS as readonly string[]).includes(v)) throw new UsageError(`--algorithm must be one of ${CEF_ALGORITHMS.join(', ')}, got "${v}"`);
  return v as CefAlgorithm;
}

function parseId(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^0x[0-9a-f]{1,8}$/i.test(v) ? parseInt(v.slice(2), 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError(`--id must be a 32-bit number (decimal or 0xHEX), got "${v}"`);
  return n;
}

function parseEndpoints(v: string): Endpoint[] {
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n < 1 || n > 256) throw new UsageError(`--endpoints ${v}: give 1 to 256 endpoints`);
    return syntheticEndpoints(n);
  }
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  const seen = new Set<number>();
  return list.map((s) => {
    const a = parseIPv4(s);
    if (a === undefined) throw new UsageError(`--endpoints: "${s}" is not an IPv4 address`);
    if (seen.has(a)) throw new UsageError(`--endpoints: ${s} is listed twice`);
    seen.add(a);
    return { address: a, label: s };
  });
}

function parseSrc(v: string): { host: string; port?: number } {
  if (!v.includes(':')) return { host: v };
  const { host, port } = parseHostPort(v, 'exact-route');
  return { host, port };
}
