import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One step of a load search: the offered rate, the request latencies at it, the share of failed operations, and whether the step passed. */
export interface CurvePoint {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  ok: boolean;
}

/** Latency against offered rate, one curve per side (ours first, then the baseline), in the order the steps ran. */
export interface Curve {
  /** Unit of the offered rate (the x axis). */
  unit: string;
  /** The p99 a step had to stay under to pass (drawn as a dashed line). */
  p99LimitMs: number;
  sides: { name: string; points: CurvePoint[] }[];
}

/**
 * One row of the results: our figure, the same-run baseline's, their ratio (ours ÷ baseline)
 * and the project's targets. `better` says which way is good, for both figure and ratio.
 */
export interface Row {
  id: string;
  benchmark: string;
  unit: string;
  better: 'higher' | 'lower';
  figure: number;
  baseline: number | null;
  baselineName: string;
  /** Absolute target for the figure, and for the ratio, compared in the `better` direction. */
  target: { figure?: number; ratio?: number };
  /** Context a reader needs: load, samples, conditions. */
  detail?: string;
  /** For a row found by a search over rates: every step, drawn as a panel under the bars. */
  curve?: Curve;
}

export interface Result extends Row {
  ratio: number | null;
  met: boolean;
}

const within = (value: number, limit: number | undefined, better: Row['better']) =>
  limit === undefined || (better === 'higher' ? value >= limit : value <= limit);

export function evaluate(row: Row): Result {
  const ratio = row.baseline ? row.figure / row.baseline : null;
  const met =
    Number.isFinite(row.figure) && within(row.figure, row.target.figure, row.better) && (ratio === null || within(ratio, row.target.ratio, row.better));
  return { ...row, ratio, met };
}

const fmt = (value: number | null) => {
  if (value === null || !Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(value === 0 ? 0 : Math.abs(value) < 0.01 ? 4 : 2);
};

function targetText(row: Row): string {
  const op = row.better === 'higher' ? '≥' : '≤';
  return [
    row.target.figure !== undefined ? `${op} ${fmt(row.target.figure)} ${row.unit}` : '',
    row.target.ratio !== undefined ? `ratio ${op} ${row.target.ratio}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** The results as a Markdown table (printed, and pasted into docs/performance.md). */
export function table(results: Result[]): string {
  const lines = [
    '| benchmark | ours | baseline (same run) | ratio | target | met |',
    '| --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.benchmark} | ${fmt(r.figure)} ${r.unit} | ${r.baseline === null ? '—' : `${fmt(r.baseline)} ${r.unit}`} (${r.baselineName}) | ${fmt(r.ratio)} | ${targetText(r)} | ${r.met ? 'yes' : '**no**'} |`,
    ),
  ];
  return lines.join('\n');
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A bar chart: per row, our figure and the baseline's as a share of the row's target (the
 * dashed line is the target; bars past 3× are cut and marked). Green rows meet every target.
 * Under the bars, one panel per row that carries a curve (see `curvePanel`).
 */
export function chart(results: Result[], title: string): string {
  const rowHeight = 34;
  const left = 400;
  const plot = 420;
  const cap = 3;
  const top = 48;
  const barsHeight = top + results.length * rowHeight + 40;
  const width = left + plot + 190;
  const curved = results.filter((r): r is Result & { curve: Curve } => r.curve !== undefined);
  const height = barsHeight + curved.length * curvePanelHeight;
  const x = (share: number) => left + (Math.min(share, cap) / cap) * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="10" y="36" fill="#555">Bars: share of the target (dashed line = target). Dark: ours; light: same-run baseline. Green: every target met.</text>`,
  ];
  for (const [i, r] of results.entries()) {
    const y = top + i * rowHeight;
    // A ratio-only target sits at that multiple of the baseline.
    const target = r.target.figure ?? (r.baseline !== null && r.target.ratio !== undefined ? r.baseline * r.target.ratio : r.baseline) ?? r.figure;
    const share = (value: number) => (target ? value / target : 0);
    const colour = r.met ? '#2e7d32' : '#c62828';
    parts.push(`<text x="10" y="${y + 15}">${escape(r.benchmark.slice(0, 62))}</text>`);
    parts.push(`<text x="10" y="${y + 28}" fill="#777" font-size="10">${escape(`${r.better} is better`)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${x(share(r.figure)) - left}" height="12" fill="${colour}"/>`);
    if (r.baseline !== null) parts.push(`<rect x="${left}" y="${y + 18}" width="${x(share(r.baseline)) - left}" height="8" fill="${colour}" opacity="0.35"/>`);
    if (share(r.figure) > cap) parts.push(`<text x="${left + plot + 2}" y="${y + 15}">»</text>`);
    parts.push(
      `<text x="${left + plot + 14}" y="${y + 15}">${escape(`${fmt(r.figure)} ${r.unit}`)}</text>`,
      `<text x="${left + plot + 14}" y="${y + 28}" fill="#777" font-size="10">${escape(r.baseline === null ? '' : `baseline ${fmt(r.baseline)}, ratio ${fmt(r.ratio)}`)}</text>`,
    );
  }
  const targetX = x(1);
  parts.push(`<line x1="${targetX}" y1="${top}" x2="${targetX}" y2="${top + results.length * rowHeight}" stroke="#333" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${targetX - 14}" y="${barsHeight - 20}" fill="#333">target</text>`);
  for (const [i, r] of curved.entries()) parts.push(...curvePanel(r.benchmark, r.curve, barsHeight + i * curvePanelHeight, width));
  parts.push('</svg>');
  return parts.join('\n');
}

const curvePanelHeight = 340;
/** Ours dark, the baseline light (as the bars), any further side grey. */
const curveColours = ['#1a3a6e', '#8aa9dc', '#999'];

/**
 * A panel of latency against offered rate: per side, a dot per step at its p99 (log scale),
 * filled if the step passed and hollow if it failed, a line through the rates in order, a dotted
 * drop line at the side's highest passing rate; and the dashed p99 limit.
 */
function curvePanel(benchmark: string, curve: Curve, top: number, width: number): string[] {
  const plotLeft = 70;
  const plotRight = width - 230;
  const plotTop = top + 50;
  const plotBottom = top + curvePanelHeight - 50;
  const points = curve.sides.flatMap((side) => side.points);
  const p99s = points.map((point) => point.p99).filter((p99) => p99 > 0);
  const lowDecade = Math.floor(Math.log10(Math.min(curve.p99LimitMs, ...p99s)));
  const highDecade = Math.max(lowDecade + 1, Math.ceil(Math.log10(Math.max(curve.p99LimitMs, ...p99s))));
  const y = (ms: number) => {
    const decades = Math.log10(Math.max(ms, 10 ** lowDecade)) - lowDecade;
    return plotBottom - (decades / (highDecade - lowDecade)) * (plotBottom - plotTop);
  };
  const rateStep = niceStep(Math.max(...points.map((point) => point.rate), 1) * 1.05, 6);
  const rateMax = Math.ceil((Math.max(...points.map((point) => point.rate), 1) * 1.05) / rateStep) * rateStep;
  const x = (rate: number) => plotLeft + (rate / rateMax) * (plotRight - plotLeft);
  const parts = [
    `<line x1="10" y1="${top + 4}" x2="${width - 10}" y2="${top + 4}" stroke="#ccc"/>`,
    `<text x="10" y="${top + 24}" font-size="14" font-weight="bold">${escape(`${benchmark}: latency against offered rate`)}</text>`,
    `<text x="10" y="${top + 40}" fill="#555">${escape('One dot per search step: request p99 (log scale) at the offered rate. Filled: passed; hollow: failed (p99 or errors). A rate run twice: the line takes the 2nd run.')}</text>`,
  ];
  for (let decade = lowDecade; decade <= highDecade; decade++) {
    for (const minor of decade < highDecade ? [2, 5] : []) {
      parts.push(`<line x1="${plotLeft}" y1="${y(minor * 10 ** decade)}" x2="${plotRight}" y2="${y(minor * 10 ** decade)}" stroke="#f0f0f0"/>`);
    }
    parts.push(
      `<line x1="${plotLeft}" y1="${y(10 ** decade)}" x2="${plotRight}" y2="${y(10 ** decade)}" stroke="#ddd"/>`,
      `<text x="${plotLeft - 6}" y="${y(10 ** decade) + 4}" text-anchor="end">${escape(tick(10 ** decade))}</text>`,
    );
  }
  for (let rate = 0; rate <= rateMax; rate += rateStep) {
    parts.push(
      `<line x1="${x(rate)}" y1="${plotBottom}" x2="${x(rate)}" y2="${plotBottom + 4}" stroke="#333"/>`,
      `<text x="${x(rate)}" y="${plotBottom + 17}" text-anchor="middle">${escape(tick(rate))}</text>`,
    );
  }
  parts.push(
    `<rect x="${plotLeft}" y="${plotTop}" width="${plotRight - plotLeft}" height="${plotBottom - plotTop}" fill="none" stroke="#333"/>`,
    `<text x="${(plotLeft + plotRight) / 2}" y="${plotBottom + 34}" text-anchor="middle">${escape(`offered load, ${curve.unit}`)}</text>`,
    `<text x="16" y="${(plotTop + plotBottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(plotTop + plotBottom) / 2})">request p99, ms</text>`,
    `<line x1="${plotLeft}" y1="${y(curve.p99LimitMs)}" x2="${plotRight}" y2="${y(curve.p99LimitMs)}" stroke="#c62828" stroke-dasharray="6 4"/>`,
  );
  const legendX = plotRight + 20;
  for (const [i, side] of curve.sides.entries()) {
    const colour = curveColours[Math.min(i, curveColours.length - 1)]!;
    // The line joins, per rate, the step run last (a rate run twice counts its second run).
    const counted = [...new Map(side.points.map((point) => [point.rate, point])).values()].sort((a, b) => a.rate - b.rate);
    const best = side.points
      .filter((point) => point.ok)
      .sort((a, b) => a.rate - b.rate)
      .at(-1);
    if (best) parts.push(`<line x1="${x(best.rate)}" y1="${y(best.p99)}" x2="${x(best.rate)}" y2="${plotBottom}" stroke="${colour}" stroke-dasharray="2 3"/>`);
    parts.push(`<polyline points="${counted.map((point) => `${x(point.rate)},${y(point.p99)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const point of side.points) {
      parts.push(`<circle cx="${x(point.rate)}" cy="${y(point.p99)}" r="4.5" fill="${point.ok ? colour : 'white'}" stroke="${colour}" stroke-width="2"/>`);
    }
    const legendY = plotTop + 10 + i * 40;
    parts.push(
      `<line x1="${legendX}" y1="${legendY}" x2="${legendX + 24}" y2="${legendY}" stroke="${colour}" stroke-width="2"/>`,
      `<circle cx="${legendX + 12}" cy="${legendY}" r="4.5" fill="${colour}"/>`,
      `<text x="${legendX + 32}" y="${legendY + 4}">${escape(side.name)}</text>`,
      `<text x="${legendX + 32}" y="${legendY + 19}" fill="#555" font-size="11">${escape(best ? `goodput ${fmt(best.rate)} ${curve.unit}` : 'no step passed')}</text>`,
    );
  }
  const keyY = plotTop + 10 + curve.sides.length * 40;
  parts.push(
    `<circle cx="${legendX + 12}" cy="${keyY}" r="4.5" fill="#555" stroke="#555" stroke-width="2"/>`,
    `<text x="${legendX + 32}" y="${keyY + 4}" font-size="11">step passed</text>`,
    `<circle cx="${legendX + 12}" cy="${keyY + 20}" r="4.5" fill="white" stroke="#555" stroke-width="2"/>`,
    `<text x="${legendX + 32}" y="${keyY + 24}" font-size="11">step failed</text>`,
    `<line x1="${legendX}" y1="${keyY + 40}" x2="${legendX + 24}" y2="${keyY + 40}" stroke="#c62828" stroke-dasharray="6 4"/>`,
    `<text x="${legendX + 32}" y="${keyY + 44}" font-size="11">${escape(`p99 limit, ${tick(curve.p99LimitMs)} ms`)}</text>`,
    `<line x1="${legendX + 12}" y1="${keyY + 52}" x2="${legendX + 12}" y2="${keyY + 68}" stroke="#555" stroke-dasharray="2 3"/>`,
    `<text x="${legendX + 32}" y="${keyY + 64}" font-size="11">goodput (highest pass)</text>`,
  );
  return parts;
}

/** An axis label: a round number as it is, without fmt's fixed decimals. */
const tick = (value: number) => (value >= 1 ? Math.round(value).toLocaleString('en-US') : String(value));

/** A round step (1, 2 or 5 × a power of ten) that cuts 0…max into about `count` intervals. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw)!;
}

export function writeFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}
