import { defaultCacheDir, STORE_CHOICES } from '../../lib/core/cache.js';
import { UserError } from '../../lib/core/errors.js';
import {
  oneLineInputs,
  parseChoice,
  parseImageReference,
  parseList,
  parseNumber,
} from '../../lib/core/inputs.js';
import { MEASURES, parseInstanceType } from '../../lib/size/budget.js';
import { parseSize } from '../../lib/core/bytes.js';
import type { SizeBudgetOptions, SizeOutputs } from '../../lib/size/index.js';
import type { OutputNames } from '../shared/runner.js';

/** Input names, exactly as in actions/size-budget/action.yml (a test holds them equal). */
export const INPUTS = {
  image: 'image',
  maxSize: 'max-size',
  measure: 'measure',
  instanceType: 'instance-type',
  warnAt: 'warn-at',
  baseline: 'baseline',
  maxIncrease: 'max-increase',
  forbid: 'forbid',
  require: 'require',
  topLayers: 'top-layers',
  reportPath: 'report-path',
  cacheStore: 'cache-store',
  cacheDir: 'cache-dir',
} as const;

export const OUTPUTS = {
  uncompressedBytes: 'uncompressed-bytes',
  compressedBytes: 'compressed-bytes',
  cloudflareBytes: 'cloudflare-bytes',
  budgetBytes: 'budget-bytes',
  withinBudget: 'within-budget',
  deltaBytes: 'delta-bytes',
  violations: 'violations',
  report: 'report',
} as const satisfies OutputNames<SizeOutputs>;

export function readInputs(
  raw: (name: string) => string,
  env: Record<string, string | undefined>,
): SizeBudgetOptions {
  const get = oneLineInputs(raw, [INPUTS.forbid, INPUTS.require]);
  const image = parseImageReference(INPUTS.image, get(INPUTS.image));
  if (!image)
    throw new UserError(
      'Input "image" is required: the image to measure (e.g. the build-image step\'s image output).',
    );
  const maxSize = get(INPUTS.maxSize);
  const maxIncrease = get(INPUTS.maxIncrease);
  return {
    image,
    maxSize: maxSize.trim() ? parseSize(INPUTS.maxSize, maxSize) : undefined,
    measure: parseChoice(INPUTS.measure, get(INPUTS.measure), MEASURES, 'cloudflare'),
    instanceType: parseInstanceType(get(INPUTS.instanceType)),
    warnAt: parseNumber(INPUTS.warnAt, get(INPUTS.warnAt), 90, 1, 100),
    baseline: readBaseline(get(INPUTS.baseline)),
    maxIncrease: maxIncrease.trim() ? parseSize(INPUTS.maxIncrease, maxIncrease) : undefined,
    forbid: parseList(get(INPUTS.forbid)),
    require: parseList(get(INPUTS.require)),
    topLayers: parseNumber(INPUTS.topLayers, get(INPUTS.topLayers), 10, 0, 1000),
    reportPath: get(INPUTS.reportPath).trim() || undefined,
    cacheStore: parseChoice(INPUTS.cacheStore, get(INPUTS.cacheStore), STORE_CHOICES, 'auto'),
    cacheDir: get(INPUTS.cacheDir) || defaultCacheDir(env),
  };
}

/**
 * A report file (.json) or an image: an image reaches docker as an argument, so it must be an image
 * reference (one starting with "-" would be read as an option).
 */
function readBaseline(value: string): string | undefined {
  const baseline = value.trim();
  if (!baseline || baseline.endsWith('.json')) return baseline || undefined;
  return parseImageReference(INPUTS.baseline, baseline);
}
