// Client populations: who sends queries to the VIP, and how many per second.
// File format, one per line:  ADDRESS_OR_CIDR [QPS]   ('#' starts a comment)
// A CIDR spreads its qps evenly over its addresses; without QPS each address sends 1 qps.

import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigIssue } from '../../common/yaml-source.js';
import { parseCidr } from './ipv4.js';

export interface ClientGroup {
  /** First address (32-bit number). */
  base: number;
  /** Number of addresses. */
  count: number;
  /** Total qps of the group, spread evenly over its addresses. */
  qps: number;
  /** Where it came from, for messages: "clients.txt:12". */
  origin?: string;
}

/** Parses clients-file text; every bad line is reported (FILE:LINE: FIELD: MESSAGE) in one ConfigError. */
export function parseClientsText(file: string, text: string): ClientGroup[] {
  const groups: ClientGroup[] = [];
  const issues: ConfigIssue[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*/, '').trim();
    if (!line) continue;
    const lineNo = i + 1;
    const words = line.split(/\s+/);
    if (words.length > 2) {
      issues.push({ file, line: lineNo, field: 'line', message: `expected "ADDRESS_OR_CIDR [QPS]", got ${words.length} words` });
      continue;
    }
    const cidr = parseCidr(words[0]);
    if (typeof cidr === 'string') {
      issues.push({ file, line: lineNo, field: 'address', message: cidr });
      continue;
    }
    let qps = cidr.count;
    if (words.length === 2) {
      const q = parseQps(words[1]);
      if (q === undefined) {
        issues.push({ file, line: lineNo, field: 'qps', message: `"${words[1]}" is not a non-negative number of queries per second` });
        continue;
      }
      qps = q;
    }
    groups.push({ base: cidr.base, count: cidr.count, qps, origin: `${file}:${lineNo}` });
  }
  if (issues.length) throw new ConfigError(issues);
  if (!groups.length) throw new ConfigError([{ file, line: 0, field: '', message: 'no clients: expected lines of "ADDRESS_OR_CIDR [QPS]"' }]);
  return groups;
}

export function loadClientsFile(file: string): ClientGroup[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, line: 0, field: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseClientsText(file, text);
}

/** Accepts "1500", "12.5", "2e4"; rejects negatives, NaN, Infinity and suffixes. */
export function parseQps(text: string): number | undefined {
  if (!/^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export function totalAddresses(groups: readonly ClientGroup[]): number {
  let n = 0;
  for (const g of groups) n += g.count;
  return n;
}
