import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../core/errors.js';
import { describeMeasure, type Measure } from './budget.js';
import { formatBytes } from '../core/bytes.js';
import { cell, section, table } from '../core/markdown.js';

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
  let report: Partial<SizeReport>;
  try {
    report = JSON.parse(readFileSync(path, 'utf8')) as Partial<SizeReport>;
  } catch (err) {
    throw new UserError(
      `Baseline report ${path} is not readable JSON (${(err as Error).message}): pass a report-path file written by size-budget, or an image.`,
    );
  }
  if (report.format !== REPORT_FORMAT || typeof report.uncompressedBytes !== 'number') {
    throw new UserError(
      `Baseline ${path} is not a size-budget report (format ${String(report.format)}): pass a report-path file written by size-budget, or an image.`,
    );
  }
  return report as SizeReport;
}

export function writeReport(path: string, report: SizeReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

export function isReportPath(value: string): boolean {
  return value.endsWith('.json') && existsSync(value);
}

export function figureOf(
  report: Pick<SizeReport, 'uncompressedBytes' | 'compressedBytes' | 'cloudflareBytes'>,
  measure: Measure,
): number {
  return measure === 'compressed'
    ? report.compressedBytes
    : measure === 'uncompressed'
      ? report.uncompressedBytes
      : report.cloudflareBytes;
}

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

const signed = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${formatBytes(Math.abs(bytes))}`;

/** The job summary: the measure and its unit, used/budget with a bar, top layers, policy, delta. */
export function renderSummary(report: SizeReport): string {
  const used = figureOf(report, report.measure);
  const fraction = used / report.budgetBytes;
  const verdict = report.violations.length ? '❌ failed' : '✅ within budget';
  const out = [
    `### size-budget: \`${report.image}\` ${verdict}`,
    '',
    `Measure: **${report.measure}**, ${describeMeasure(report.measure)}. Sizes are decimal: 1 MB = 1,000,000 bytes.`,
    '',
    `\`${bar(fraction)}\` **${formatBytes(used)}** of ${formatBytes(report.budgetBytes)} (${(fraction * 100).toFixed(1)}%), budget from ${report.budgetSource}`,
    '',
    figuresTable(report),
    '',
  ];
  if (report.baseline)
    out.push(
      `Delta against \`${report.baseline.image}\`: **${signed(report.baseline.deltaBytes)}** (${report.measure}).`,
      '',
    );
  if (report.topLayers.length)
    out.push(...section('Largest layers', largestLayersTable(report.topLayers), report.topLayers.length));
  if (report.violations.length) out.push('#### Problems', '', ...problems(report.violations), '');
  return out.join('\n');
}

/** The three figures in bytes and in decimal units, and the layer count. */
function figuresTable(report: SizeReport): string {
  const compressedFrom =
    report.compressedSource === 'registry' ? 'from the registry manifest' : 'gzip of each layer, computed';
  // Exact bytes with thousands separators beside the decimal unit: never a bare nine-digit number.
  const row = (label: string, bytes: number) => [label, bytes.toLocaleString('en-US'), formatBytes(bytes)];
  return table(
    ['Figure', 'Bytes', ''],
    [
      row('Uncompressed', report.uncompressedBytes),
      row(`Compressed (${compressedFrom})`, report.compressedBytes),
      row('Cloudflare gate', report.cloudflareBytes),
      ['Layers', String(report.layerCount), ''],
    ],
  );
}

/** The largest layers with the instruction that made them (and their compressed size when known). */
function largestLayersTable(layers: SizeReport['topLayers']): string {
  const withCompressed = layers.some((layer) => layer.compressedBytes !== undefined);
  const rows = layers.map((layer) => {
    const made = layer.createdBy ? `\`${cell(layer.createdBy.replace(/`/g, "'"))}\`` : '(base layer)';
    const compressed = layer.compressedBytes === undefined ? '–' : formatBytes(layer.compressedBytes);
    return [formatBytes(layer.sizeBytes), ...(withCompressed ? [compressed] : []), made];
  });
  return table(['Size', ...(withCompressed ? ['Compressed'] : []), 'Instruction'], rows);
}

const problems = (violations: Violation[]) => violations.map((violation) => `- ❌ ${violation.message}`);

export const COMMENT_MARKER = '<!-- slipway:size-budget -->';

/** The pull request comment: found again and updated in place by its hidden marker. */
export function renderComment(report: SizeReport): string {
  const used = figureOf(report, report.measure);
  const delta = report.baseline ? signed(report.baseline.deltaBytes) : 'no baseline';
  return [
    COMMENT_MARKER,
    `**Image size** for \`${report.image}\`: ${report.violations.length ? '❌' : '✅'} ${formatBytes(used)} of ${formatBytes(report.budgetBytes)} (${report.measure})`,
    '',
    table(
      ['Measure', 'Size', 'Delta'],
      [
        [report.measure, formatBytes(used), delta],
        ['compressed', formatBytes(report.compressedBytes), ''],
        ['uncompressed', formatBytes(report.uncompressedBytes), ''],
      ],
    ),
    ...(report.violations.length ? ['', ...problems(report.violations)] : []),
    '',
  ].join('\n');
}
