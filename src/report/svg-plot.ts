/**
 * Line plots as inline SVG, drawn here so the HTML report is one self-contained file that
 * renders without scripts or network: axes with round ticks (linear or log10), one
 * polyline per series, a legend.
 *
 * Bounded work whatever the input (a one-hour series, 1500 flows, crafted values): at most
 * MAX_SERIES lines per plot and MAX_POINTS points per line (min/max per bucket, so peaks
 * survive), no spread of unbounded arrays into calls, and ticks that stop after a few
 * dozen even where floating point cannot step between far-apart values.
 */

export interface PlotSeries {
  name: string;
  points: [number, number][];
  /** Dashed lines tell a second statistic (p99 beside p50) or a second run apart. */
  dashed?: boolean;
  /** Drawn in the colour of the series at this index (a class's configured share beside the class). */
  colorOf?: number;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  /** Fixed y range (CDFs and shares: [0, 1]); otherwise from the data. */
  yRange?: [number, number];
  formatX?: (v: number) => string;
  formatY?: (v: number) => string;
  series: PlotSeries[];
}

const W = 720;
const H = 360;
const M = { left: 84, right: 200, top: 30, bottom: 46 };
/** Legend entries that fit beside the plot; the rest are summed up in one line. */
const LEGEND_ROWS = 18;
/** Lines drawn per plot; the legend says how many more were left out. */
export const MAX_SERIES = 200;
/** Points per line: a plot is 456 px wide, so more cannot be seen anyway. */
export const MAX_POINTS = 2000;
/** Ticks per axis, at most (a guard: the loops below would otherwise trust floating point). */
const MAX_TICKS = 40;
/** Legend names longer than this are cut (with …) to fit beside the plot; the full name is the line's tooltip. */
const LEGEND_CHARS = 26;
/** Width of one tick-label character at 11 px, for spacing labels so none overlap. */
const LABEL_CHAR_PX = 6.5;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function linearTicks(lo: number, hi: number, want = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / want;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => span / s <= want) ?? 10 * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step) * step;
  // By index, not by `v += step`: near 1e20 adding a small step leaves v where it was.
  for (let i = 0; i < MAX_TICKS; i++) {
    const v = first + i * step;
    if (v > hi + step * 1e-9) break;
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

/** Every k-th of `ticks`, so labels `format(t)` wide leave a gap between them across `width` px. */
function thinned(ticks: number[], format: (v: number) => string, width: number): number[] {
  const widest = Math.max(0, ...ticks.map((t) => format(t).length)) * LABEL_CHAR_PX + 8;
  const every = Math.max(1, Math.ceil((ticks.length * widest) / width));
  return ticks.filter((_, i) => i % every === 0);
}

/** A legend name that fits beside the plot. */
function legendName(name: string): string {
  return name.length <= LEGEND_CHARS ? name : `${name.slice(0, LEGEND_CHARS - 1)}…`;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  // Over many decades, every k-th: at most MAX_TICKS.
  const every = Math.max(1, Math.ceil((e1 - e0 + 1) / MAX_TICKS));
  for (let e = e0; e <= e1; e += every) out.push(10 ** e);
  return out;
}

/**
 * At most `max` points of `points` (in x order): the first and last, and per bucket its
 * lowest and highest y in x order, so a spike in a long series still shows.
 */
export function decimate(points: [number, number][], max: number): [number, number][] {
  if (points.length <= max) return points;
  const buckets = Math.max(1, Math.floor((max - 2) / 2));
  const size = (points.length - 2) / buckets;
  const out: [number, number][] = [points[0]];
  for (let b = 0; b < buckets; b++) {
    const from = 1 + Math.floor(b * size);
    const to = Math.min(points.length - 1, 1 + Math.floor((b + 1) * size));
    let lo = from;
    let hi = from;
    for (let i = from; i < to; i++) {
      if (points[i][1] < points[lo][1]) lo = i;
      if (points[i][1] > points[hi][1]) hi = i;
    }
    if (lo === hi) out.push(points[lo]);
    else out.push(points[Math.min(lo, hi)], points[Math.max(lo, hi)]);
  }
  out.push(points[points.length - 1]);
  return out;
}

/** Min and max of `f` over `pts`, without spreading them into Math.min (a call's arguments are bounded). */
function extent(pts: [number, number][], f: (p: [number, number]) => number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of pts) {
    const v = f(p);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

export function linePlot(spec: PlotSpec): string {
  const drawable = ([x, y]: [number, number]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.xLog || x > 0);
  const series = spec.series.slice(0, MAX_SERIES).map((s) => ({ ...s, points: decimate(s.points.filter(drawable), MAX_POINTS) }));
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) return `<p class="empty">${escapeXml(spec.title)}: no data</p>`;
  let [x0, x1] = extent(pts, (p) => p[0]);
  if (spec.xLog) [x0, x1] = [10 ** Math.floor(Math.log10(x0)), 10 ** Math.ceil(Math.log10(x1 === x0 ? x0 * 10 : x1))];
  else if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const [ylo, yhi] = extent(pts, (p) => p[1]);
  // Headroom above the highest point, so a flat line at the top is not drawn on the frame.
  let [y0, y1] = spec.yRange ?? [Math.min(0, ylo), yhi > 0 ? yhi * 1.05 : yhi];
  if (y0 === y1) y1 = y0 + 1;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + (spec.xLog ? (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => M.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const fx = spec.formatX ?? String;
  const fy = spec.formatY ?? String;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(spec.title)}">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="18" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`,
  ];
  for (const t of thinned(spec.xLog ? logTicks(x0, x1) : linearTicks(x0, x1), fx, pw)) {
    const x = sx(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${M.top + ph}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x}" y="${M.top + ph + 16}" font-size="11" text-anchor="middle">${escapeXml(fx(t))}</text>`);
  }
  for (const t of linearTicks(y0, y1)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${escapeXml(fy(t))}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 8}" font-size="12" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = PALETTE[(s.colorOf ?? i) % PALETTE.length];
    const line = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<polyline points="${line}" fill="none" stroke="${color}" stroke-width="1.8"${dash}><title>${escapeXml(s.name)}</title></polyline>`);
    if (i > LEGEND_ROWS) return;
    const ly = M.top + 12 + i * 16;
    if (i === LEGEND_ROWS) {
      parts.push(
        `<text x="${W - M.right + 12}" y="${ly}" font-size="11" dominant-baseline="middle">… ${spec.series.length - LEGEND_ROWS} more${spec.series.length > MAX_SERIES ? ` (${MAX_SERIES} drawn)` : ''}</text>`,
      );
      return;
    }
    parts.push(`<line x1="${W - M.right + 12}" y1="${ly}" x2="${W - M.right + 36}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(
      `<text x="${W - M.right + 42}" y="${ly}" font-size="11" dominant-baseline="middle">${escapeXml(legendName(s.name))}<title>${escapeXml(s.name)}</title></text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
