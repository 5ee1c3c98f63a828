import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { CacheService, Env } from './io.js';

/**
 * Where build-image's stage artifacts and size-budget's layer sizes are kept between runs (the
 * `cache-store` input both actions take): auto is the Actions cache on a runner that has the
 * service, a local directory elsewhere; build-image's stage store may also be a registry.
 */
export type StoreChoice = 'auto' | 'actions' | 'local';
export const STORE_CHOICES: readonly StoreChoice[] = ['auto', 'actions', 'local'];

/** Which store a choice means in this job: `actions` may be asked for where the service is missing. */
export function storeKind(choice: StoreChoice, cache: CacheService | undefined): 'actions' | 'local' {
  return choice === 'actions' || (choice === 'auto' && cache) ? 'actions' : 'local';
}

/** build-image's stage store may also be an OCI registry (its `cache-registry` input). */
export type StageStoreChoice = StoreChoice | 'registry';
export const STAGE_STORE_CHOICES: readonly StageStoreChoice[] = [...STORE_CHOICES, 'registry'];

/**
 * Which stage store a choice means: auto is the registry when `cache-registry` is set, else the
 * Actions cache on a runner that has it, else the local directory. `registry` without a registry is
 * the caller's input error (build-image's planBuild says so before anything runs).
 */
export function stageStoreKind(
  choice: StageStoreChoice,
  cache: CacheService | undefined,
  registry: string | undefined,
): 'registry' | 'actions' | 'local' {
  if (choice === 'registry' || (choice === 'auto' && registry)) return 'registry';
  return storeKind(choice, cache);
}

/** Default local store: $XDG_CACHE_HOME/slipway/stages, else ~/.cache/slipway/stages. */
export function defaultCacheDir(env: Env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || tmpdir(), '.cache');
  return join(base, 'slipway', 'stages');
}

/** Why an `actions` store cannot work in this job, for the warning every fault becomes. */
export const NO_CACHE_SERVICE =
  'this job has no Actions cache service (ACTIONS_RESULTS_URL / ACTIONS_CACHE_URL are not set); use cache-store: local outside GitHub runners';
