import type { Builder, Engine } from './engine.js';
import { UserError } from '../core/errors.js';

export interface CacheSpec {
  /** buildx cache backends to read and write: gha scopes, or a registry reference. */
  gha?: { scope: string; readScopes: string[] };
  registry?: { ref: string };
}

export interface BuildSpec {
  context: string;
  file: string;
  target?: string;
  buildArgs: Array<[string, string]>;
  labels: Array<[string, string]>;
  tags: string[];
  platforms: string[];
  network?: string;
  iidfile?: string;
  /** buildx only: push instead of loading (needed for several platforms). */
  push?: boolean;
  metadataFile?: string;
  cache?: CacheSpec;
}

/**
 * The command line for a build with the given builder. Pure: tests hold every builder's arguments
 * in a table. The command is `engine.bin` with these arguments, and `builderEnv` in its env.
 */
export function buildArgs(builder: Builder, spec: BuildSpec): string[] {
  const multi = spec.platforms.length > 1;
  if (multi && builder !== 'buildx') {
    throw new UserError(
      `Building for several platforms (${spec.platforms.join(', ')}) needs docker buildx: add docker/setup-buildx-action before this step, or build one platform.`,
    );
  }
  if ((spec.cache?.gha || spec.cache?.registry) && builder !== 'buildx') {
    throw new UserError(
      'The gha and registry build caches need docker buildx: add docker/setup-buildx-action, or use cache: stage.',
    );
  }
  const args = builder === 'buildx' ? ['buildx', 'build'] : ['build'];
  if (builder === 'buildx' || builder === 'buildkit') args.push('--progress=plain');
  if (builder === 'buildah') args.push('--layers');
  args.push('--file', spec.file);
  if (spec.target) args.push('--target', spec.target);
  if (spec.network) args.push('--network', spec.network);
  if (spec.platforms.length) args.push('--platform', spec.platforms.join(','));
  for (const [k, v] of spec.buildArgs) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of spec.labels) args.push('--label', `${k}=${v}`);
  for (const t of spec.tags) args.push('--tag', t);
  if (spec.iidfile) args.push('--iidfile', spec.iidfile);
  if (builder === 'buildx') {
    if (spec.metadataFile) args.push('--metadata-file', spec.metadataFile);
    args.push('--provenance=false');
    args.push(spec.push || multi ? '--push' : '--load');
    if (spec.cache?.gha) {
      const { scope, readScopes } = spec.cache.gha;
      for (const s of [scope, ...readScopes.filter((r) => r !== scope)])
        args.push('--cache-from', `type=gha,scope=${s}`);
      args.push('--cache-to', `type=gha,scope=${scope},mode=max,ignore-error=true`);
    }
    if (spec.cache?.registry) {
      const { ref } = spec.cache.registry;
      args.push('--cache-from', `type=registry,ref=${ref}`);
      args.push('--cache-to', `type=registry,ref=${ref},mode=max,ignore-error=true`);
    }
  }
  args.push(spec.context);
  return args;
}

/** A gha cache scope: per image and branch, safe for the service (no slashes or commas). */
export function ghaScope(image: string, branch: string): string {
  return `${image}-${branch}`.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 200);
}

export interface StepCount {
  cached: number;
  total: number;
}

/**
 * Cached build steps over all steps, read from a build's output. Only steps that do work are
 * counted (RUN, COPY, ADD, WORKDIR): the same set on every builder. FROM, BuildKit's internal steps
 * and metadata (LABEL, ENV, CMD…; the classic builder runs --label as LABEL steps that never cache
 * because the created label changes) are not.
 * - BuildKit (plain progress): `#7 [stage 2/3] RUN …` and later `#7 CACHED`
 * - classic builder: `Step 2/5 : RUN …` followed by ` ---> Using cache`
 * - buildah (podman): `STEP 2/5: RUN …` followed by `--> Using cache …`
 */
const WORK = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

export function countCachedSteps(output: string): StepCount {
  const lines = output.split(/\r?\n/);
  const steps = new Set<string>();
  const cached = new Set<string>();
  let current: string | undefined;
  let n = 0;
  for (const line of lines) {
    const bk = /^#(\d+) \[[^\]]*\d+\/\d+\] (\S+)/.exec(line);
    if (bk) {
      if (WORK.has(bk[2]!.toUpperCase())) steps.add(`bk${bk[1]}`);
      continue;
    }
    const bkCached = /^#(\d+) CACHED\s*$/.exec(line);
    if (bkCached) {
      if (steps.has(`bk${bkCached[1]}`)) cached.add(`bk${bkCached[1]}`);
      continue;
    }
    const classic = /^(?:Step|STEP) \d+\/\d+ ?: ?(\S+)/.exec(line);
    if (classic) {
      current = WORK.has(classic[1]!.toUpperCase()) ? `c${n++}` : undefined;
      if (current) steps.add(current);
      continue;
    }
    if (current && /^\s*-+> Using cache/.test(line)) cached.add(current);
  }
  return { cached: cached.size, total: steps.size };
}

export function ratio(c: StepCount): number {
  return c.total === 0 ? 0 : Math.round((c.cached / c.total) * 1000) / 1000;
}

/** The engine-specific verb for a build, for messages. */
export function describeBuilder(engine: Engine): string {
  return {
    buildx: 'docker buildx (BuildKit)',
    buildkit: "the daemon's BuildKit (DOCKER_BUILDKIT=1)",
    classic: 'the classic builder',
    buildah: 'podman (buildah)',
  }[engine.builder];
}
