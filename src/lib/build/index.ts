import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../core/errors.js';
import type { ActionResult, Deps } from '../core/io.js';
import { makeTempDir } from '../core/temp.js';
import { describeBuilder } from '../engine/build-command.js';
import { DockerClient, type BuildResult } from '../engine/client.js';
import { detectEngine, type Engine } from '../engine/engine.js';
import { ContextFiles } from './context.js';
import { countCachedSteps, failingLine, ratio, secondsSince } from './output.js';
import { planBuild, planCache, type BuildImageOptions, type BuildPlan } from './plan.js';
import {
  emptyStageCache,
  prepareCachedStages,
  replaceStages,
  StageBuildError,
  type StageCacheParams,
  type StageCacheResult,
  type StageReport,
} from './stage-cache.js';
import { chooseStore, type StageStore } from './store.js';
import { buildSummary } from './summary.js';

export { CACHE_MODES, type BuildImageOptions, type CacheMode } from './plan.js';

/** build-image's outputs, keyed as src/actions/build-image/inputs.ts OUTPUTS names them. */
export interface BuildOutputs {
  /** The first full reference. */
  image: string;
  /** Empty when the build failed. */
  imageId: string;
  /** Every full reference, one a line. */
  tags: string;
  /** The pushed image's digest; empty when not pushed. */
  digest: string;
  cacheHitRatio: number;
  /** JSON of the stage reports. */
  stageCache: string;
  durationSeconds: number;
}

export type BuildImageResult = ActionResult<BuildOutputs> & {
  engine: Engine;
  /** Full references, most specific first. */
  references: string[];
  stageCache: StageReport[];
};

/** One build under way: what its steps read, and the stage cache state they fill. */
interface BuildJob {
  options: BuildImageOptions;
  deps: Deps;
  plan: BuildPlan;
  engine: Engine;
  cache: ReturnType<typeof planCache>;
  client: DockerClient;
  /** A private directory for the rewritten Dockerfile, image ID and archives; removed afterwards. */
  tmp: string;
  now: Date;
  started: number;
  /** Filled as stages are prepared, so a failure still knows the images to remove. */
  stages: StageCacheResult;
  /** The BuildKit secrets as [id, 0600 file in tmp]. */
  secretFiles: Array<[string, string]>;
  /** The stage store, once the cached stages are prepared. */
  store?: StageStore;
}

/** How a build ended: its output, and the image ID and digest once known. */
interface BuildEnd {
  output: string;
  imageId?: string;
  digest?: string;
  failure?: string;
}

/**
 * build-image: parse and check everything first (bad input throws a UserError before anything is
 * built or stored), then restore or build the cached stages, build the image, push it when asked,
 * and report. A build or push that fails is returned as `failure`, with outputs and summary.
 */
export async function buildImage(options: BuildImageOptions, deps: Deps): Promise<BuildImageResult> {
  const started = performance.now();
  if (options.cacheRegistryToken) deps.log.secret(options.cacheRegistryToken);
  const now = deps.now();
  const plan = planBuild(options, now);
  const engine = await detectEngine(deps.run, deps.env);
  deps.log.info(
    `Engine: ${engine.kind} ${engine.clientVersion} (server ${engine.serverVersion}), building with ${describeBuilder(engine)}.`,
  );
  const cache = planCache(options.cache, engine, deps.env, plan.image, options.run);
  cache.warnings.forEach((warning) => deps.log.warning(warning));
  const client = new DockerClient(engine, deps.run, deps.env);
  const tmp = makeTempDir(deps.env, 'slipway-build-');
  const forgetTmp = deps.onCancel?.('the build secrets (the work directory)', () =>
    rmSync(tmp, { recursive: true, force: true }),
  );
  const job: BuildJob = {
    options,
    deps,
    plan,
    engine,
    cache,
    client,
    tmp,
    now,
    started,
    stages: emptyStageCache(),
    secretFiles: [],
  };
  try {
    job.secretFiles = writeSecretFiles(options.secrets, tmp, deps);
    return await runBuild(job);
  } finally {
    await client.removeImages(job.stages.images).catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
    forgetTmp?.();
  }
}

/** Each secret in its own 0600 file in the build's private directory, its value masked. */
function writeSecretFiles(
  secrets: Array<[string, string]>,
  tmp: string,
  deps: Deps,
): Array<[string, string]> {
  if (!secrets.length) return [];
  const dir = join(tmp, 'secrets');
  mkdirSync(dir, { mode: 0o700 });
  return secrets.map(([id, value], i) => {
    deps.log.secret(value);
    const file = join(dir, String(i));
    writeFileSync(file, value, { mode: 0o600 });
    return [id, file];
  });
}

/** The steps in order; the first that fails ends the build with its failure. */
async function runBuild(job: BuildJob): Promise<BuildImageResult> {
  const stages = await prepareStages(job);
  if (stages.failure) return finish(job, { output: '', failure: stages.failure });
  const built = await buildMainImage(job, stages.buildFile);
  if (built.code !== 0) {
    const failure = `The image build failed (exit ${built.code}): ${failingLine(built.output)} (full output in the "docker build" group above).`;
    return finish(job, { output: built.output, failure });
  }
  const imageId = await readImageId(job);
  let digest: string;
  try {
    digest = await pushImage(job);
  } catch (err) {
    return finish(job, { output: built.output, imageId, failure: describeError(err) });
  }
  return finish(job, { output: built.output, imageId, digest });
}

/**
 * Restores or builds the cached stages the target needs and writes the Dockerfile that uses their
 * stand-in images. A cached stage that fails to build is the build's failure.
 */
async function prepareStages(job: BuildJob): Promise<{ buildFile: string; failure?: string }> {
  const { plan, options, deps } = job;
  if (!job.cache.useStage) {
    if (plan.directives.length)
      deps.log.info(`cache: ${options.cache}: the slipway:cache directives are not used.`);
    return { buildFile: plan.file };
  }
  if (!plan.cachedStages.length) return { buildFile: plan.file };
  const store = stageStore(job);
  job.store = store;
  try {
    await deps.log.group(`Stage cache (${store.location})`, async () => {
      if (store.readOnly)
        deps.log.info(`Stage cache: ${store.location} is read, never written: ${store.readOnly}.`);
      return prepareCachedStages(stageCacheParams(job, store), job.stages);
    });
  } catch (err) {
    if (!(err instanceof StageBuildError)) throw err;
    return { buildFile: plan.file, failure: `${err.message} (the build output above has the details).` };
  }
  if (!job.stages.replacements.size) return { buildFile: plan.file };
  const buildFile = join(job.tmp, 'Dockerfile');
  writeFileSync(buildFile, replaceStages(plan.dockerfile, job.stages.replacements));
  return { buildFile };
}

/** Pull request events: the registry store reads, never writes (a branch cannot poison the default branch's cache). */
const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);
export const PULL_REQUEST_READ_ONLY = 'pull requests read the registry cache and never write it';

/** The stage store of the build: cache-store and cache-registry decide (chooseStore). */
function stageStore(job: BuildJob): StageStore {
  const { options, deps, plan } = job;
  const registry = plan.registry && {
    repository: plan.registry,
    token: options.cacheRegistryToken || undefined,
    readOnly: PULL_REQUEST_EVENTS.has(options.run.eventName) ? PULL_REQUEST_READ_ONLY : undefined,
    dir: join(job.tmp, 'registry'),
    deps,
  };
  return chooseStore(options.cacheStore, options.cacheDir, deps.cache, deps.env, registry);
}

function stageCacheParams(job: BuildJob, store: StageStore): StageCacheParams {
  const { options, plan, deps } = job;
  return {
    client: job.client,
    run: deps.run,
    log: deps.log,
    store,
    keyContext: {
      df: plan.dockerfile,
      buildArgs: Object.fromEntries(options.buildArgs),
      files: new ContextFiles(plan.context),
      platforms: options.platforms,
    },
    stages: plan.cachedStages,
    file: plan.file,
    context: plan.context,
    buildArgs: options.buildArgs,
    secrets: job.secretFiles,
    network: options.network,
    platforms: options.platforms,
    tmp: job.tmp,
    now: job.now,
  };
}

/** The image build itself, its output in a "docker build" group. */
async function buildMainImage(job: BuildJob, buildFile: string): Promise<BuildResult> {
  const { options, plan } = job;
  return job.deps.log.group(`docker build ${plan.references[0]}`, () =>
    job.client.build({
      context: plan.context,
      file: buildFile,
      target: options.target || undefined,
      buildArgs: options.buildArgs,
      secrets: job.secretFiles,
      labels: plan.labels,
      tags: plan.references,
      platforms: options.platforms,
      network: options.network,
      iidfile: join(job.tmp, 'iid'),
      push: options.push,
      metadataFile: join(job.tmp, 'metadata.json'),
      cache: job.cache.spec,
    }),
  );
}

async function readImageId(job: BuildJob): Promise<string> {
  const iidfile = join(job.tmp, 'iid');
  if (existsSync(iidfile)) return readFileSync(iidfile, 'utf8').trim();
  return (await job.client.inspect(job.plan.references[0]!, '{{.Id}}')) ?? '';
}

/**
 * Pushes every reference when asked and returns the registry's digest ('' when not pushed). buildx
 * pushed while building and wrote the digest to its metadata file; other builders push here.
 */
async function pushImage(job: BuildJob): Promise<string> {
  if (!job.options.push) return '';
  const metadataFile = join(job.tmp, 'metadata.json');
  if (job.engine.builder === 'buildx' && existsSync(metadataFile)) {
    const metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, string>;
    return metadata['containerimage.digest'] ?? '';
  }
  const { references, image } = job.plan;
  await job.deps.log.group(`push ${references.join(', ')}`, async () => {
    for (const reference of references) await job.client.push(reference);
  });
  const repoDigests = JSON.parse(
    (await job.client.inspect(references[0]!, '{{json .RepoDigests}}')) ?? '[]',
  ) as string[];
  return repoDigests.find((digest) => digest.startsWith(`${image}@`))?.split('@')[1] ?? '';
}

/** The result: outputs and summary from what the build got to, and its failure if it failed. */
function finish(job: BuildJob, end: BuildEnd): BuildImageResult {
  const steps = countCachedSteps(`${job.stages.output}\n${end.output}`);
  const { references } = job.plan;
  const outputs: BuildOutputs = {
    image: references[0]!,
    imageId: end.imageId ?? '',
    tags: references.join('\n'),
    digest: end.digest ?? '',
    cacheHitRatio: ratio(steps),
    stageCache: JSON.stringify(job.stages.reports),
    durationSeconds: secondsSince(job.started),
  };
  const summary = buildSummary({
    image: outputs.image,
    imageId: outputs.imageId,
    digest: outputs.digest,
    durationSeconds: outputs.durationSeconds,
    references,
    steps,
    engine: job.engine,
    stageCache: job.stages.reports,
    ...(job.store
      ? { stageStore: { kind: job.store.kind, location: job.store.location, readOnly: job.store.readOnly } }
      : {}),
    pushed: job.options.push,
    owner: job.options.run.owner,
    failure: end.failure,
  });
  const result = { outputs, summary, engine: job.engine, references, stageCache: job.stages.reports };
  return end.failure ? { ...result, failure: end.failure } : result;
}
