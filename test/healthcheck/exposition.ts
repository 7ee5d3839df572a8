// Strict-enough parser of the Prometheus text format, shared by the metrics tests.
import { expect } from 'vitest';

/** Parses exposition text strictly enough to catch malformed lines. */
export function parseExposition(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const helps = new Set<string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (m) { if (m[1] === 'TYPE') types.set(m[2], m[3]); else helps.add(m[2]); continue; }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`malformed exposition line: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, (s) => (types.has(m![1]) ? s : ''));
    if (!types.has(family) && !types.has(m[1])) throw new Error(`sample without # TYPE: ${line}`);
    samples.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  for (const t of types.keys()) expect(helps.has(t), `HELP for ${t}`).toBe(true);
  return { samples, types };
}

