import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { builderEnv, detectEngine } from '../engine/engine.js';
import type { Runner } from '../core/exec.js';

/**
 * wrangler builds container images with `docker build --load --provenance=false …`, flags only buildx
 * knows. On an engine without buildx this shim drops them and runs the engine's own builder
 * (BuildKit on Docker < 23, the classic builder otherwise); every other command passes through.
 */
export const DOCKER_SHIM = `#!/bin/sh
# Written by Slipway for wrangler (WRANGLER_DOCKER_BIN): this docker client has no buildx.
if [ "$1" = "build" ]; then
  shift
  for a in "$@"; do
    shift
    case "$a" in
      --load|--provenance=*) ;;
      *) set -- "$@" "$a" ;;
    esac
  done
  exec "$SLIPWAY_REAL_DOCKER" build "$@"
fi
exec "$SLIPWAY_REAL_DOCKER" "$@"
`;

/**
 * The environment wrangler needs to reach the container engine: nothing when the user chose one
 * (WRANGLER_DOCKER_BIN) or when docker has buildx; the engine's binary when it is not plain
 * `docker`; the shim (written into `dir`) when buildx is missing. No engine: nothing (a Worker
 * without containers needs none; one with containers gets wrangler's own message).
 */
export async function wranglerDockerEnv(
  run: Runner,
  env: Record<string, string | undefined>,
  dir: string,
): Promise<{ env: Record<string, string>; note?: string }> {
  if (env.WRANGLER_DOCKER_BIN) return { env: {} };
  let engine;
  try {
    engine = await detectEngine(run, env);
  } catch {
    return { env: {} };
  }
  if (engine.kind !== 'docker' || engine.buildx)
    return { env: engine.bin.endsWith('/docker') ? {} : { WRANGLER_DOCKER_BIN: engine.bin } };
  const shim = join(dir, 'docker');
  writeFileSync(shim, DOCKER_SHIM, { mode: 0o755 });
  chmodSync(shim, 0o755);
  return {
    env: { WRANGLER_DOCKER_BIN: shim, SLIPWAY_REAL_DOCKER: engine.bin, ...builderEnv(engine.builder) },
    note: `${engine.bin} has no buildx: container images build with its ${engine.builder} builder (buildx-only flags dropped).`,
  };
}

/** The registry wrangler logs in to for container images. */
export function containerRegistry(env: Record<string, string | undefined>): string {
  return env.CLOUDFLARE_CONTAINER_REGISTRY || 'registry.cloudflare.com';
}

function dockerAuths(env: Record<string, string | undefined>): string[] {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  try {
    const doc = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
      auths?: Record<string, unknown>;
    };
    return Object.keys(doc.auths ?? {});
  } catch {
    return [];
  }
}

/**
 * wrangler's `docker login` to the container registry leaves a (short-lived) credential in the
 * docker config. Call before the deploy; the returned function logs out afterwards, but only when
 * the login was wrangler's (a login the user had before is left alone).
 */
export function registryLoginGuard(
  run: Runner,
  env: Record<string, string | undefined>,
): (dockerBin?: string) => Promise<void> {
  const registry = containerRegistry(env);
  const before = dockerAuths(env).includes(registry);
  return async (dockerBin = env.SLIPWAY_DOCKER || 'docker') => {
    if (before || !dockerAuths(env).includes(registry)) return;
    await run(dockerBin, ['logout', registry], { silent: true }).catch(() => undefined);
  };
}
