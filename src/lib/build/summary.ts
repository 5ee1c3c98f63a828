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
  pushed: boolean;
  /** The repository's owner: a ghcr.io image of theirs links to its package page. */
  owner?: GitHubOwner;
  /** Why the build failed, when it did. */
  failure?: string;
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
    ...stageCacheSection(report.stageCache),
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

function stageCacheSection(stages: StageReport[]): string[] {
  if (!stages.length) return [];
  const rows = stages.map((stage) => [
    `\`${stage.stage}\``,
    STAGE_RESULT[stage.result] + (stage.note ? `: ${cell(stage.note)}` : ''),
    `\`${stage.key}\``,
    formatBytes(stage.bytes),
    formatSeconds(stage.seconds),
  ]);
  return section('Stage cache', table(['Stage', 'Result', 'Key', 'Artifact', 'Time'], rows), rows.length);
}
