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
  /** BuildKit secrets: id and the (0600) file holding the value, for `RUN --mount=type=secret,id=…`. */
  secrets?: Array<[string, string]>;
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
  for (const [name, value] of spec.buildArgs)
    args.push('--build-arg', passedByEnv(name) ? name : `${name}=${value}`);
  args.push(...secretArgs(builder, spec.secrets ?? []));
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

/**
 * Names a build-arg value cannot travel under in the client's environment, because the client
 * itself reads them (its daemon, config, builder, search path, loader): those stay NAME=value.
 */
const CLIENT_VARIABLES =
  /^(DOCKER_|BUILDKIT_|BUILDX_|CONTAINERS_|CONTAINER_|BUILDAH_|REGISTRY_AUTH_FILE$|PATH$|HOME$|TMPDIR$|LD_|XDG_)/;

function passedByEnv(name: string): boolean {
  return !CLIENT_VARIABLES.test(name);
}

/**
 * Build-arg values travel in the client's environment, named on the command line only
 * (`--build-arg NAME`): the command line is echoed to the log and visible to every process of the
 * machine, and build-args are where users put tokens. docker (and buildx) take an argument without
 * a value from the client's environment (docker's build reference, "--build-arg"; the CLI's
 * opts.ValidateEnv); so does podman (buildah pkg/cli/build.go: os.LookupEnv for an argument
 * without "=").
 */
export function buildArgEnv(spec: Pick<BuildSpec, 'buildArgs'>): Record<string, string> {
  return Object.fromEntries(spec.buildArgs.filter(([name]) => passedByEnv(name)));
}

/**
 * `--secret id=NAME,src=FILE`: BuildKit (buildx, DOCKER_BUILDKIT=1) and buildah mount it for one
 * RUN only and never store it in a layer. The classic builder has no secrets: refused, not
 * downgraded to a build-arg (which would end up in the image's history).
 */
function secretArgs(builder: Builder, secrets: Array<[string, string]>): string[] {
  if (!secrets.length) return [];
  if (builder === 'classic')
    throw new UserError(
      'Input "secrets" needs BuildKit, which the classic builder is not: install docker buildx (docker/setup-buildx-action) or set DOCKER_BUILDKIT=1, or build with podman. Secrets are never passed as build-args.',
    );
  return secrets.flatMap(([id, file]) => ['--secret', `id=${id},src=${file}`]);
}
