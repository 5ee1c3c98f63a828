import { RUNTIME_VARIABLES } from '../core/exec.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { StageStoreChoice } from '../core/cache.js';
import { UserError } from '../core/errors.js';
import type { Env } from '../core/io.js';
import type { CacheSpec } from '../engine/build-command.js';
import type { Engine } from '../engine/engine.js';
import { parseDirectives, validateDirectives, type CacheDirective } from './directives.js';
import { parseDockerfile, reachableStages, targetStage, type Dockerfile, type Stage } from './dockerfile.js';
import { parseCacheRegistry, type RegistryRepository } from './registry-ref.js';
import { fullReferences, ociLabels, planTags, validateImageName, type RunContext } from './tags.js';

/** Checking the inputs and working out what to build, before anything is built. */

export type CacheMode = 'auto' | 'stage' | 'gha' | 'registry' | 'none';
export const CACHE_MODES: readonly CacheMode[] = ['auto', 'stage', 'gha', 'registry', 'none'];

export interface BuildImageOptions {
  context: string;
  /** Empty: <context>/Dockerfile. */
  file: string;
  target?: string;
  buildArgs: Array<[string, string]>;
  /** BuildKit secrets (`RUN --mount=type=secret,id=NAME`), NAME and value; never build-args. */
  secrets: Array<[string, string]>;
  image: string;
  extraTags: string[];
  push: boolean;
  platforms: string[];
  labels: Array<[string, string]>;
  cache: CacheMode;
  cacheStore: StageStoreChoice;
  cacheDir: string;
  /** The registry repository of the registry stage store (`cache-registry`); empty: none. */
  cacheRegistry?: string;
  /** A registry token (`cache-registry-token`), instead of the runner's docker login. */
  cacheRegistryToken?: string;
  network?: string;
  run: RunContext;
}

/** A cached stage the build needs, with the directive that caches it. */
export interface CachedStage {
  stage: Stage;
  directive: CacheDirective;
}

/** What to build, from inputs that have all been checked. */
export interface BuildPlan {
  /** Absolute path of the build context. */
  context: string;
  /** Absolute path of the user's Dockerfile. */
  file: string;
  dockerfile: Dockerfile;
  directives: CacheDirective[];
  /** The directives whose stages a build of the target needs. */
  cachedStages: CachedStage[];
  image: string;
  /** Full references to tag, most specific first. */
  references: string[];
  labels: Array<[string, string]>;
  /** The registry of the stage store, when `cache-registry` is set. */
  registry?: RegistryRepository;
}

/**
 * Reads and checks everything the build needs (context, Dockerfile, its directives, target, image
 * name, tags), so that bad input fails with one UserError before anything is built or stored.
 */
export function planBuild(options: BuildImageOptions, now: Date): BuildPlan {
  const { context, file } = locateDockerfile(options);
  // Named as the user would find it from the working directory (messages, annotations).
  const fromHere = relative(resolve(), file);
  const name = fromHere && !fromHere.startsWith('..') && !isAbsolute(fromHere) ? fromHere : file;
  const dockerfile = parseDockerfile(readFileSync(file, 'utf8'), name);
  const directives = parseDirectives(dockerfile, name);
  const stages = validateDirectives(dockerfile, directives, name);
  const target = targetStage(dockerfile, options.target, name);
  const image = validateImageName(options.image);
  const tags = planTags(options.run);
  const reachable = new Set(reachableStages(dockerfile, target).map((stage) => stage.index));
  const registry = stageRegistry(options);
  return {
    ...(registry ? { registry } : {}),
    context,
    file,
    dockerfile,
    directives,
    cachedStages: directives
      .map((directive) => ({ directive, stage: stages.get(directive.stage)! }))
      .filter((cached) => reachable.has(cached.stage.index)),
    image,
    references: fullReferences(image, tags.tags, options.extraTags),
    labels: imageLabels(options, tags.version, now),
  };
}

/** `cache-registry`, checked; `cache-store: registry` without it is one line. */
function stageRegistry(options: BuildImageOptions): RegistryRepository | undefined {
  if (!options.cacheRegistry) {
    if (options.cacheStore === 'registry')
      throw new UserError(
        'cache-store: registry needs "cache-registry": set it to a repository of your registry, e.g. ghcr.io/acme/slipway-cache.',
      );
    return undefined;
  }
  return parseCacheRegistry('cache-registry', options.cacheRegistry);
}

/** The context directory and the Dockerfile, both resolved and known to exist. */
function locateDockerfile(options: BuildImageOptions): { context: string; file: string } {
  const context = resolve(options.context || '.');
  if (!existsSync(context) || !statSync(context).isDirectory()) {
    throw new UserError(
      `Build context "${options.context}" is not a directory: set "context" to the folder your Dockerfile builds from.`,
    );
  }
  const file = resolve(options.file ? options.file : join(context, 'Dockerfile'));
  if (!existsSync(file)) {
    throw new UserError(`No Dockerfile at ${file}: add one, or set "file" to its path.`);
  }
  return { context, file };
}

/** The OCI labels of the run, then the user's labels (which win over a planned one of the same name). */
function imageLabels(options: BuildImageOptions, version: string, now: Date): Array<[string, string]> {
  const userLabels = new Set(options.labels.map(([name]) => name));
  const planned = ociLabels(options.run, version, now).filter(([name]) => !userLabels.has(name));
  return [...planned, ...options.labels];
}

/**
 * What the cache mode means on this engine: the stage cache, and the buildx cache backends with
 * their scopes (per image and branch; the default branch's scope is read too). Pure.
 */
export function planCache(
  mode: CacheMode,
  engine: Pick<Engine, 'buildx'>,
  env: Env,
  image: string,
  run: RunContext,
): { useStage: boolean; spec: CacheSpec; warnings: string[] } {
  const spec: CacheSpec = {};
  const warnings: string[] = [];
  if ((mode === 'gha' || mode === 'registry') && !engine.buildx) {
    throw new UserError(
      `cache: ${mode} needs docker buildx: add docker/setup-buildx-action before this step, or use cache: stage.`,
    );
  }
  if (mode === 'gha' || (mode === 'auto' && engine.buildx)) {
    if (!(env.ACTIONS_CACHE_URL || env.ACTIONS_RESULTS_URL) || !env.ACTIONS_RUNTIME_TOKEN) {
      warnings.push(
        'The gha build cache needs ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL (or ACTIONS_CACHE_URL), which this step cannot see: buildx would drop the cache silently, so it is not used. Run on a GitHub-hosted runner, or expose them (crazy-max/ghaction-github-runtime).',
      );
    } else {
      const readScopes = run.defaultBranch ? [ghaScope(image, run.defaultBranch)] : [];
      // buildx reads these from its environment, which no longer inherits them (core/exec childEnv).
      const runtime = Object.fromEntries(
        RUNTIME_VARIABLES.filter(
          (name) => name.startsWith('ACTIONS_') && !name.includes('ID_TOKEN') && env[name],
        ).map((name) => [name, env[name]!]),
      );
      spec.gha = { scope: ghaScope(image, cacheBranch(run)), readScopes, runtime };
    }
  }
  if (mode === 'registry') spec.registry = { ref: `${image}:buildcache` };
  return { useStage: mode === 'auto' || mode === 'stage', spec, warnings };
}

/** The branch a gha cache scope is named for: the pushed branch, `pr-<N>`, or `local`. */
function cacheBranch(run: RunContext): string {
  if (run.ref.startsWith('refs/heads/')) return run.ref.slice('refs/heads/'.length);
  return run.prNumber ? `pr-${run.prNumber}` : 'local';
}

/** A gha cache scope: per image and branch, safe for the service (no slashes or commas). */
export function ghaScope(image: string, branch: string): string {
  return `${image}-${branch}`.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 200);
}
