import { UserError } from '../core/errors.js';
import type { ActionResult, Deps, Log } from '../core/io.js';
import { cell, facts } from '../core/markdown.js';
import { lastLine } from '../core/text.js';
import type { WranglerRunResult } from '../wrangler/cli.js';
import { cutBytes, errorDetail } from '../wrangler/output.js';
import { openWrangler, type Connection, type WranglerSession } from '../wrangler/session.js';
import { cloudflareApi } from '../wrangler/api.js';
import type { VersionShare } from '../wrangler/output.js';
import {
  describeDeployment,
  NOTHING_LIVE,
  parseState,
  sameDeployment,
  type ProductionState,
} from './production.js';
import { planImages, rollBackImage, type ImageRollback } from './rollback-images.js';
import { shortImage } from './rollout.js';

export interface RollbackOptions extends Connection {
  /** The recorded good version (deploy's previous-version-id). */
  toVersion: string;
  /** The version this rollback means to replace (deploy's version-id). */
  expectedLive: string;
  reason: string;
  force: boolean;
  /** deploy's previous-state (JSON): the Worker deployment and images to restore; supersedes toVersion. */
  previousState?: string;
  /** deploy's deployed-state (JSON): what the rollback expects to replace; supersedes expectedLive. */
  deployedState?: string;
  /** How long to wait for each image rollout (or revert) to finish. */
  rolloutTimeoutMs?: number;
}

/** rollback's outputs, keyed as src/actions/rollback/inputs.ts OUTPUTS names them. */
export interface RollbackOutputs {
  rolledBack: boolean;
  fromVersion: string;
  toVersion: string;
  /** Each recorded container application: its image from/to, what was done, the rollout (JSON). */
  images: string;
}

/** rollback's result; `failure` says production's state. */
export type RollbackResult = ActionResult<RollbackOutputs> & {
  /** wrangler had to force past a change of secrets (code 10220). */
  forced: boolean;
};

const VERSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkId(input: string, value: string): void {
  if (value && !VERSION_ID.test(value))
    throw new UserError(
      `Input "${input}" is "${value}": give a Worker version id (a UUID, as deploy's version outputs and \`wrangler versions list\` show).`,
    );
}

/** What one rollback is about: from the live deployment to the recorded one, and why. */
interface Plan {
  /** The version serving most now, and the recorded one (the outputs). */
  from: string;
  to: string;
  reason: string;
  live: VersionShare[];
  recorded: ProductionState;
  /** What this run's deploy left (from deployed-state, or expected-live alone). */
  expected?: ProductionState;
}

/** How a rollback ended: the summary's title and extra rows, and the outputs that differ by ending. */
interface Ending {
  title: string;
  rolledBack?: boolean;
  forced?: boolean;
  rows?: Array<[string, string]>;
  failure?: string;
  images?: ImageRollback[];
}

/** A state from the JSON input, else from a version id alone (the Worker at 100%, no images). */
function stateFrom(input: string, json: string | undefined, versionId: string): ProductionState | undefined {
  const parsed = parseState(input, json ?? '');
  if (parsed) return parsed;
  return versionId ? { versions: [{ version_id: versionId, percentage: 100 }], applications: [] } : undefined;
}

/**
 * rollback: return production to the recorded state (the Worker deployment, same versions and
 * percentages, and each recorded container image), and only from what this run's deploy left.
 * Never argument-less (wrangler would pick "the deployment before the current one", which after a
 * failed deploy is older than the good version). Running it twice is safe: the second is a no-op.
 */
export async function rollback(options: RollbackOptions, deps: Deps): Promise<RollbackResult> {
  checkId('to-version', options.toVersion);
  checkId('expected-live', options.expectedLive);
  const recorded = stateFrom('previous-state', options.previousState, options.toVersion) ?? NOTHING_LIVE;
  const expected = stateFrom('deployed-state', options.deployedState, options.expectedLive);
  const session = await openWrangler(options, deps);
  const live = await session.deployment();
  const from = live[0]?.version_id ?? '';
  const reason = cutBytes(options.reason.trim() || `Rollback by Slipway from ${from || 'nothing'}`);
  const plan: Plan = { from, to: recorded.versions[0]?.version_id ?? '', reason, live, recorded, expected };
  const stop = stopBeforeRollback(options, plan, deps.log);
  if (stop && !stop.workerOnly) return finish(plan, stop);
  const api = recorded.applications.length ? cloudflareApi(session.connection, deps) : undefined;
  const images = api
    ? await planImages(api, recorded.applications, expected?.applications, options.force, deps.log)
    : { plans: [] };
  if (images.refusal)
    return finish(plan, { title: '⛔ refused', failure: `Refusing to roll back: ${images.refusal}.` });
  const worker = stop ?? (await restoreWorker(session, plan, deps.log));
  const done: ImageRollback[] = [];
  for (const image of images.plans)
    done.push(await rollBackImage(api!, image, reason, options.rolloutTimeoutMs ?? 600_000, deps));
  return finish(plan, withImages(worker, done));
}

/** Runs the Worker's rollback and reads back what serves now. */
async function restoreWorker(session: WranglerSession, plan: Plan, log: Log): Promise<Ending> {
  const ran = await runRollback(session, plan, log);
  return verifyRollback(session, plan, ran);
}

/** The Worker's ending with the images' rows, outputs and failure added. */
function withImages(worker: Ending & { workerOnly?: boolean }, images: ImageRollback[]): Ending {
  const failed = images.find((image) => !image.ok);
  const changed = images.some((image) => image.ok && image.action !== 'none');
  const rows: Array<[string, string]> = images.map((image) => [
    `Image ${image.application}`,
    imageRow(image),
  ]);
  const failure =
    worker.failure ??
    (failed ? `The image of ${failed.application} was not rolled back: ${failed.error}.` : undefined);
  const title =
    failure && !worker.failure
      ? '❌ failed'
      : changed && !worker.rolledBack && !worker.failure
        ? '✅ container images rolled back (the Worker was already live)'
        : worker.title;
  return {
    ...worker,
    title,
    rows: [...(worker.rows ?? []), ...rows],
    failure,
    rolledBack: !!worker.rolledBack || changed,
    images,
  };
}

function imageRow(image: ImageRollback): string {
  if (image.action === 'none') return `already on ${shortImage(image.to)}: nothing done`;
  const how =
    image.action === 'revert'
      ? `rollout ${image.rollout} reverted`
      : `rollout ${image.rollout ?? '(not started)'}`;
  return `${shortImage(image.from)} → ${shortImage(image.to)} (${how}${image.ok ? '' : `, failed: ${image.error}`})`;
}

/**
 * Why the Worker's rollback must not run wrangler (nothing to do, or nothing it may do); undefined:
 * go on. `workerOnly`: the Worker is left as it is, the images are still rolled back.
 */
function stopBeforeRollback(
  options: RollbackOptions,
  plan: Plan,
  log: Log,
): (Ending & { workerOnly?: boolean }) | undefined {
  const { from, to, live, recorded } = plan;
  if (!recorded.versions.length)
    return {
      title: '❌ nothing to roll back to',
      failure: `Nothing to roll back to: no previous version was recorded (a first deploy has none); production serves ${from || 'nothing'}. Deploy a fixed version, or pass to-version with an id from \`wrangler versions list\`.`,
    };
  if (sameDeployment(live, recorded.versions)) {
    log.info(`${describeDeployment(recorded.versions)} is already live: nothing to roll back.`);
    return { title: '✅ already live, nothing done', workerOnly: true };
  }
  if (!from)
    return {
      title: '❌ nothing is live',
      failure: `Cannot roll back: the Worker has no live deployment (not deployed yet, or deleted), so ${to} cannot be restored by a rollback. Deploy instead.`,
    };
  if (recorded.irreversible)
    return {
      title: '⚠️ Worker cannot be rolled back',
      workerOnly: true,
      failure: `The Worker cannot be rolled back: the deploy was irreversible (${recorded.irreversible}); it still serves ${describeDeployment(live)}. Recorded container images were rolled back where they changed; deploy a fix forward.`,
    };
  return checkExpectedLive(options, plan, log);
}

/** Someone else deployed since this run's deploy: refused unless forced. */
function checkExpectedLive(options: RollbackOptions, plan: Plan, log: Log): Ending | undefined {
  const { live, expected } = plan;
  if (!expected?.versions.length) {
    log.info(`expected-live not given: rolling back from whatever is live (${describeDeployment(live)}).`);
    return undefined;
  }
  if (sameDeployment(live, expected.versions)) return undefined;
  const expectedLive = describeDeployment(expected.versions);
  const who = `production serves ${describeDeployment(live)}, which is neither what this run deployed (${expectedLive}) nor the recorded ${describeDeployment(plan.recorded.versions)}: someone else deployed since`;
  if (!options.force)
    return {
      title: '⛔ refused',
      failure: `Refusing to roll back: ${who}. Re-run with force: true to replace it anyway.`,
    };
  log.warning(`force: true: rolling back although ${who}.`);
  return undefined;
}

/**
 * Restores the recorded deployment: `wrangler rollback <id>` when one version served all traffic
 * (it forces past changed secrets, code 10220, and says so), else `wrangler versions deploy
 * <id>@<percentage>…` with the recorded split. `forced` when wrangler forced past changed secrets.
 */
async function runRollback(
  session: WranglerSession,
  plan: Plan,
  log: Log,
): Promise<{ result: WranglerRunResult; forced: boolean }> {
  const { reason, live, recorded } = plan;
  const to = describeDeployment(recorded.versions);
  log.info(`Rolling back ${describeDeployment(live)} → ${to}: ${reason}`);
  const single = recorded.versions.length === 1;
  const args = single
    ? ['rollback', plan.to, `--message=${reason}`, '--yes']
    : [
        'versions',
        'deploy',
        ...recorded.versions.map((share) => `${share.version_id}@${share.percentage}%`),
        `--message=${reason}`,
        '--yes',
      ];
  const result = await log.group(`wrangler ${single ? `rollback ${plan.to}` : `versions deploy ${to}`}`, () =>
    session.run([...args, ...session.common], false),
  );
  const forced = /The following secrets have changed/.test(`${result.stdout}\n${result.stderr}`);
  if (forced)
    log.warning(
      `Secrets changed since ${to} was deployed (code 10220): wrangler forced the rollback; ${to} runs with the secrets it was deployed with.`,
    );
  return { result, forced };
}

/** Reads back what is live: the rollback succeeded only when the recorded deployment serves. */
async function verifyRollback(
  session: WranglerSession,
  plan: Plan,
  ran: { result: WranglerRunResult; forced: boolean },
): Promise<Ending> {
  const { result, forced } = ran;
  const to = describeDeployment(plan.recorded.versions);
  const after = await session.deployment().catch((): VersionShare[] => []);
  const restored = sameDeployment(after, plan.recorded.versions);
  if (result.code === 0 && restored)
    return {
      title: `✅ ${to} is live again`,
      rolledBack: true,
      forced,
      rows: [['Production', `serves ${to}`], ...(forced ? FORCED_ROW : [])],
    };
  const state = restored
    ? `production serves ${to} all the same`
    : sameDeployment(after, plan.live)
      ? `production is unchanged (still ${describeDeployment(plan.live)})`
      : `production serves ${describeDeployment(after)}`;
  const failed = result.outcome.failure;
  const said = [
    failed?.message ?? lastLine(result.stderr || result.stdout),
    errorDetail(`${result.stdout}\n${result.stderr}`),
  ]
    .filter(Boolean)
    .join(' ');
  return {
    title: '❌ failed',
    rolledBack: restored,
    forced,
    rows: [['Production', state]],
    failure: `wrangler ${plan.recorded.versions.length === 1 ? 'rollback' : 'versions deploy'} failed${failed?.code ? ` (code ${failed.code})` : ''}: ${said || 'no message'}; ${state}.`,
  };
}

const FORCED_ROW: Array<[string, string]> = [['Forced', 'secrets changed since that version (10220)']];

function finish(plan: Plan, ending: Ending): RollbackResult {
  const rows: Array<[string, string]> = [
    ['From', `\`${plan.live.length ? describeDeployment(plan.live) : '(nothing live)'}\``],
    [
      'To',
      `\`${plan.recorded.versions.length ? describeDeployment(plan.recorded.versions) : '(none recorded)'}\``,
    ],
    ['Reason', cell(plan.reason)],
    ...(ending.rows ?? []).map(([label, text]): [string, string] => [label, cell(text)]),
    ...(ending.failure ? [['Error', cell(ending.failure)] as [string, string]] : []),
  ];
  return {
    outputs: {
      rolledBack: ending.rolledBack ?? false,
      fromVersion: plan.from,
      toVersion: plan.to,
      images: JSON.stringify(ending.images ?? []),
    },
    forced: ending.forced ?? false,
    failure: ending.failure,
    summary: `### rollback: ${ending.title}\n\n${facts(rows)}\n`,
  };
}
