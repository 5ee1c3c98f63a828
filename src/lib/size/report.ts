import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../core/errors.js';
import { describeMeasure, type Measure } from './budget.js';
import { formatBytes } from '../core/bytes.js';

export const REPORT_FORMAT = 'slipway-size-report/1';

export interface ReportLayer {
  diffId: string;
  tarBytes: number;
  compressedBytes: number;
  /** The instruction that made it, when the image history can be matched to its layers. */
  createdBy?: string;
}

export interface Violation {
  kind: 'over-budget' | 'increase' | 'forbidden' | 'missing';
  message: string;
  item?: string;
  path?: string;
}

/** What size-budget measured: written to report-path; another run reads it as its baseline. */
export interface SizeReport {
  format: typeof REPORT_FORMAT;
  image: string;
  imageId: string;
  createdAt: string;
  measure: Measure;
  uncompressedBytes: number;
  compressedBytes: number;
  compressedSource: 'computed' | 'registry';
  cloudflareBytes: number;
  layerCount: number;
  budgetBytes: number;
  budgetSource: string;
  layers: ReportLayer[];
  topLayers: Array<{ sizeBytes: number; compressedBytes?: number; createdBy: string }>;
  violations: Violation[];
  baseline?: { image: string; bytes: number; deltaBytes: number };
}

export function readReport(path: string): SizeReport {
  let r: Partial<SizeReport>;
  try {
    r = JSON.parse(readFileSync(path, 'utf8')) as Partial<SizeReport>;
  } catch (err) {
    throw new UserError(
      `Baseline report ${path} is not readable JSON (${(err as Error).message}): pass a report-path file written by size-budget, or an image.`,
    );
  }
  if (r.format !== REPORT_FORMAT || typeof r.uncompressedBytes !== 'number') {
    throw new UserError(
      `Baseline ${path} is not a size-budget report (format ${String(r.format)}): pass a report-path file written by size-budget, or an image.`,
    );
  }
  return r as SizeReport;
}

export function writeReport(path: string, report: SizeReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

export function isReportPath(value: string): boolean {
  return value.endsWith('.json') && existsSync(value);
}

export function figureOf(
  r: Pick<SizeReport, 'uncompressedBytes' | 'compressedBytes' | 'cloudflareBytes'>,
  m: Measure,
): number {
  return m === 'compressed'
    ? r.compressedBytes
    : m === 'uncompressed'
      ? r.uncompressedBytes
      : r.cloudflareBytes;
}

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

const signed = (n: number) => `${n >= 0 ? '+' : '−'}${formatBytes(Math.abs(n))}`;

/** The job summary: the measure and its unit, used/budget with a bar, top layers, policy, delta. */
export function renderSummary(r: SizeReport): string {
  const used = figureOf(r, r.measure);
  const pct = used / r.budgetBytes;
  const ok = !r.violations.length;
  const out = [
    `### size-budget: \`${r.image}\` ${ok ? '✅ within budget' : '❌ failed'}`,
    '',
    `Measure: **${r.measure}**, ${describeMeasure(r.measure)}. Sizes are decimal: 1 MB = 1,000,000 bytes.`,
    '',
    `\`${bar(pct)}\` **${formatBytes(used)}** of ${formatBytes(r.budgetBytes)} (${(pct * 100).toFixed(1)}%), budget from ${r.budgetSource}`,
    '',
    '| Figure | Bytes | |',
    '| --- | --- | --- |',
    `| Uncompressed | ${r.uncompressedBytes} | ${formatBytes(r.uncompressedBytes)} |`,
    `| Compressed (${r.compressedSource === 'registry' ? 'from the registry manifest' : 'gzip of each layer, computed'}) | ${r.compressedBytes} | ${formatBytes(r.compressedBytes)} |`,
    `| Cloudflare gate | ${r.cloudflareBytes} | ${formatBytes(r.cloudflareBytes)} |`,
    `| Layers | ${r.layerCount} | |`,
    '',
  ];
  if (r.baseline)
    out.push(
      `Delta against \`${r.baseline.image}\`: **${signed(r.baseline.deltaBytes)}** (${r.measure}).`,
      '',
    );
  if (r.topLayers.length) {
    const withCompressed = r.topLayers.some((l) => l.compressedBytes !== undefined);
    out.push(
      '#### Largest layers',
      '',
      `| Size |${withCompressed ? ' Compressed |' : ''} Instruction |`,
      `| --- |${withCompressed ? ' --- |' : ''} --- |`,
    );
    for (const l of r.topLayers) {
      const made = l.createdBy
        ? `\`${l.createdBy.replace(/\|/g, '\\|').replace(/`/g, "'")}\``
        : '(base layer)';
      const compressed = withCompressed
        ? ` ${l.compressedBytes === undefined ? '–' : formatBytes(l.compressedBytes)} |`
        : '';
      out.push(`| ${formatBytes(l.sizeBytes)} |${compressed} ${made} |`);
    }
    out.push('');
  }
  if (r.violations.length) out.push('#### Problems', '', ...r.violations.map((v) => `- ❌ ${v.message}`), '');
  return out.join('\n');
}

export const COMMENT_MARKER = '<!-- slipway:size-budget -->';

/** The pull request comment: found again and updated in place by its hidden marker. */
export function renderComment(r: SizeReport): string {
  const used = figureOf(r, r.measure);
  const delta = r.baseline ? signed(r.baseline.deltaBytes) : 'no baseline';
  return [
    COMMENT_MARKER,
    `**Image size** for \`${r.image}\`: ${r.violations.length ? '❌' : '✅'} ${formatBytes(used)} of ${formatBytes(r.budgetBytes)} (${r.measure})`,
    '',
    '| Measure | Size | Delta |',
    '| --- | --- | --- |',
    `| ${r.measure} | ${formatBytes(used)} | ${delta} |`,
    `| compressed | ${formatBytes(r.compressedBytes)} | |`,
    `| uncompressed | ${formatBytes(r.uncompressedBytes)} | |`,
    ...(r.violations.length ? ['', ...r.violations.map((v) => `- ❌ ${v.message}`)] : []),
    '',
  ].join('\n');
}
