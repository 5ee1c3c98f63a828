import type { Deps } from '../core/io.js';
import type { CloudflareApi } from '../wrangler/api.js';
import {
  latestRollout,
  listApplications,
  revertRollout,
  rollOutImage,
  ROLLOUT_IN_FLIGHT,
  type ApplicationView,
  type RolloutView,
} from './containers.js';
import type { ApplicationRecord } from './production.js';
import { shortImage, waitForRollout } from './rollout.js';

/** What the rollback does to one recorded application. */
export interface ImagePlan {
  record: ApplicationRecord;
  /** The image the application is configured with now. */
  current: string;
  /** none: already on the recorded image; revert: the rollout in flight; rollout: a new one to it. */
  action: 'none' | 'revert' | 'rollout';
  inFlight?: RolloutView;
}

/** One application's rollback, as the outputs and the summary say it. */
export interface ImageRollback {
  application: string;
  from: string;
  to: string;
  action: ImagePlan['action'];
  rollout?: string;
  ok: boolean;
  error?: string;
}

/**
 * Plans each recorded application: nothing when it runs the recorded image and no rollout to
 * another image is in flight; revert the rollout in flight (it moves its replaced instances back
 * in one go); else a new rollout to the recorded image. Refused (a reason) when an application's
 * image is neither the recorded one nor the one our deploy left, unless forced: someone else
 * changed it.
 */
export async function planImages(
  api: CloudflareApi,
  recorded: ApplicationRecord[],
  deployed: ApplicationRecord[] | undefined,
  force: boolean,
  log: Deps['log'],
): Promise<{ plans: ImagePlan[]; refusal?: string }> {
  if (!recorded.length) return { plans: [] };
  const live = new Map((await listApplications(api)).map((app) => [app.id, app]));
  const plans: ImagePlan[] = [];
  for (const record of recorded) {
    const app = live.get(record.id);
    if (!app)
      return { plans, refusal: `container application ${record.name} (${record.id}) no longer exists` };
    const refusal = changedBySomeoneElse(record, app, deployed);
    if (refusal && !force)
      return { plans, refusal: `${refusal}. Re-run with force: true to replace it anyway` };
    if (refusal) log.warning(`force: true: ${refusal}.`);
    plans.push(await planImage(api, record, app));
  }
  return { plans };
}

function changedBySomeoneElse(
  record: ApplicationRecord,
  app: ApplicationView,
  deployed: ApplicationRecord[] | undefined,
): string | undefined {
  const ours = deployed?.find((candidate) => candidate.id === record.id)?.image;
  if (app.image === record.image || !deployed || app.image === ours) return undefined;
  return `container application ${record.name} runs ${app.image}, which is neither the recorded ${record.image} nor the ${ours ?? '(none)'} this deploy left: someone else changed it since`;
}

async function planImage(
  api: CloudflareApi,
  record: ApplicationRecord,
  app: ApplicationView,
): Promise<ImagePlan> {
  const rollout = await latestRollout(api, app.id);
  const inFlight =
    rollout && ROLLOUT_IN_FLIGHT.has(rollout.status) && rollout.image !== record.image ? rollout : undefined;
  const action = inFlight ? 'revert' : app.image === record.image ? 'none' : 'rollout';
  return { record, current: app.image, action, ...(inFlight ? { inFlight } : {}) };
}

/** Carries out one plan and waits for it: a revert ends `reverted`, a new rollout `completed`. */
export async function rollBackImage(
  api: CloudflareApi,
  plan: ImagePlan,
  reason: string,
  timeoutMs: number,
  deps: Pick<Deps, 'log' | 'now' | 'sleep'>,
): Promise<ImageRollback> {
  const { record } = plan;
  const base = { application: record.name, from: plan.current, to: record.image, action: plan.action };
  if (plan.action === 'none') {
    deps.log.info(`${record.name} already runs ${shortImage(record.image)}: no rollout.`);
    return { ...base, ok: true };
  }
  try {
    const rolloutId = await startImageRollback(api, plan, reason, deps.log);
    const target = { appId: record.id, appName: record.name, rolloutId, image: record.image };
    const outcome = await waitForRollout(
      api,
      target,
      timeoutMs,
      deps,
      plan.action === 'revert' ? 'reverted' : 'completed',
    );
    return {
      ...base,
      action: plan.action,
      rollout: rolloutId,
      ok: outcome.ok,
      ...(outcome.ok ? {} : { error: outcome.reason }),
    };
  } catch (err) {
    return { ...base, ok: false, error: (err as Error).message };
  }
}

async function startImageRollback(
  api: CloudflareApi,
  plan: ImagePlan,
  reason: string,
  log: Deps['log'],
): Promise<string> {
  const { record } = plan;
  if (plan.inFlight) {
    log.info(
      `Reverting rollout ${plan.inFlight.id} of ${record.name} (to ${shortImage(plan.inFlight.image ?? '?')}): its instances go back to ${shortImage(record.image)}.`,
    );
    const reverted = await revertRollout(api, record.id, plan.inFlight.id).then(
      () => true,
      (err: Error) => {
        // It may have completed meanwhile: a completed rollout takes no action; roll out instead.
        log.warning(`${err.message}: rolling out the recorded image instead.`);
        return false;
      },
    );
    if (reverted) return plan.inFlight.id;
    plan.action = 'rollout';
  }
  log.info(`Rolling ${record.name} out to the recorded image ${record.image} (all instances in one step).`);
  const rollout = await rollOutImage(api, record, record.image, `Slipway rollback: ${reason}`.slice(0, 200));
  return rollout.id;
}
