import type { Deps } from '../core/io.js';
import type { CloudflareApi } from '../wrangler/api.js';
import type { WranglerRunResult } from '../wrangler/cli.js';
import type { WranglerSession } from '../wrangler/session.js';
import type { DeployOptions, DeployResult } from './deploy.js';
import { describeSplit, gradualRelease, type GradualOptions } from './gradual.js';
import { NOTHING_LIVE, readProduction, sameDeployment, type ProductionState } from './production.js';
import { deploySummary } from './summary.js';
import { imageSteps } from './gradual-images.js';

/** What deploy hands a gradual release: wrangler with its docker env, the session, the target. */
export interface GradualDeploy {
  options: DeployOptions & { gradual: GradualOptions };
  /** wrangler deploy's arguments (the first is "deploy"): versions upload takes the same. */
  args: string[];
  /** `--config`/`--env` of the deploy (the derived config when the image was shipped). */
  target: string[];
  wrangler: (args: string[], silent?: boolean) => Promise<WranglerRunResult>;
  session: WranglerSession;
  api: CloudflareApi;
  deps: Deps;
  before: ProductionState;
  /** The image the deploy ships (the image input, pushed), if any. */
  image?: string;
}

/**
 * Why this deploy cannot go out gradually, or undefined. A Durable Object migration cannot be
 * uploaded as a version ("Versions of Worker bundles containing new Durable Object migrations cannot
 * be uploaded", cf-docs gradual-deployments.mdx, Migrations). A deployment holds two versions at
 * most, so a split already in place must finish first. A new container image rolls out in the same
 * steps, and a rollout's steps are "Min 10% and Max 100%" (the Containers API's
 * steps[].step_size.percentage; wrangler's own check, cli.js ~31136).
 */
export function gradualRefusal(
  before: ProductionState,
  irreversible: string | undefined,
  steps: number[],
  image?: string,
): string | undefined {
  if (irreversible)
    return `strategy gradual cannot ship this deploy: ${irreversible}; deploy it with strategy immediate`;
  if (before.versions.length > 1)
    return `production is already split (${describeSplit(before.versions)}): finish or roll back that deployment before a gradual deploy`;
  if (newImage(before, image) && steps.some((step) => step < 10))
    return `gradual-steps ${steps.join(',')} has a step under 10%, which a container rollout cannot take: give steps from 10 (e.g. 10,50,100)`;
  return undefined;
}

/** The image input, when it is not what the bound applications already run. */
function newImage(before: ProductionState, image?: string): string | undefined {
  return image && before.applications.some((app) => app.image !== image) ? image : undefined;
}

/** The gradual release, and the deploy's result from it: outputs, timeline, production read back. */
export async function gradualDeploy(run: GradualDeploy): Promise<DeployResult> {
  const { options, deps, before } = run;
  const uploadArgs = withoutRollout(run.args.slice(1));
  const image = newImage(before, run.image);
  const images = image
    ? imageSteps(run.api, before.applications, image, options.gradual.steps, options.rolloutTimeoutMs, deps)
    : undefined;
  const outcome = await gradualRelease(
    {
      options: options.gradual,
      wrangler: run.wrangler,
      session: run.session,
      target: run.target,
      api: run.api,
      deps,
      before: before.versions,
      message: options.message,
      images,
    },
    uploadArgs,
  );
  const after = await readProduction(run.session, run.api, deps.log).catch(() => NOTHING_LIVE);
  const previous = before.versions[0]?.version_id ?? '';
  const live = after.versions[0]?.version_id ?? '';
  const outputs = {
    versionId: outcome.versionId,
    previousVersionId: previous,
    deploymentUrl: outcome.url,
    workerName: outcome.workerName,
    deployed: outcome.promoted && live === outcome.versionId,
    liveVersionId: live,
    productionChanged: !sameDeployment(before.versions, after.versions),
    previousState: JSON.stringify(before),
    deployedState: JSON.stringify(after),
    reversible: true,
  };
  const state = outcome.promoted
    ? `production serves the new version ${outcome.versionId} after ${options.gradual.steps.join(' → ')}%`
    : `production serves ${describeSplit(after.versions)}`;
  return {
    outputs,
    failure: outcome.failure,
    summary: deploySummary(outputs, state, { failure: outcome.failure, timeline: outcome.timeline }),
  };
}

/** `--containers-rollout <kind>` is wrangler deploy's alone. */
function withoutRollout(args: string[]): string[] {
  const at = args.indexOf('--containers-rollout');
  return at < 0 ? args : [...args.slice(0, at), ...args.slice(at + 2)];
}
