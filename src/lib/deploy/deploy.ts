import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import type { ActionResult, Deps } from '../core/io.js';
import { cell, facts } from '../core/markdown.js';
import { makeTempDir } from '../core/temp.js';
import { lastLine } from '../core/text.js';
import type { WranglerRunResult } from '../wrangler/cli.js';
import {
  findWranglerConfig,
  hasBuildCommand,
  imageNotApplicable,
  isRegistryReference,
  withContainerImage,
} from '../wrangler/config.js';
import { registryLoginGuard, wranglerDockerEnv } from '../wrangler/docker.js';
import { cutBytes, errorDetail } from '../wrangler/output.js';
import { openWrangler, type Connection, type WranglerSession } from '../wrangler/session.js';
import { cloudflareApi, type CloudflareApi } from '../wrangler/api.js';
import {
  logState,
  NOTHING_LIVE,
  readProduction,
  sameDeployment,
  type ProductionState,
} from './production.js';
import { irreversibleChange } from './reversible.js';
import { deploySummary } from './summary.js';
import { gradualDeploy, gradualRefusal } from './deploy-gradual.js';
import { previewRefusal, previewUpload } from './preview.js';
import type { GradualOptions } from './gradual.js';
import { shortImage, waitForRollout } from './rollout.js';

export interface DeployOptions extends Connection {
  message?: string;
  tag?: string;
  secrets: Array<[string, string]>;
  vars: Array<[string, string]>;
  dryRun: boolean;
  /**
   * The container image to deploy instead of the config's Dockerfile: a registry reference, or a
   * local image pushed to the Cloudflare registry first (wrangler containers push).
   */
  image?: string;
  /** wrangler's --containers-rollout: immediate (all instances at once) or gradual. */
  containersRollout?: 'immediate' | 'gradual';
  /** Commit subject and sha for the default message. */
  commit?: { subject: string; sha: string };
  /** How long to wait for a container rollout the deploy starts to reach every instance. */
  rolloutTimeoutMs: number;
  /** Deploy even when a Worker rollback will be impossible afterwards (a Durable Object migration). */
  allowIrreversible: boolean;
  /** strategy gradual: the steps and gates; undefined: immediate (wrangler deploy). */
  gradual?: GradualOptions;
  /** A preview instead of a deploy: `wrangler versions upload --preview-alias <alias>` (preview.ts). */
  previewAlias?: string;
}

/** deploy's outputs, keyed as src/actions/deploy/inputs.ts OUTPUTS names them. */
export interface DeployOutputs {
  versionId: string;
  previousVersionId: string;
  deploymentUrl: string;
  workerName: string;
  deployed: boolean;
  /** The version live after the deploy (read back, not assumed). */
  liveVersionId: string;
  /** Production serves something other than before: a rollback has something to undo. */
  productionChanged: boolean;
  /** Production before the deploy (JSON ProductionState): what rollback restores. */
  previousState: string;
  /** Production after the deploy (JSON): what rollback expects to find, and replaces. */
  deployedState: string;
  /** false when a Worker rollback is impossible after this deploy (a Durable Object migration). */
  reversible: boolean;
  /** A preview (preview.ts): the version's preview URL, the alias's, and why there is none. */
  previewUrl?: string;
  previewAliasUrl?: string;
  previewNote?: string;
}

/** deploy's result; `failure` says production's state. */
export type DeployResult = ActionResult<DeployOutputs>;

/** The default message: the commit subject and short sha, cut to the API's 100 bytes. */
export function defaultMessage(commit?: { subject: string; sha: string }): string | undefined {
  if (!commit?.subject) return undefined;
  const sha = commit.sha ? ` (${commit.sha.slice(0, 7)})` : '';
  const room = 100 - Buffer.byteLength(sha);
  return `${cutBytes(commit.subject.split('\n')[0]!.trim(), room)}${sha}`;
}

/**
 * deploy: record the live version, run `wrangler deploy` (secrets uploaded with the same version
 * through a 0600 file), read what became live, and say exactly what state production is in.
 */
export async function deploy(options: DeployOptions, deps: Deps): Promise<DeployResult> {
  const skipped = untrustedDryRunSkipped(options);
  if (skipped) return skipped;
  previewRefusal(options);
  const session = await openWrangler(options, deps, !options.dryRun);
  for (const [, value] of options.secrets) deps.log.secret(value);
  const workDir = makeTempDir(deps.env, 'slipway-deploy-');
  // A cancelled deploy (the runner's SIGINT) must not leave the secrets file, the derived config or
  // wrangler's registry login behind: each is registered while it exists.
  const cancelScope: Array<() => void> = [];
  const onCancel = (what: string, cleanup: () => void | Promise<void>) => {
    const forget = deps.onCancel?.(what, cleanup) ?? (() => undefined);
    cancelScope.push(forget);
    return forget;
  };
  onCancel('the secrets file (its work directory)', () => rmSync(workDir, { recursive: true, force: true }));
  let derivedConfig: string | undefined;
  try {
    const deploying = await openDeploySession(session, { ...deps, onCancel }, workDir);
    if (options.previewAlias) {
      const args = deployArguments({ ...options, containersRollout: undefined }, session.common, workDir);
      return await previewUpload({
        ...deploying,
        options: { ...options, previewAlias: options.previewAlias },
        args,
      });
    }
    const target = await shipImage(options, deploying);
    derivedConfig = target.derivedConfig;
    const args = deployArguments(options, target.args, workDir);
    if (options.dryRun) return await dryRun(args, deploying);
    return await deployAndReadBack(options, { args, image: target.image }, deploying);
  } finally {
    for (const forget of cancelScope) forget();
    rmSync(workDir, { recursive: true, force: true });
    if (derivedConfig) rmSync(derivedConfig, { force: true });
  }
}

/**
 * Untrusted code (a fork's pull request) only gets a dry run, with the kit's wrangler (see
 * Connection.untrusted); a config with a custom build command is not dry-run at all, since wrangler
 * would run that command on the runner. Returns the skipped result, or undefined to go on.
 */
function untrustedDryRunSkipped(options: DeployOptions): DeployResult | undefined {
  if (!options.untrusted) return undefined;
  if (!options.dryRun)
    throw new UserError(
      'Input "untrusted" is for a dry run only: untrusted code is never deployed (set dry-run: true).',
    );
  let config: string;
  try {
    config = findWranglerConfig(resolve(options.workingDirectory || '.'), options.config);
  } catch {
    return undefined; // no config: wrangler says so itself
  }
  if (!hasBuildCommand(config, options.environment)) return undefined;
  const why = `the wrangler config has a custom build (build.command), which would run the untrusted code on the runner`;
  return {
    outputs: { ...DRY_RUN_OUTPUTS },
    summary: `### deploy: dry run skipped\n\nUntrusted code (a fork's pull request): ${why}.\n`,
  };
}

/** One deploy's wrangler session with the container engine wrangler builds and pushes images with. */
export interface DeploySession {
  session: WranglerSession;
  deps: Deps;
  /** Runs wrangler with the engine's environment; silent unless told otherwise. */
  wrangler(args: string[], silent?: boolean): Promise<WranglerRunResult>;
  /** The docker client wrangler logs in to the registry with (the real one behind a shim). */
  dockerBin: string;
  /** Logs out of the container registry when wrangler's was the login. */
  logout(dockerBin?: string): Promise<void>;
}

async function openDeploySession(
  session: WranglerSession,
  deps: Deps,
  workDir: string,
): Promise<DeploySession> {
  // A Worker with containers makes wrangler build, tag and push images with docker.
  const docker = await wranglerDockerEnv(deps.run, deps.env, workDir);
  if (docker.note) deps.log.info(docker.note);
  const logout = registryLoginGuard(deps.run, deps.env);
  const dockerBin =
    docker.env.SLIPWAY_REAL_DOCKER ?? docker.env.WRANGLER_DOCKER_BIN ?? (deps.env.SLIPWAY_DOCKER || 'docker');
  deps.onCancel?.("wrangler's registry login", () => logout(dockerBin));
  return {
    session,
    deps,
    wrangler: (args, silent = true) => session.run(args, silent, docker.env),
    logout,
    dockerBin,
  };
}

/**
 * Ships the image that was built and tested, not a rebuild: with an `image` input and a config with
 * containers, a copy of the config points them at the image (pushed first when it is local). Returns
 * the `--config`/`--env` arguments to deploy with, the copy to remove afterwards, and the reference
 * the containers run.
 */
async function shipImage(
  options: DeployOptions,
  deploying: DeploySession,
): Promise<{ args: string[]; derivedConfig?: string; image?: string }> {
  const { session, deps } = deploying;
  const config = options.image ? findWranglerConfig(session.cwd, options.config) : undefined;
  const notApplicable = config && imageNotApplicable(config, options.environment);
  if (notApplicable) deps.log.warning(`Input "image" (${options.image}) is not used: ${notApplicable}.`);
  if (!options.image || !config || notApplicable) return { args: session.common };
  const reference =
    isRegistryReference(options.image) || options.dryRun
      ? options.image
      : await pushImage(options.image, deploying).finally(() => deploying.logout(deploying.dockerBin));
  const derivedConfig = withContainerImage(config, reference, options.environment);
  deps.onCancel?.(`the derived config ${basename(derivedConfig)}`, () =>
    rmSync(derivedConfig, { force: true }),
  );
  deps.log.info(`Containers run ${reference} (the image input), not a build of the config's Dockerfile.`);
  return {
    args: [`--config=${derivedConfig}`, ...(options.environment ? [`--env=${options.environment}`] : [])],
    derivedConfig,
    image: reference,
  };
}

/** `wrangler deploy`'s arguments; the secrets go into a 0600 file in `workDir`. */
function deployArguments(options: DeployOptions, target: string[], workDir: string): string[] {
  const args = ['deploy', ...target];
  const message = options.message || defaultMessage(options.commit);
  // name=value, never two words: a commit subject or var starting with "-" stays a value.
  if (message) args.push(`--message=${cutBytes(message)}`);
  if (options.tag) args.push(`--tag=${options.tag}`);
  for (const [name, value] of options.vars) args.push(`--var=${name}:${value}`);
  if (options.containersRollout) args.push('--containers-rollout', options.containersRollout);
  if (options.secrets.length) {
    // One version carries the code and its secrets: no window where either is on the wrong Worker.
    const file = join(workDir, 'secrets.json');
    writeFileSync(file, JSON.stringify(Object.fromEntries(options.secrets)), { mode: 0o600 });
    chmodSync(file, 0o600);
    args.push('--secrets-file', file);
  }
  if (options.dryRun) args.push('--dry-run', '--outdir', join(workDir, 'bundle'));
  return args;
}

/** A dry run's outputs: nothing deployed, production not read. */
const DRY_RUN_OUTPUTS: DeployOutputs = {
  versionId: '',
  previousVersionId: '',
  deploymentUrl: '',
  workerName: '',
  deployed: false,
  liveVersionId: '',
  productionChanged: false,
  previousState: '',
  deployedState: '',
  reversible: true,
};

/** A dry run bundles and builds; nothing reaches Cloudflare, so production is not read either. */
async function dryRun(args: string[], deploying: DeploySession): Promise<DeployResult> {
  const result = await deploying.deps.log.group('wrangler deploy --dry-run', () =>
    deploying.wrangler(args, false),
  );
  const outputs: DeployOutputs = { ...DRY_RUN_OUTPUTS, workerName: result.outcome.workerName ?? '' };
  if (result.code === 0)
    return {
      outputs,
      summary: '### deploy: dry run ✅\n\nBundled and built; nothing was sent to Cloudflare.\n',
    };
  const failure = `wrangler deploy --dry-run failed: ${result.outcome.failure?.message ?? lastLine(result.stderr || result.stdout)}`;
  return { outputs, failure, summary: `### deploy: dry run ❌\n\n${facts([['Error', cell(failure)]])}\n` };
}

/**
 * Records production (the Worker deployment and each bound container application's image), refuses
 * an irreversible deploy unless allowed, deploys, reads back what is live now (never assumed) and
 * waits for the container rollouts the deploy started.
 */
async function deployAndReadBack(
  options: DeployOptions,
  { args, image }: { args: string[]; image?: string },
  deploying: DeploySession,
): Promise<DeployResult> {
  const { session, deps } = deploying;
  const api = cloudflareApi(session.connection, deps);
  const before = await readProduction(session, api, deps.log);
  logState(deps.log, 'Live before deploying', before);
  const irreversible = await irreversibleChange(session, api, before, options, deps.log);
  if (options.gradual && !before.versions.length)
    deps.log.info(
      'strategy gradual: nothing is live yet, so this first deploy goes out at once (wrangler deploy).',
    );
  if (options.gradual && before.versions.length) {
    const refused = gradualRefusal(before, irreversible, options.gradual.steps, image);
    if (refused) return refuseDeploy(before, `Refusing to deploy: ${refused}. Production is unchanged.`);
    const gradual = { ...options, gradual: options.gradual };
    return gradualDeploy({
      options: gradual,
      args,
      target: targetOf(args),
      ...deploying,
      api,
      before,
      image,
    });
  }
  if (irreversible && !options.allowIrreversible) return refuseIrreversible(before, irreversible);
  if (irreversible)
    deps.log.warning(`This deploy cannot be rolled back: ${irreversible} (allow-irreversible: true).`);
  const result = await deps.log
    .group('wrangler deploy', () => deploying.wrangler(args, false))
    .finally(() => deploying.logout(deploying.dockerBin));
  const after = await readProduction(session, api, deps.log).catch(() => NOTHING_LIVE);
  const rollouts = await awaitRollouts(before, after, options.rolloutTimeoutMs, api, deps);
  const recorded = irreversible ? { ...before, irreversible } : before;
  return deployResult(result, recorded, after, { ...rollouts, image });
}

/** The deploy's outputs, production's state in words, and its failure (wrangler's or a rollout's). */
function deployResult(
  result: WranglerRunResult,
  before: ProductionState,
  after: ProductionState,
  rollouts: RolloutReport & { image?: string },
): DeployResult {
  const versionId = result.outcome.versionId ?? '';
  const previous = before.versions[0]?.version_id ?? '';
  const live = after.versions[0]?.version_id ?? '';
  const imagesChanged = after.applications.some(
    (app) => before.applications.find((old) => old.id === app.id)?.image !== app.image,
  );
  const outputs: DeployOutputs = {
    versionId,
    previousVersionId: previous,
    deploymentUrl: result.outcome.urls[0] ?? '',
    workerName: result.outcome.workerName ?? '',
    deployed: result.code === 0 && !!versionId && live === versionId && !rollouts.failure,
    liveVersionId: live,
    productionChanged: (!!live && !sameDeployment(before.versions, after.versions)) || imagesChanged,
    previousState: JSON.stringify(before),
    deployedState: JSON.stringify(after),
    reversible: !before.irreversible,
  };
  const state = productionState(previous, live, versionId);
  const wranglerFailed = result.code !== 0 || !versionId || live !== versionId;
  const failure = wranglerFailed ? deployFailure(result, state) : rollouts.failure;
  return {
    outputs,
    failure,
    summary: deploySummary(outputs, state, { rolloutRows: rollouts.rows, image: rollouts.image, failure }),
  };
}

/** Nothing was deployed: the deploy would make a Worker rollback impossible and was not allowed to. */
function refuseIrreversible(before: ProductionState, why: string): DeployResult {
  const failure = `Refusing to deploy: ${why}. If this is intended, re-run with allow-irreversible: true (a failure after it can then roll back container images but not the Worker). Production is unchanged.`;
  return refuseDeploy(before, failure, false);
}

/** `--config=`/`--env=` among wrangler deploy's arguments: what every later command targets. */
function targetOf(args: string[]): string[] {
  return args.filter((arg) => arg.startsWith('--config=') || arg.startsWith('--env='));
}

/** Nothing was deployed, for the reason given: production as it was. */
function refuseDeploy(before: ProductionState, failure: string, reversible = true): DeployResult {
  const previous = before.versions[0]?.version_id ?? '';
  const outputs: DeployOutputs = {
    versionId: '',
    previousVersionId: previous,
    deploymentUrl: '',
    workerName: '',
    deployed: false,
    liveVersionId: previous,
    productionChanged: false,
    previousState: JSON.stringify(before),
    deployedState: JSON.stringify(before),
    reversible,
  };
  return { outputs, failure, summary: deploySummary(outputs, 'production is unchanged', { failure }) };
}

interface RolloutReport {
  rows: Array<[string, string]>;
  failure?: string;
}

/**
 * Waits for each application whose image the deploy changed: its newest rollout, when that rollout
 * moves it to the new image. A first deploy creates applications without a rollout: nothing to wait for.
 */
async function awaitRollouts(
  before: ProductionState,
  after: ProductionState,
  timeoutMs: number,
  api: CloudflareApi,
  deps: Deps,
): Promise<RolloutReport> {
  const report: RolloutReport = { rows: [] };
  for (const app of after.applications) {
    const old = before.applications.find((candidate) => candidate.id === app.id);
    if (!old || old.image === app.image || !app.rollout || app.rollout.image !== app.image) continue;
    const target = { appId: app.id, appName: app.name, rolloutId: app.rollout.id, image: app.image };
    const outcome = await deps.log.group(`rollout of ${app.name} to ${shortImage(app.image)}`, () =>
      waitForRollout(api, target, timeoutMs, deps),
    );
    report.rows.push([
      `Image ${app.name}`,
      `${shortImage(old.image)} → ${shortImage(app.image)} (rollout ${app.rollout.id} ${outcome.ok ? 'completed' : 'failed'})`,
    ]);
    if (!outcome.ok)
      report.failure ??= `The container rollout did not complete: ${outcome.reason}. The new Worker version is live: roll back.`;
  }
  return report;
}

/** What production serves after the deploy, against what it served before. */
function productionState(previous: string, after: string, versionId: string): string {
  if (after === previous) return `production is unchanged (still ${previous || 'nothing'})`;
  if (after === versionId) return `production now serves the new version ${versionId}`;
  return `production serves ${after || 'nothing'}, neither the previous ${previous || '(none)'} nor a version of this deploy`;
}

/** The step's one error line: wrangler's code and words (and the API's, under them), then production's state. */
function deployFailure(result: WranglerRunResult, state: string): string {
  const failed = result.outcome.failure;
  const detail = errorDetail(`${result.stdout}\n${result.stderr}`);
  const said = [failed?.message ?? lastLine(result.stderr || result.stdout), detail]
    .filter(Boolean)
    .join(' ');
  return `wrangler deploy failed${failed?.code ? ` (code ${failed.code})` : ''}: ${said || 'no message'}; ${state}.`;
}

/** What the summary tells besides the outputs: the rollouts, the image shipped, the failure. */
/**
 * Pushes a local image to the Cloudflare registry under a content-derived tag (the same image gets
 * the same reference, a changed one a new reference, so the container application rolls out exactly
 * when the image changed). Returns the pushed reference.
 */
/**
 * Cloudflare Containers run linux/amd64 only: wrangler's own push refuses anything else, but only
 * after a build and a login ("Unsupported platform: Image platform (…) does not match the expected
 * platform (linux/amd64)", checkImagePlatform in wrangler-dist/cli.js ~139625; its build's
 * "Please use \"linux/amd64\" instead", ~139584). Refused here first, in one line that says how to fix it.
 */
export function refuseForeignPlatform(image: string, platform: string): void {
  if (!platform || platform === 'linux/amd64') return;
  throw new UserError(
    `Input "image" is ${image}, built for ${platform}: Cloudflare Containers run linux/amd64 only. Build it for amd64 (docker buildx build --platform linux/amd64, or build-image on an amd64 runner).`,
  );
}

async function pushImage(image: string, deploying: DeploySession): Promise<string> {
  const { deps, dockerBin } = deploying;
  const inspect = await deps.run(
    dockerBin,
    ['image', 'inspect', '--format', '{{.Id}} {{.Os}}/{{.Architecture}}', image],
    { silent: true },
  );
  if (inspect.code !== 0)
    throw new UserError(
      `Input "image" is "${image}", which is neither a local image (${lastLine(inspect.stderr) || 'not found'}) nor a registry reference (host/name:tag).`,
    );
  const [fullId = '', platform = ''] = inspect.stdout.trim().split(' ');
  refuseForeignPlatform(image, platform);
  const id = fullId.replace(/^sha256:/, '').slice(0, 12);
  const tagged = `${image.replace(/[:@][^/]*$/, '')}:slipway-${id}`;
  const tag = await deps.run(dockerBin, ['tag', image, tagged], { silent: true });
  if (tag.code !== 0) throw new UserError(`Could not tag ${image} as ${tagged}: ${lastLine(tag.stderr)}`);
  const pushed = await deps.log.group(`wrangler containers push ${tagged}`, () =>
    deploying.wrangler(['containers', 'push', tagged, '--path-to-docker', dockerBin], false),
  );
  const reference = /Pushed image: (\S+)/.exec(pushed.stdout)?.[1];
  if (pushed.code !== 0 || !reference)
    throw new UserError(
      `Could not push ${tagged} to the Cloudflare registry: ${pushed.outcome.failure?.message ?? errorDetail(`${pushed.stdout}\n${pushed.stderr}`) ?? lastLine(pushed.stderr || pushed.stdout)}`,
    );
  return reference;
}
