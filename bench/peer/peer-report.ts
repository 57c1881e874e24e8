/**
 * @module peer/peer-report
 * One table per peer workload: a row per server, each figure followed by its ratio to the peer
 * (Colyseus) and to the baseline (raw relay) row with the same match key (e.g. "N=0", "1 viewer").
 * Ratios are ours ÷ theirs for every figure (so for deliveries/s above 1 is better, for latency
 * and CPU below 1 is better). The rows get their ratios attached for the JSON summary.
 */
import { ratio } from '../stats';

export interface TableFigure { key: string; label: string; higherIsBetter?: boolean }

export interface Row {
  name: string;
  role: 'baseline' | 'peer' | 'ours';
  values: Record<string, number>;
  notes: string;
  /** Filled by printTable: figure → { vsPeer, vsBaseline }. */
  ratios?: Record<string, { vsPeer: number; vsBaseline: number }>;
}

export interface TableOptions {
  /** Key matching a row to its peer and baseline rows; default: one peer and one baseline row for all. */
  matchPeerBy?(name: string): string;
}

export function attachRatios(rows: Row[], figures: readonly TableFigure[], o: TableOptions = {}): void {
  const key = o.matchPeerBy ?? ((): string => '');
  const find = (role: Row['role'], k: string): Row | undefined => rows.find((r) => r.role === role && key(r.name) === k) ?? rows.find((r) => r.role === role);
  for (const row of rows) {
    if (row.role === 'baseline') continue;
    const peer = find('peer', key(row.name));
    const base = find('baseline', key(row.name));
    row.ratios = {};
    for (const f of figures) {
      const v = row.values[f.key];
      if (v === undefined || v === null) continue;
      row.ratios[f.key] = { vsPeer: peer?.values[f.key] !== undefined ? ratio(v, peer.values[f.key]!, 2) : Number.NaN, vsBaseline: base?.values[f.key] !== undefined ? ratio(v, base.values[f.key]!, 2) : Number.NaN };
    }
  }
}

/** Values come back from the load generator as JSON, where NaN became null. */
function fmt(v: number | null | undefined): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '-';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

function fmtRatio(v: number | null | undefined): string { return v === undefined || v === null || Number.isNaN(v) ? '-' : `${v}x`; }

export function printTable(title: string, figures: readonly TableFigure[], rows: Row[], o: TableOptions = {}): void {
  attachRatios(rows, figures, o);
  const header = ['', ...figures.map((f) => f.label)];
  const lines: string[][] = [header];
  const hasPeer = rows.some((r) => r.role === 'peer');
  const hasBaseline = rows.some((r) => r.role === 'baseline');
  for (const row of rows) {
    lines.push([row.name, ...figures.map((f) => fmt(row.values[f.key]))]);
    if (row.ratios) {
      if (row.role === 'ours' && hasPeer) lines.push(['  ÷ Colyseus', ...figures.map((f) => fmtRatio(row.ratios?.[f.key]?.vsPeer))]);
      if (hasBaseline) lines.push(['  ÷ baseline', ...figures.map((f) => fmtRatio(row.ratios?.[f.key]?.vsBaseline))]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  process.stdout.write(`\n[peer] ${title}\n`);
  for (const l of lines) process.stdout.write(`  ${l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}\n`);
  for (const row of rows) if (row.notes) process.stdout.write(`  ${row.name}: ${row.notes}\n`);
}
