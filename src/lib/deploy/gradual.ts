import { sleeper, type Deps } from '../core/io.js';
import { cutBytes, type VersionShare } from '../wrangler/output.js';
import type { CloudflareApi } from '../wrangler/api.js';
import type { WranglerRunResult } from '../wrangler/cli.js';
import type { WranglerSession } from '../wrangler/session.js';
import type { HealthMode } from '../health/mode.js';
import type { VersionProof } from '../health/mode.js';
import { smokeTest } from '../smoke/index.js';
import { versionErrors } from './analytics.js';
import { judgeErrors, sameSplit, splitSpecs, stepSplit } from './gradual-plan.js';
import type { ImageSteps } from './gradual-images.js';

/**
 * `strategy: gradual` for the Worker: upload the version (it serves nothing), probe it at 0% with
 * the version-override header, then step the deployment through the percentages, gating each step
 * on the new version's health (smoke-test with the override) and, with max-error-rate, its error
 * rate over the step from Workers analytics; promote at 100%, or restore the recorded deployment
 * exactly and say which step and which measure failed. See gradual-plan.ts for the sources.
 */
export interface GradualOptions {
  /** Cumulative percentages of traffic for the new version, the last 100. */
  steps: number[];
  /** How long each step bakes before it is judged. */
  stepWaitMs: number;
  /** The error gate (a fraction); undefined: health only. */
  maxErrorRate?: number;
  minRequests: number;
  gate: {
    /** The Worker's URL to probe; default its workers.dev URL. */
    url?: string;
    health: HealthMode;
    path: string;
    proof?: VersionProof;
    timeoutMs: number;
  };
}

/** One line of the timeline: a step, the traffic it gave the new version, its measures, the decision. */
export interface StepRecord {
  step: string;
  traffic: string;
  health: string;
  errors: string;
  decision: 'probed' | 'advanced' | 'promoted' | 'aborted' | 'restored' | 'not restored';
}

export interface GradualOutcome {
  versionId: string;
  workerName: string;
  url: string;
  timeline: StepRecord[];
  /** Production after the release: the new version alone, or the recorded deployment again. */
  live: VersionShare[];
  promoted: boolean;
  failure?: string;
}

/** What a release works with: wrangler (with its docker env), the API, the recorded deployment. */
export interface Release {
  options: GradualOptions;
  wrangler: (args: string[], silent?: boolean) => Promise<WranglerRunResult>;
  session: WranglerSession;
  /** `--config`/`--env` (the derived config when the image was shipped). */
  target: string[];
  api: CloudflareApi;
  deps: Deps;
  before: VersionShare[];
  message?: string;
  /** The container images rolled out in the same steps, when the deploy ships a new one. */
  images?: ImageSteps;
}

/** Runs the release: upload, probe at 0%, steps; restores the recorded deployment on any failure. */
export async function gradualRelease(release: Release, uploadArgs: string[]): Promise<GradualOutcome> {
  const { deps } = release;
  const uploaded = await deps.log.group('wrangler versions upload', () =>
    release.wrangler(['versions', 'upload', ...uploadArgs], false),
  );
  const versionId = uploaded.outcome.versionId ?? '';
  const workerName = uploaded.outcome.workerName ?? '';
  const base = { versionId, workerName, url: '', timeline: [], live: release.before, promoted: false };
  if (uploaded.code !== 0 || !versionId)
    return {
      ...base,
      failure: `wrangler versions upload failed: ${uploaded.outcome.failure?.message ?? 'no version id'}; production is unchanged.`,
    };
  const url = release.options.gate.url || (await workersDevUrl(release.api, workerName));
  const run: Run = { ...release, versionId, workerName, url, timeline: [] };
  const failure = await stepThrough(run);
  if (!failure)
    return { ...base, url, timeline: run.timeline, live: stepSplit(versionId, [], 100), promoted: true };
  const restored = await restore(run, failure);
  return { ...base, url, timeline: run.timeline, live: restored.live, failure: restored.failure };
}

interface Run extends Release {
  versionId: string;
  workerName: string;
  url: string;
  timeline: StepRecord[];
}

/** The probe at 0%, then each step; the first failure's words, or undefined when promoted. */
async function stepThrough(run: Run): Promise<string | undefined> {
  const probe: VersionShare[] = [...run.before, { version_id: run.versionId, percentage: 0 }];
  const probed = await deploySplit(run, probe, 'probe at 0%');
  if (probed) return probed;
  const health = await gateHealth(run, 'probe at 0%');
  run.timeline.push(
    record('probe', probe, run.versionId, health.note, '–', health.pass ? 'probed' : 'aborted'),
  );
  if (!health.pass) return `the new version failed its probe at 0% (${health.note})`;
  const started = await run.images?.start();
  if (started) return started;
  for (const [index, percentage] of run.options.steps.entries()) {
    const failed = await oneStep(run, percentage, index + 1);
    if (failed) return failed;
  }
  return undefined;
}

/**
 * One step: the images first (when the deploy ships one), then the Worker's split; at 100 that is
 * the promotion; below, bake, then judge.
 */
async function oneStep(run: Run, percentage: number, index: number): Promise<string | undefined> {
  const split = stepSplit(run.versionId, run.before, percentage);
  const started = run.deps.now();
  const moved = await run.images?.step(index);
  if (moved) {
    run.timeline.push(record(`${percentage}%`, run.before, run.versionId, moved, '–', 'aborted', run.images));
    return `aborted at ${percentage}%: ${moved}`;
  }
  const failed = await deploySplit(run, split, `step ${percentage}%`);
  if (failed) return failed;
  if (percentage === 100) {
    run.timeline.push(record('100%', split, run.versionId, '–', '–', 'promoted', run.images));
    return undefined;
  }
  run.deps.log.info(`Step ${percentage}%: baking for ${run.options.stepWaitMs / 1000}s.`);
  await sleeper(run.deps)(run.options.stepWaitMs);
  const health = await gateHealth(run, `step ${percentage}%`);
  const errors = health.pass ? await gateErrors(run, started) : { pass: true, note: 'not measured' };
  const pass = health.pass && errors.pass;
  const decision = pass ? 'advanced' : 'aborted';
  run.timeline.push(
    record(`${percentage}%`, split, run.versionId, health.note, errors.note, decision, run.images),
  );
  if (pass) return undefined;
  return `aborted at ${percentage}%: ${health.pass ? `error rate ${errors.note}` : `health ${health.note}`}`;
}

function record(
  step: string,
  split: VersionShare[],
  versionId: string,
  health: string,
  errors: string,
  decision: StepRecord['decision'],
  images?: ImageSteps,
): StepRecord {
  const share = split.find((entry) => entry.version_id === versionId)?.percentage ?? 0;
  const traffic = `${share}% new, ${100 - share}% old${images ? `; ${images.standing()}` : ''}`;
  return { step, traffic, health, errors, decision };
}

/** `wrangler versions deploy <id>@<p>% … -y`, then the deployment read back: the words when it differs. */
async function deploySplit(run: Run, split: VersionShare[], what: string): Promise<string | undefined> {
  const message = cutBytes(`${run.message ?? 'Slipway gradual deploy'} (${what})`);
  const args = ['versions', 'deploy', ...splitSpecs(split), '--yes', `--message=${message}`, ...run.target];
  const ran = await run.deps.log.group(`wrangler versions deploy (${what})`, () => run.wrangler(args, false));
  const live = await run.session.deployment().catch(() => []);
  if (ran.code === 0 && sameSplit(live, split)) return undefined;
  return `wrangler versions deploy (${what}) failed: ${ran.outcome.failure?.message ?? `production serves ${describeSplit(live)}`}`;
}

export function describeSplit(split: VersionShare[]): string {
  return split.length
    ? split.map((share) => `${share.version_id} at ${share.percentage}%`).join(', ')
    : 'nothing';
}

/** The new version's health, asked with the version-override header (it reaches the version at any share). */
async function gateHealth(run: Run, what: string): Promise<{ pass: boolean; note: string }> {
  const { gate } = run.options;
  const provable = gate.health === 'extended' || gate.proof?.header || gate.proof?.pointer;
  const result = await run.deps.log.group(`gate: health of ${run.versionId} (${what})`, () =>
    smokeTest(
      {
        url: run.url,
        path: gate.path,
        health: gate.health,
        proof: gate.proof,
        expectVersion: provable ? run.versionId : undefined,
        acceptStatus: ['healthy', 'degraded'],
        requireCapabilities: [],
        requireTools: [],
        timeoutMs: gate.timeoutMs,
        attemptTimeoutMs: Math.min(10_000, gate.timeoutMs),
        initialDelayMs: 500,
        maxDelayMs: 5_000,
        maxBodyBytes: 1_048_576,
        consecutiveSuccesses: 1,
        headers: [],
        versionOverride: `${run.workerName}="${run.versionId}"`,
      },
      run.deps,
    ),
  );
  const n = result.outputs.attempts;
  return result.failure
    ? { pass: false, note: result.failure.replace(/\.$/, '') }
    : { pass: true, note: `healthy (${n} attempt${n === 1 ? '' : 's'})` };
}

/** The new version's errors over the step, when the error gate is on. */
async function gateErrors(run: Run, since: Date): Promise<{ pass: boolean; note: string }> {
  const { maxErrorRate, minRequests } = run.options;
  if (maxErrorRate === undefined) return { pass: true, note: 'no error gate (max-error-rate)' };
  const target = {
    accountId: run.session.connection.accountId,
    worker: run.workerName,
    versionId: run.versionId,
  };
  try {
    const measure = await versionErrors(run.api, target, since, run.deps.now());
    return judgeErrors(measure, maxErrorRate, minRequests);
  } catch (err) {
    return { pass: false, note: `Workers analytics unreadable: ${(err as Error).message}` };
  }
}

/**
 * Puts the recorded deployment back exactly and reads it back; then the images. Down in the reverse
 * order of up: the Worker first (the old Worker runs on either image), then the images.
 */
async function restore(run: Run, why: string): Promise<{ live: VersionShare[]; failure: string }> {
  run.deps.log.warning(`Gradual deploy ${why}: restoring ${describeSplit(run.before)}.`);
  const workerFailed = await deploySplit(run, run.before, 'restore');
  const imagesFailed = await run.images?.restore(`gradual deploy ${why}`);
  const failed = [workerFailed, imagesFailed].filter(Boolean).join('; ');
  const live = await run.session.deployment().catch(() => []);
  run.timeline.push(
    record('restore', run.before, run.versionId, '–', '–', failed ? 'not restored' : 'restored'),
  );
  const images = run.images ? ' and its images' : '';
  const state = failed
    ? `production was NOT restored (${failed}); it serves ${describeSplit(live)}: roll back by hand`
    : `production restored to the recorded deployment (${describeSplit(run.before)})${images}`;
  return { live, failure: `Gradual deploy of ${run.versionId} ${why}; ${state}.` };
}

/** `https://<worker>.<subdomain>.workers.dev`: the account's subdomain (GET workers/subdomain, as wrangler reads it). */
async function workersDevUrl(api: CloudflareApi, worker: string): Promise<string> {
  const { subdomain } = await api.call<{ subdomain: string }>('GET', 'workers/subdomain');
  return `https://${worker}.${subdomain}.workers.dev`;
}
