import type { Deps } from '../core/io.js';
import type { CloudflareApi } from '../wrangler/api.js';
import { getRollout, type RolloutView } from './containers.js';

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
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
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
    const line = progressLine(target, rollout);
    if (line !== said) deps.log.info((said = line));
    const ended = rolloutEnded(target, rollout, until);
    if (ended) return ended;
    const waited = deps.now().getTime() - started;
    if (waited >= timeoutMs) return { ok: false, reason: stuck(target, rollout, waited), rollout };
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

/** The tag or digest of an image reference: what tells two images apart in a line. */
export function shortImage(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1, at + 20);
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : image;
}
