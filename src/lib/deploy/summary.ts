import { imageLink } from '../core/links.js';
import { cell, facts, link, table } from '../core/markdown.js';
import type { DeployOutputs } from './deploy.js';
import type { StepRecord } from './gradual.js';
import { describeDeployment, parseState } from './production.js';
import { shortImage } from './rollout.js';

/** deploy's job summary: the version, what was recorded, where it lives, production's state. */
export interface SummaryDetails {
  rolloutRows?: Array<[string, string]>;
  /** The reference the containers run when the image input was shipped: linked to its registry's page. */
  image?: string;
  failure?: string;
  /** A gradual deploy's steps. */
  timeline?: StepRecord[];
}

/**
 * The Worker in the Cloudflare dashboard, as a deeplink: `/?to=/:account/…` lets the dashboard fill
 * in the account (Cloudflare Docs style guide, "DashButton": "a Cloudflare dashboard deeplink",
 * e.g. "/?to=/:account/home"). The Worker's page is `workers/services/view/:worker/production`, the
 * path Cloudflare's changelog links a Worker's Metrics tab under ("Track memory usage for Workers
 * and Durable Objects in the dashboard", 2026-06-30: https://dash.cloudflare.com/?to=/:account/
 * workers/services/view/:worker/production/metrics).
 */
function workerDashboardUrl(worker: string): string {
  return `https://dash.cloudflare.com/?to=/:account/workers/services/view/${encodeURIComponent(worker)}/production`;
}

export function deploySummary(outputs: DeployOutputs, state: string, details: SummaryDetails): string {
  const { rolloutRows = [], image, failure } = details;
  const title = `### deploy: \`${outputs.workerName || 'worker'}\` ${outputs.deployed ? '✅ live' : '❌ not deployed'}`;
  const rows: Array<[string, string]> = [
    ['Version', `\`${outputs.versionId || '–'}\``],
    ['Previous', `\`${outputs.previousVersionId || '(first deploy)'}\``],
    ...recordedRows(outputs.previousState),
    ['URL', outputs.deploymentUrl ? link(outputs.deploymentUrl, outputs.deploymentUrl) : '–'],
    ...(outputs.workerName
      ? [['Dashboard', link(outputs.workerName, workerDashboardUrl(outputs.workerName))] as [string, string]]
      : []),
    ...(image ? [['Image', imageLink(image)] as [string, string]] : []),
    ['Production', cell(state)],
    ...rolloutRows.map(([label, text]): [string, string] => [label, cell(text)]),
    ...(outputs.reversible
      ? []
      : [['Reversible', 'no: the Worker cannot be rolled back after this deploy'] as [string, string]]),
    ...(failure ? [['Error', cell(failure)] as [string, string]] : []),
  ];
  return `${title}\n\n${facts(rows)}\n${details.timeline ? timelineSection(details.timeline) : ''}`;
}

/** The gradual deploy's timeline: each step, the traffic it gave the new version, its measures, the decision. */
function timelineSection(timeline: StepRecord[]): string {
  const rows = timeline.map((step) => [
    step.step,
    step.traffic,
    cell(step.health),
    cell(step.errors),
    step.decision,
  ]);
  return `\n#### Gradual rollout\n\n${table(['step', 'traffic', 'health', 'errors', 'decision'], rows)}\n`;
}

/** What a rollback would restore, when it is more than the previous version alone. */
function recordedRows(previousState: string): Array<[string, string]> {
  const recorded = previousState ? parseState('previous-state', previousState) : undefined;
  if (!recorded || (recorded.versions.length < 2 && !recorded.applications.length)) return [];
  const images = recorded.applications.map((app) => `${app.name} on ${shortImage(app.image)}`);
  return [['Recorded', cell([`Worker ${describeDeployment(recorded.versions)}`, ...images].join('; '))]];
}
