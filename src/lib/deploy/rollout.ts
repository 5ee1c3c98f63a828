import { sleeper, type Deps } from '../core/io.js';
import { imageIdentity } from '../core/text.js';
import type { CloudflareApi } from '../wrangler/api.js';
import { getRollout, listInstances, type RolloutView } from './containers.js';

/** One rollout to see through: the application, the rollout, the image it moves instances to. */
export interface RolloutTarget {
  appId: string;
  appName: string;
  rolloutId: string;
  image: string;
}

export type RolloutOutcome =
  { ok: true; rollout: RolloutView } | { ok: false; reason: string; rollout?: RolloutView };

/** How often a rollout is read while it progresses. */
export const ROLLOUT_POLL_MS = 1000;

/**
 * Waits until the rollout is `completed` (every instance on the target image, as its progress
 * counts them), printing a line whenever its progress changes. A reverted or replaced rollout,
 * instances reported failed, or the deadline passing ends the wait with the reason in one line:
 * `wrangler deploy` returns when a rollout has started, not when it is done (Cloudflare's rollouts
 * documentation: "Deploy success means the rollout started").
 */
export async function waitForRollout(
  api: CloudflareApi,
  target: RolloutTarget,
  timeoutMs: number,
  deps: Pick<Deps, 'log' | 'now' | 'sleep'>,
  /** completed for a rollout to the image; reverted for a rollout being reverted. */
  until: 'completed' | 'reverted' = 'completed',
): Promise<RolloutOutcome> {
  const sleep = sleeper(deps);
  const started = deps.now().getTime();
  let said = '';
  for (;;) {
    let rollout: RolloutView;
    try {
      rollout = await getRollout(api, target.appId, target.rolloutId);
    } catch (err) {
      return {
        ok: false,
        reason: `could not read rollout ${target.rolloutId} of ${target.appName}: ${(err as Error).message}`,
      };
    }
    const ended = rolloutEnded(target, rollout, until);
    // A rollout shown done while instances still serve another image is not done (the instance view).
    const stale = ended?.ok ? await staleInstances(api, target) : [];
    const line = stale.length
      ? staleLine(target, rollout, stale)
      : until === 'reverted'
        ? revertLine(target, rollout)
        : progressLine(target, rollout);
    if (line !== said) deps.log.info((said = line));
    if (ended && !stale.length) return ended;
    const waited = deps.now().getTime() - started;
    if (waited >= timeoutMs)
      return {
        ok: false,
        reason: stale.length
          ? `${line} after ${Math.round(waited / 1000)} s`
          : stuck(target, rollout, waited),
        rollout,
      };
    await sleep(Math.min(ROLLOUT_POLL_MS, timeoutMs - waited));
  }
}

/** The outcome once the rollout can no longer change; undefined while it may. */
function rolloutEnded(
  target: RolloutTarget,
  rollout: RolloutView,
  until: 'completed' | 'reverted',
): RolloutOutcome | undefined {
  if (rollout.status === until) return { ok: true, rollout };
  const which = `rollout ${rollout.id} of ${target.appName} to ${target.image}`;
  if (rollout.status === 'reverted' || rollout.status === 'replaced')
    return { ok: false, reason: `${which} was ${rollout.status} before it completed`, rollout };
  if (rollout.failedInstances.length) {
    const failed = rollout.failedInstances.map(
      (instance) => `${instance.id.slice(0, 12)} (${instance.message})`,
    );
    return { ok: false, reason: `${which} failed: instances ${failed.join(', ')}`, rollout };
  }
  return undefined;
}

/**
 * The instances still on another image than the target (the instance view, instances-v2); none
 * when the view cannot be read (the rollout's own status is all there is then).
 */
async function staleInstances(
  api: CloudflareApi,
  target: RolloutTarget,
): Promise<Array<{ id: string; image: string }>> {
  const instances = await listInstances(api, target.appId).catch(() => []);
  return instances.filter((instance) => instance.image && instance.image !== target.image);
}

function staleLine(
  target: RolloutTarget,
  rollout: RolloutView,
  stale: Array<{ id: string; image: string }>,
): string {
  const which = stale
    .map((instance) => `${instance.id.slice(0, 12)} on ${shortImage(instance.image)}`)
    .join(', ');
  return `${target.appName}: rollout ${rollout.id} is ${rollout.status}, but instances ${which} do not run ${shortImage(target.image)} yet`;
}

/** A revert's progress: its counts are of the image it leaves, so they are not shown as arrivals. */
function revertLine(target: RolloutTarget, rollout: RolloutView): string {
  if (rollout.status === 'reverted')
    return `${target.appName}: rollout ${rollout.id} reverted: its instances are back on ${shortImage(target.image)}`;
  const step = rollout.step ? `, step ${rollout.step.id} ${rollout.step.status}` : '';
  return `${target.appName}: reverting rollout ${rollout.id} (${rollout.status}${step}) back to ${shortImage(target.image)}`;
}

/** "3 of 5 instances on …:slipway-3f2a…, 0 failed (step 1 of 2, progressing)". */
export function progressLine(target: RolloutTarget, rollout: RolloutView): string {
  const instances =
    rollout.totalInstances !== undefined
      ? `${rollout.updatedInstances ?? 0} of ${rollout.totalInstances} instances on ${shortImage(target.image)}, ${rollout.failedInstances.length} failed`
      : `to ${shortImage(target.image)}`;
  const step = rollout.totalSteps
    ? ` (step ${Math.max(rollout.currentStep ?? 0, 1)} of ${rollout.totalSteps}, ${rollout.status})`
    : ` (${rollout.status})`;
  return `${target.appName}: ${instances}${step}`;
}

function stuck(target: RolloutTarget, rollout: RolloutView, waitedMs: number): string {
  const step = rollout.step ?? { id: rollout.currentStep ?? 0, status: rollout.status };
  const reason = rollout.step?.reason ? `: ${rollout.step.reason}` : '';
  const left =
    rollout.totalInstances !== undefined
      ? `, ${rollout.totalInstances - (rollout.updatedInstances ?? 0)} of ${rollout.totalInstances} instances still on the old image`
      : '';
  return `rollout ${rollout.id} of ${target.appName} to ${target.image} is stuck at step ${step.id} of ${rollout.totalSteps ?? '?'} (${step.status}${reason}) after ${Math.round(waitedMs / 1000)} s${left}`;
}

/** An image's tag, or the start of its digest: what tells two images apart in a line. */
export function shortImage(image: string): string {
  const identity = imageIdentity(image);
  return image.includes('@') ? identity.slice(0, 19) : identity;
}
