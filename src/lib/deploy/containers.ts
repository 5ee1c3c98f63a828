import type { CloudflareApi } from '../wrangler/api.js';

/**
 * The Containers API calls deploy and rollback make (wrangler has no command that waits for, or
 * reverts, a rollout). Shapes from Cloudflare's API reference (Containers › Applications › Rollouts:
 * ApplicationRollout, RolloutStep, ApplicationRolloutProgress, ApplicationHealth) and wrangler's
 * generated client (RolloutsService in node_modules/wrangler/wrangler-dist/cli.js: POST
 * /applications/{id}/rollouts, GET …/rollouts?limit, GET and POST …/rollouts/{rollout_id}, whose
 * update body is UpdateApplicationRolloutRequest {action: "next" | "previous" | "revert"}, the enum
 * at cli.js 43606-43617, though the JSDoc at 43990 says "rollback"; "revert: the rollout goes back
 * to the first step in one go").
 */

/** An application as the kit needs it. */
export interface ApplicationView {
  id: string;
  name: string;
  image: string;
  instanceType?: string;
  namespaceId?: string;
}

interface ApiApplication {
  id: string;
  name: string;
  configuration?: { image?: string; instance_type?: string };
  durable_objects?: { namespace_id?: string };
}

/** A rollout as the kit reads it. */
export interface RolloutView {
  id: string;
  /** pending, progressing, completed, reverted or replaced. */
  status: string;
  /** The image it moves instances to. */
  image?: string;
  /** The image instances ran before it. */
  fromImage?: string;
  /** Steps done and in all; instances on the target and in all (progress, for a rolling rollout). */
  currentStep?: number;
  totalSteps?: number;
  updatedInstances?: number;
  totalInstances?: number;
  /** The step in progress: its number, status and reason. */
  step?: { id: number; status: string; reason?: string; percentage?: number };
  /** Instances whose placement reported an error (health.errors). */
  failedInstances: Array<{ id: string; message: string }>;
}

interface ApiRollout {
  id: string;
  status: string;
  target_configuration?: { image?: string };
  current_configuration?: { image?: string };
  progress?: {
    current_step?: number;
    total_steps?: number;
    updated_instances?: number;
    total_instances?: number;
  };
  steps?: Array<{ id: number; status: string; reason?: string; step_size?: { percentage?: number } }>;
  health?: { errors?: Array<{ instance_id: string; event?: { message?: string; name?: string } }> };
}

export async function listApplications(api: CloudflareApi): Promise<ApplicationView[]> {
  const apps = (await api.call<ApiApplication[] | null>('GET', 'containers/applications')) ?? [];
  return apps.map((app) => ({
    id: app.id,
    name: app.name,
    image: app.configuration?.image ?? '',
    ...(app.configuration?.instance_type ? { instanceType: app.configuration.instance_type } : {}),
    ...(app.durable_objects?.namespace_id ? { namespaceId: app.durable_objects.namespace_id } : {}),
  }));
}

/** The newest rollout of an application (the API lists newest first), or undefined. */
export async function latestRollout(api: CloudflareApi, appId: string): Promise<RolloutView | undefined> {
  const rollouts = await api.call<ApiRollout[] | null>(
    'GET',
    `containers/applications/${appId}/rollouts?limit=1`,
  );
  return rollouts?.[0] ? rolloutView(rollouts[0]) : undefined;
}

export async function getRollout(api: CloudflareApi, appId: string, rolloutId: string): Promise<RolloutView> {
  return rolloutView(
    await api.call<ApiRollout>('GET', `containers/applications/${appId}/rollouts/${rolloutId}`),
  );
}

/**
 * Starts a rollout of `image` to every instance in one step (step_percentage 100: what wrangler
 * sends for `--containers-rollout immediate`), as a rolling, automatic rollout.
 */
export async function rollOutImage(
  api: CloudflareApi,
  app: { id: string; instance_type?: string },
  image: string,
  description: string,
): Promise<RolloutView> {
  const created = await api.call<ApiRollout>('POST', `containers/applications/${app.id}/rollouts`, {
    description,
    strategy: 'rolling',
    kind: 'full_auto',
    step_percentage: 100,
    target_configuration: { image, ...(app.instance_type ? { instance_type: app.instance_type } : {}) },
  });
  return rolloutView(created);
}

/**
 * Creates a manual rollout of `image` in the given cumulative steps (CreateApplicationRolloutRequest
 * as wrangler's configRolloutStepsToAPI builds it for a `rollout_step_percentage` array, cli.js
 * ~153633: steps[].step_size.percentage with "Step i of N - rollout at p% of instances"; kind
 * full_manual, cli.js ~43255-43270): nothing moves until `next`.
 */
export async function createManualRollout(
  api: CloudflareApi,
  app: { id: string; instance_type?: string },
  image: string,
  steps: number[],
  description: string,
): Promise<RolloutView> {
  const created = await api.call<ApiRollout>('POST', `containers/applications/${app.id}/rollouts`, {
    description,
    strategy: 'rolling',
    kind: 'full_manual',
    steps: steps.map((percentage, index) => ({
      step_size: { percentage },
      description: `Step ${index + 1} of ${steps.length} - rollout at ${percentage}% of instances`,
    })),
    target_configuration: { image, ...(app.instance_type ? { instance_type: app.instance_type } : {}) },
  });
  return rolloutView(created);
}

/**
 * `next` on a manual rollout: "The rollout will go forward one step. It will succeed if the current
 * step is finished" (workers-sdk containers-shared UpdateApplicationRolloutRequest). A refusal is
 * success false with the reason, as for revert.
 */
export async function advanceRollout(api: CloudflareApi, appId: string, rolloutId: string): Promise<void> {
  const answer = await api.call<{ success?: boolean; message?: string } | null>(
    'POST',
    `containers/applications/${appId}/rollouts/${rolloutId}`,
    { action: 'next' },
  );
  if (answer && answer.success === false)
    throw new Error(
      `Cloudflare refused to advance rollout ${rolloutId}: ${answer.message ?? 'no reason given'}`,
    );
}

/**
 * Reverts a rollout in flight: its replaced instances go back to its current configuration. The
 * answer is UpdateRolloutResponse {success, message, rollout}: a refused action is success false
 * with the reason in message (workers-sdk containers-shared UpdateRolloutResponse), not an HTTP error.
 */
export async function revertRollout(api: CloudflareApi, appId: string, rolloutId: string): Promise<void> {
  const answer = await api.call<{ success?: boolean; message?: string } | null>(
    'POST',
    `containers/applications/${appId}/rollouts/${rolloutId}`,
    { action: 'revert' },
  );
  if (answer && answer.success === false)
    throw new Error(
      `Cloudflare refused to revert rollout ${rolloutId}: ${answer.message ?? 'no reason given'}`,
    );
}

/**
 * The application's instances and the image each runs (the container-instances API: instances-v2,
 * which the deprecated instances endpoint points to; an instance's `image` is the one field that
 * says what it runs).
 */
export async function listInstances(
  api: CloudflareApi,
  appId: string,
): Promise<Array<{ id: string; image: string }>> {
  const instances = await api.call<Array<{ id: string; image?: string }> | null>(
    'GET',
    `containers/applications/${appId}/instances-v2`,
  );
  return (instances ?? []).map((instance) => ({ id: instance.id, image: instance.image ?? '' }));
}

export const ROLLOUT_IN_FLIGHT = new Set(['pending', 'progressing']);

function rolloutView(rollout: ApiRollout): RolloutView {
  const step =
    rollout.steps?.find(
      (candidate) => candidate.status === 'progressing' || candidate.status === 'reverting',
    ) ?? rollout.steps?.find((candidate) => candidate.status === 'pending');
  return {
    id: rollout.id,
    status: rollout.status,
    image: rollout.target_configuration?.image,
    fromImage: rollout.current_configuration?.image,
    currentStep: rollout.progress?.current_step,
    totalSteps: rollout.progress?.total_steps ?? rollout.steps?.length,
    updatedInstances: rollout.progress?.updated_instances,
    totalInstances: rollout.progress?.total_instances,
    ...(step
      ? {
          step: {
            id: step.id,
            status: step.status,
            reason: step.reason,
            percentage: step.step_size?.percentage,
          },
        }
      : {}),
    failedInstances: (rollout.health?.errors ?? []).map((error) => ({
      id: error.instance_id,
      message: error.event?.message ?? error.event?.name ?? 'failed',
    })),
  };
}
