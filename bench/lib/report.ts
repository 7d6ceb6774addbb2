import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * One row of the results: our figure, the same-run baseline's, their ratio (ours ÷ baseline)
 * and the targets of issue #6. `better` says which way is good, for both figure and ratio.
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
 */
export function chart(results: Result[], title: string): string {
  const rowHeight = 34;
  const left = 400;
  const plot = 420;
  const cap = 3;
  const top = 48;
  const height = top + results.length * rowHeight + 40;
  const width = left + plot + 190;
  const x = (share: number) => left + (Math.min(share, cap) / cap) * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="10" y="36" fill="#555">Bars: share of the target (dashed line = target). Dark: ours; light: same-run baseline. Green: every target met.</text>`,
  ];
  for (const [i, r] of results.entries()) {
    const y = top + i * rowHeight;
    const target = r.target.figure ?? r.baseline ?? r.figure;
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
  parts.push(`<text x="${targetX - 14}" y="${height - 20}" fill="#333">target</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export function writeFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}
