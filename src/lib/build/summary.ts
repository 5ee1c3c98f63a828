import { formatBytes } from '../core/bytes.js';
import { imageLink, type GitHubOwner } from '../core/links.js';
import { cell, facts, formatSeconds, section, table } from '../core/markdown.js';
import { describeBuilder } from '../engine/build-command.js';
import type { Engine } from '../engine/engine.js';
import type { StepCount } from './output.js';
import type { StageReport } from './stage-cache.js';

/** What the job summary of a build reports. */
export interface BuildReport {
  /** The first reference: what the summary is titled by. */
  image: string;
  /** Empty when no image was built. */
  imageId: string;
  references: string[];
  /** Empty when not pushed, or the registry's digest is unknown. */
  digest: string;
  steps: StepCount;
  durationSeconds: number;
  engine: Engine;
  stageCache: StageReport[];
  /** The stage store the cached stages used, when there were any. */
  stageStore?: StageStoreReport;
  pushed: boolean;
  /** The repository's owner: a ghcr.io image of theirs links to its package page. */
  owner?: GitHubOwner;
  /** Why the build failed, when it did. */
  failure?: string;
}

/** Which stage store a build used: its kind, where it is, and why it was only read (a pull request). */
export interface StageStoreReport {
  kind: 'local' | 'actions' | 'registry';
  location: string;
  readOnly?: string;
}

const STAGE_RESULT: Record<StageReport['result'], string> = {
  hit: '✅ hit',
  miss: '⬜ miss (stored)',
  uncached: '⚠️ not cached',
};

/**
 * The job summary: the image, what built it and how much came from the cache, the stage cache and
 * the tags. A failed build says so under its title; image ID, pushed and tags appear once an image
 * was built.
 */
export function buildSummary(report: BuildReport): string {
  const built = !report.failure || report.imageId !== '';
  return [
    `### build-image: \`${report.image}\`${report.failure ? ' failed' : ''}`,
    '',
    ...(report.failure ? [`**Failed:** ${report.failure}`, ''] : []),
    facts(factRows(report, built)),
    '',
    ...stageCacheSection(report.stageCache, report.stageStore),
    ...(built
      ? section(
          'Tags',
          report.references.map((reference) => `- \`${reference}\``).join('\n'),
          report.references.length,
        )
      : []),
  ].join('\n');
}

function factRows(report: BuildReport, built: boolean): Array<[string, string]> {
  const { cached, total } = report.steps;
  const percent = total ? ` (${Math.round((cached / total) * 100)}%)` : '';
  const pushed = report.pushed ? (report.digest ? `\`${report.digest}\`` : 'yes') : 'no';
  return [
    ...(built
      ? [['Image ID', `\`${report.imageId.replace(/^sha256:/, '').slice(0, 12)}\``] as [string, string]]
      : []),
    ['Builder', describeBuilder(report.engine)],
    ['Cached steps', `${cached} / ${total}${percent}`],
    ['Duration', formatSeconds(report.durationSeconds)],
    ...(report.failure ? [] : [['Pushed', pushed] as [string, string]]),
    // Where the pushed image can be seen: its registry's page when it has one (imageLink).
    ...(report.pushed && !report.failure
      ? [['Registry', imageLink(report.image, report.owner)] as [string, string]]
      : []),
  ];
}

/**
 * The stage cache: which store (and, on a pull request, that the registry was only read), then per
 * stage its result, key, artifact size and time; with the registry store, the bytes pulled or pushed
 * and the entry's manifest digest.
 */
function stageCacheSection(stages: StageReport[], store: StageStoreReport | undefined): string[] {
  if (!stages.length) return [];
  const registry = store?.kind === 'registry';
  const rows = stages.map((stage) => [
    `\`${stage.stage}\``,
    stageResult(stage),
    `\`${stage.key}\``,
    formatBytes(stage.bytes),
    ...(registry ? [registryCell(stage)] : []),
    formatSeconds(stage.seconds),
  ]);
  const head = ['Stage', 'Result', 'Key', 'Artifact', ...(registry ? ['Registry'] : []), 'Time'];
  const where = store
    ? `Store: ${cell(store.location)}${store.readOnly ? ` (read only: ${cell(store.readOnly)})` : ''}.\n\n`
    : '';
  return section('Stage cache', where + table(head, rows), rows.length);
}

function stageResult(stage: StageReport): string {
  const result =
    stage.result === 'miss' && stage.stored === false ? '⬜ miss (not stored)' : STAGE_RESULT[stage.result];
  return result + (stage.note ? `: ${cell(stage.note)}` : '');
}

/** Pulled or pushed bytes and the manifest digest of a registry entry, – when nothing moved. */
function registryCell(stage: StageReport): string {
  const moved =
    stage.pulled !== undefined
      ? `pulled ${formatBytes(stage.pulled)}`
      : stage.pushed !== undefined
        ? `pushed ${formatBytes(stage.pushed)}`
        : '';
  const manifest = stage.manifest ? `\`${stage.manifest}\`` : '';
  return [moved, manifest].filter(Boolean).join(', ') || '–';
}
