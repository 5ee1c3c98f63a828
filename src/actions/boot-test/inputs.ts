import {
  DEFAULT_HEALTH_MODE,
  HEALTH_MODES,
  bootLimits,
  defaultHealthPath,
  type BootLimits,
  type BootOutputs,
  type BootTestOptions,
} from '../../lib/boot/index.js';
import { UserError } from '../../lib/core/errors.js';
import { parseInstanceType } from '../../lib/core/instance-types.js';
import {
  oneLineInputs,
  parseBoolean,
  parseChoice,
  parseDuration,
  parseImageReference,
  parseKeyValues,
  parseList,
  parseNumber,
  parsePath,
} from '../../lib/core/inputs.js';
import type { OutputNames } from '../shared/runner.js';

/** Input names, exactly as in actions/boot-test/action.yml (a test holds them equal). */
export const INPUTS = {
  image: 'image',
  port: 'port',
  health: 'health',
  healthPath: 'health-path',
  expectStatus: 'expect-status',
  env: 'env',
  secretEnv: 'secret-env',
  instanceType: 'instance-type',
  memory: 'memory',
  cpus: 'cpus',
  pidsLimit: 'pids-limit',
  readOnly: 'read-only',
  user: 'user',
  network: 'network',
  timeout: 'timeout',
} as const;

export const OUTPUTS = {
  bootSeconds: 'boot-seconds',
  health: 'health',
  status: 'status',
} as const satisfies OutputNames<BootOutputs>;

/**
 * The container's name while this action holds it, set as it starts and emptied when it is gone:
 * the root pipeline's cleanup step reads it (the runner runs no post step for a `run:` step).
 */
export const CONTAINER_OUTPUT = 'container';

/** Typed inputs; network "auto" is settled by bootTest (bridge when the engine has one). */
export function readInputs(raw: (name: string) => string): BootTestOptions {
  const get = oneLineInputs(raw, [INPUTS.env, INPUTS.secretEnv, INPUTS.expectStatus]);
  const image = parseImageReference(INPUTS.image, get(INPUTS.image));
  if (!image)
    throw new UserError(
      'Input "image" is required: the image to boot (e.g. the build-image step\'s image output).',
    );
  const health = parseChoice(INPUTS.health, get(INPUTS.health), HEALTH_MODES, DEFAULT_HEALTH_MODE);
  const path = parsePath(INPUTS.healthPath, get(INPUTS.healthPath), defaultHealthPath(health));
  return {
    image,
    port: parseNumber(INPUTS.port, get(INPUTS.port), 18789, 1, 65535, true),
    health,
    healthPath: path,
    expectStatus: parseList(get(INPUTS.expectStatus) || 'healthy,degraded', { commas: true }),
    env: parseKeyValues(INPUTS.env, get(INPUTS.env)),
    secretEnv: parseKeyValues(INPUTS.secretEnv, get(INPUTS.secretEnv)),
    ...readLimits(get),
    pidsLimit: parseNumber(INPUTS.pidsLimit, get(INPUTS.pidsLimit), 256, 1, 1_000_000, true),
    readOnly: parseBoolean(INPUTS.readOnly, get(INPUTS.readOnly), true),
    user: get(INPUTS.user).trim() || undefined,
    network: get(INPUTS.network).trim() || 'auto',
    timeoutSeconds: parseDuration(INPUTS.timeout, get(INPUTS.timeout), 30),
  };
}

/** memory and cpus as given (validated), else the instance type's, else memory 4g and no CPU limit. */
function readLimits(get: (name: string) => string): BootLimits {
  const memory = get(INPUTS.memory).trim();
  if (memory && !/^\d+(\.\d+)?[bkmg]?$/i.test(memory))
    throw new UserError(`Input "memory" is "${memory}": give a docker memory size such as 4g or 512m.`);
  const cpus = get(INPUTS.cpus).trim();
  if (cpus && !/^\d+(\.\d+)?$/.test(cpus))
    throw new UserError(`Input "cpus" is "${cpus}": give a number of CPUs such as 1 or 0.5.`);
  const given = { ...(memory ? { memory } : {}), ...(cpus ? { cpus } : {}) };
  return bootLimits(given, parseInstanceType(get(INPUTS.instanceType)));
}
