import type { Builder, Engine } from './engine.js';
import { UserError } from '../core/errors.js';

export interface CacheSpec {
  /** buildx cache backends to read and write: gha scopes, or a registry reference. */
  /** `runtime`: the Actions runtime values buildx's gha backend reads from its environment. */
  gha?: { scope: string; readScopes: string[]; runtime?: Record<string, string> };
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
  for (const [name, value] of spec.buildArgs) args.push('--build-arg', `${name}=${value}`);
  for (const [name, value] of spec.labels) args.push('--label', `${name}=${value}`);
  for (const tag of spec.tags) args.push('--tag', tag);
  if (spec.iidfile) args.push('--iidfile', spec.iidfile);
  if (builder === 'buildx') {
    if (spec.metadataFile) args.push('--metadata-file', spec.metadataFile);
    args.push('--provenance=false');
    args.push(spec.push || multi ? '--push' : '--load');
    if (spec.cache?.gha) {
      const { scope, readScopes } = spec.cache.gha;
      for (const read of [scope, ...readScopes.filter((other) => other !== scope)])
        args.push('--cache-from', `type=gha,scope=${read}`);
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

/** The engine-specific verb for a build, for messages. */
export function describeBuilder(engine: Engine): string {
  return {
    buildx: 'docker buildx (BuildKit)',
    buildkit: "the daemon's BuildKit (DOCKER_BUILDKIT=1)",
    classic: 'the classic builder',
    buildah: 'podman (buildah)',
  }[engine.builder];
}
