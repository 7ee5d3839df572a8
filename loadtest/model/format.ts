// Small text helpers shared by the model's CLI output and the Markdown report.

/** 12345.6 -> "12,346"; small values keep one decimal so 0.4 qps doesn't print as 0. */
export function fmtQps(q: number): string {
  if (!Number.isFinite(q)) return String(q);
  if (Math.abs(q) < 100 && q !== Math.round(q)) return q.toFixed(1);
  return Math.round(q).toLocaleString('en-US');
}

export function fmtPct(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

export function fmtRatio(r: number): string {
  return `${r.toFixed(3)}x`;
}

/** Left-aligned text table with a header row; numbers are right-aligned. */
export function textTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const numeric = header.map((_, c) => rows.every((r) => typeof r[c] === 'number' || /^([-+]?[\d,]*\.?\d*[%x]?|n\/a)$/.test(String(r[c]))));
  const width = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells
    .map((r) => r.map((v, c) => (numeric[c] ? v.padStart(width[c]) : v.padEnd(width[c]))).join('  ').trimEnd())
    .join('\n');
}

export function bar(fraction: number, width = 30): string {
  const n = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return '#'.repeat(n);
}
