// A line chart as a standalone SVG file, for the figures the benches record (the
// memory curve in bench/memory.ts). Written here rather than taken from a plotting
// package: a few dozen lines cover axes, ticks, lines and horizontal limits, and
// the file renders in any browser and on GitHub.

export interface Series {
  name: string;
  /** [x, y] pairs in data units, x ascending. */
  points: Array<[number, number]>;
  color?: string;
}

export interface Limit {
  /** A horizontal line at this y (data units), drawn dashed. */
  y: number;
  label: string;
  color?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  limits?: Limit[];
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const MARGIN = { left: 70, right: 20, top: 40, bottom: 70 };

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Tick values covering [0, max]: 1, 2 or 5 times a power of ten apart, at most `most` + 1 of them. */
export function niceTicks(max: number, most = 6): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / most;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const out: number[] = [];
  for (let v = 0; v < max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1] < max) out.push(Number((out[out.length - 1] + step).toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  if (v >= 1e6 && v % 1e5 === 0) return `${v / 1e6}M`;
  if (v >= 1e3 && v % 100 === 0) return `${v / 1e3}k`;
  return String(v);
}

/** The chart as an SVG document. Axes start at 0; the y axis reaches the highest point or limit. */
export function lineChartSvg(o: ChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 420;
  const limits = o.limits ?? [];
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...o.series.flatMap((s) => s.points.map((p) => p[1])), ...limits.map((l) => l.y)];
  const xTicks = niceTicks(Math.max(1, ...xs));
  const yTicks = niceTicks(Math.max(1, ...ys) * 1.05);
  const xMax = xTicks[xTicks.length - 1];
  const yMax = yTicks[yTicks.length - 1];
  const pw = width - MARGIN.left - MARGIN.right;
  const ph = height - MARGIN.top - MARGIN.bottom;
  const X = (x: number) => MARGIN.left + (x / xMax) * pw;
  const Y = (y: number) => MARGIN.top + ph - (y / yMax) * ph;
  const r = (v: number) => Math.round(v * 10) / 10;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(o.title)}</text>`);
  for (const t of yTicks) {
    out.push(`<line x1="${MARGIN.left}" y1="${r(Y(t))}" x2="${MARGIN.left + pw}" y2="${r(Y(t))}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${r(Y(t)) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${r(X(t))}" y1="${MARGIN.top}" x2="${r(X(t))}" y2="${MARGIN.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${r(X(t))}" y="${MARGIN.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${MARGIN.left + pw / 2}" y="${height - 34}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${MARGIN.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  limits.forEach((l, i) => {
    const c = l.color ?? '#888';
    out.push(`<line class="limit" x1="${MARGIN.left}" y1="${r(Y(l.y))}" x2="${MARGIN.left + pw}" y2="${r(Y(l.y))}" stroke="${c}" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${MARGIN.left + pw - 4}" y="${r(Y(l.y)) - 4 - i * 0}" text-anchor="end" fill="${c}">${escapeXml(l.label)}</text>`);
  });
  o.series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.map(([x, y]) => `${r(X(x))},${r(Y(y))}`).join(' ');
    out.push(`<polyline class="series" fill="none" stroke="${c}" stroke-width="2" points="${pts}"/>`);
    out.push(`<line x1="${MARGIN.left + 10 + i * 220}" y1="${height - 12}" x2="${MARGIN.left + 30 + i * 220}" y2="${height - 12}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${MARGIN.left + 36 + i * 220}" y="${height - 8}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
