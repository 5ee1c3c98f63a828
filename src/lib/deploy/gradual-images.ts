import { sleeper, type Deps } from '../core/io.js';
import type { CloudflareApi } from '../wrangler/api.js';
import { advanceRollout, createManualRollout, getRollout, type RolloutView } from './containers.js';
import type { ApplicationRecord } from './production.js';
import { planImages, rollBackImage, type ImagePlan } from './rollback-images.js';
import { ROLLOUT_POLL_MS, shortImage } from './rollout.js';

/**
 * A gradual deploy's container images: one manual rollout per bound application, stepped by the
 * same percentages as the Worker, each step waited for and read back. `wrangler versions upload`
 * leaves containers alone ("Container configuration changes … will only take effect after running
 * wrangler deploy", cli.js ~303229), so the kit drives the Containers API itself: a full_manual
 * rollout (nothing moves until `next`), `next` per step, and on abort the recorded image back
 * (a revert of the rollout in flight, as rollback does).
 *
 * Ordering: at each step the image moves first and the Worker's share follows to the same
 * percentage. A Worker version and its image are separate artifacts; the new Worker may need the new
 * image, while the old Worker keeps working on either (instances are replaced one by one on
 * Cloudflare whatever the strategy), so the new Worker never gets a larger share than the image has.
 */
export interface ImageSteps {
  /** Creates the rollouts; nothing moves yet. The words when it could not. */
  start(): Promise<string | undefined>;
  /** Moves every rollout through step `index` (from 1) and waits for it; the words when it failed. */
  step(index: number): Promise<string | undefined>;
  /** "1 of 3 instances": where the images stand, for the timeline. */
  standing(): string;
  /** Every application back on its recorded image; the words when one is not. */
  restore(reason: string): Promise<string | undefined>;
}

interface Moving {
  app: ApplicationRecord;
  rolloutId?: string;
  last?: RolloutView;
}

export function imageSteps(
  api: CloudflareApi,
  apps: ApplicationRecord[],
  image: string,
  steps: number[],
  timeoutMs: number,
  deps: Pick<Deps, 'log' | 'now' | 'sleep'>,
): ImageSteps {
  const moving: Moving[] = apps.filter((app) => app.image !== image).map((app) => ({ app }));
  return {
    start: () => startRollouts(api, moving, image, steps, deps.log),
    step: (index) => stepAll(api, moving, index, timeoutMs, deps),
    standing: () =>
      moving
        .map(
          ({ app, last }) =>
            `${app.name} ${last?.updatedInstances ?? 0}/${last?.totalInstances ?? '?'} on the new image`,
        )
        .join(', '),
    restore: (reason) => restoreImages(api, moving, reason, timeoutMs, deps),
  };
}

async function startRollouts(
  api: CloudflareApi,
  moving: Moving[],
  image: string,
  steps: number[],
  log: Deps['log'],
): Promise<string | undefined> {
  for (const entry of moving) {
    try {
      const created = await createManualRollout(api, entry.app, image, steps, 'Slipway gradual deploy');
      entry.rolloutId = created.id;
      log.info(
        `${entry.app.name}: manual rollout ${created.id} to ${shortImage(image)} in steps ${steps.join(', ')}%.`,
      );
    } catch (err) {
      return `could not start the rollout of ${entry.app.name}: ${(err as Error).message}`;
    }
  }
  return undefined;
}

async function stepAll(
  api: CloudflareApi,
  moving: Moving[],
  index: number,
  timeoutMs: number,
  deps: Pick<Deps, 'log' | 'now' | 'sleep'>,
): Promise<string | undefined> {
  for (const entry of moving) {
    try {
      await advanceRollout(api, entry.app.id, entry.rolloutId!);
    } catch (err) {
      return `image step ${index}: ${(err as Error).message}`;
    }
    const failed = await waitForStep(api, entry, index, timeoutMs, deps);
    if (failed) return `image step ${index}: ${failed}`;
  }
  return undefined;
}

/** Until step `index` of the entry's rollout is done; the words when it failed or took too long. */
async function waitForStep(
  api: CloudflareApi,
  entry: Moving,
  index: number,
  timeoutMs: number,
  deps: Pick<Deps, 'log' | 'now' | 'sleep'>,
): Promise<string | undefined> {
  const sleep = sleeper(deps);
  const started = deps.now().getTime();
  for (;;) {
    const rollout = (entry.last = await getRollout(api, entry.app.id, entry.rolloutId!));
    if (rollout.failedInstances.length)
      return `${entry.app.name}: instances failed on the new image: ${rollout.failedInstances.map((i) => `${i.id.slice(0, 12)} (${i.message})`).join(', ')}`;
    if (rollout.status === 'reverted' || rollout.status === 'replaced')
      return `${entry.app.name}: rollout ${rollout.id} was ${rollout.status} by someone else`;
    if (stepDone(rollout, index)) {
      deps.log.info(
        `${entry.app.name}: step ${index} done, ${rollout.updatedInstances ?? '?'} of ${rollout.totalInstances ?? '?'} instances on the new image.`,
      );
      return undefined;
    }
    if (deps.now().getTime() - started >= timeoutMs)
      return `${entry.app.name}: step ${index} did not finish within ${Math.round(timeoutMs / 1000)} s (rollout ${rollout.id} ${rollout.status})`;
    await sleep(ROLLOUT_POLL_MS);
  }
}

/** Step `index` has moved its instances: the rollout completed, or it waits at a later pending step. */
function stepDone(rollout: RolloutView, index: number): boolean {
  if (rollout.status === 'completed') return true;
  return (
    (rollout.currentStep ?? 0) >= index &&
    (!rollout.step || (rollout.step.id > index && rollout.step.status === 'pending'))
  );
}

async function restoreImages(
  api: CloudflareApi,
  moving: Moving[],
  reason: string,
  timeoutMs: number,
  deps: Pick<Deps, 'log' | 'now' | 'sleep'>,
): Promise<string | undefined> {
  const planned: { plans: ImagePlan[]; refusal?: string } = await planImages(
    api,
    moving.map((entry) => entry.app),
    undefined,
    true,
    deps.log,
  ).catch((err: Error) => ({ plans: [], refusal: err.message }));
  if (planned.refusal) return `the images were not restored: ${planned.refusal}`;
  for (const plan of planned.plans) {
    const done = await rollBackImage(api, plan, reason, timeoutMs, deps);
    if (!done.ok) return `the image of ${done.application} was not restored: ${done.error}`;
  }
  return undefined;
}
