import { CACHE_MODES, type BuildImageOptions, type BuildOutputs } from '../../lib/build/index.js';
import { defaultCacheDir, STAGE_STORE_CHOICES } from '../../lib/core/cache.js';
import {
  oneLineInputs,
  parseBoolean,
  parseChoice,
  parseImageReference,
  parseKeyValues,
  parseList,
} from '../../lib/core/inputs.js';
import type { OutputNames } from '../shared/runner.js';

/** The action's input names, exactly as in actions/build-image/action.yml (a test holds them equal). */
export const INPUTS = {
  context: 'context',
  file: 'file',
  target: 'target',
  buildArgs: 'build-args',
  secrets: 'secrets',
  image: 'image',
  tags: 'tags',
  push: 'push',
  platforms: 'platforms',
  labels: 'labels',
  cache: 'cache',
  cacheStore: 'cache-store',
  cacheDir: 'cache-dir',
  cacheRegistry: 'cache-registry',
  cacheRegistryToken: 'cache-registry-token',
  network: 'network',
} as const;

export const OUTPUTS = {
  image: 'image',
  imageId: 'image-id',
  tags: 'tags',
  digest: 'digest',
  cacheHitRatio: 'cache-hit-ratio',
  stageCache: 'stage-cache',
  durationSeconds: 'duration-seconds',
} as const satisfies OutputNames<BuildOutputs>;

export type Inputs = Omit<BuildImageOptions, 'run'>;

/** Typed inputs from the raw strings; each bad value fails with one line naming the input. */
export function readInputs(raw: (name: string) => string, env: Record<string, string | undefined>): Inputs {
  const get = oneLineInputs(raw, [
    INPUTS.buildArgs,
    INPUTS.secrets,
    INPUTS.tags,
    INPUTS.platforms,
    INPUTS.labels,
  ]);
  const repo = (env.GITHUB_REPOSITORY ?? '').toLowerCase();
  return {
    context: get(INPUTS.context) || '.',
    file: get(INPUTS.file),
    target: get(INPUTS.target) || undefined,
    buildArgs: parseKeyValues(INPUTS.buildArgs, get(INPUTS.buildArgs)),
    secrets: parseKeyValues(INPUTS.secrets, get(INPUTS.secrets)),
    image: parseImageReference(INPUTS.image, get(INPUTS.image)) || repo || 'slipway-image',
    extraTags: parseList(get(INPUTS.tags)),
    push: parseBoolean(INPUTS.push, get(INPUTS.push), false),
    platforms: parseList(get(INPUTS.platforms), { commas: true }),
    labels: parseKeyValues(INPUTS.labels, get(INPUTS.labels)),
    cache: parseChoice(INPUTS.cache, get(INPUTS.cache), CACHE_MODES, 'auto'),
    cacheStore: parseChoice(INPUTS.cacheStore, get(INPUTS.cacheStore), STAGE_STORE_CHOICES, 'auto'),
    cacheDir: get(INPUTS.cacheDir) || defaultCacheDir(env),
    cacheRegistry: get(INPUTS.cacheRegistry),
    cacheRegistryToken: get(INPUTS.cacheRegistryToken),
    network: get(INPUTS.network) || undefined,
  };
}
