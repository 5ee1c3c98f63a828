import type { BootTestOptions } from '../../lib/boot-test.js';
import { UserError } from '../../lib/errors.js';
import { parseBoolean, parseDuration, parseKeyValues, parseList } from '../../lib/inputs.js';

/** Input names, exactly as in actions/boot-test/action.yml (a test holds them equal). */
export const INPUTS = {
  image: 'image',
  port: 'port',
  healthPath: 'health-path',
  expectStatus: 'expect-status',
  env: 'env',
  memory: 'memory',
  cpus: 'cpus',
  pidsLimit: 'pids-limit',
  readOnly: 'read-only',
  user: 'user',
  network: 'network',
  timeout: 'timeout',
} as const;

export const OUTPUTS = { bootSeconds: 'boot-seconds', health: 'health', status: 'status' } as const;

function integer(name: string, value: string, fallback: number, min: number, max: number): number {
  if (!value.trim()) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UserError(`Input "${name}" is "${value}": give a whole number from ${min} to ${max}.`);
  return n;
}

/** Typed inputs; network "auto" is settled by the entry (bridge when the engine has one). */
export function readInputs(get: (name: string) => string): BootTestOptions {
  const image = get(INPUTS.image).trim();
  if (!image)
    throw new UserError(
      'Input "image" is required: the image to boot (e.g. the build-image step\'s image output).',
    );
  const path = get(INPUTS.healthPath).trim() || '/health/extended';
  if (!path.startsWith('/'))
    throw new UserError(
      `Input "health-path" is "${path}": give a path starting with /, e.g. /health/extended.`,
    );
  const memory = get(INPUTS.memory).trim() || '4g';
  if (!/^\d+(\.\d+)?[bkmg]?$/i.test(memory))
    throw new UserError(`Input "memory" is "${memory}": give a docker memory size such as 4g or 512m.`);
  const cpus = get(INPUTS.cpus).trim();
  if (cpus && !/^\d+(\.\d+)?$/.test(cpus))
    throw new UserError(`Input "cpus" is "${cpus}": give a number of CPUs such as 1 or 0.5.`);
  return {
    image,
    port: integer(INPUTS.port, get(INPUTS.port), 18789, 1, 65535),
    healthPath: path,
    expectStatus: parseList(get(INPUTS.expectStatus) || 'healthy,degraded', { commas: true }),
    env: parseKeyValues(INPUTS.env, get(INPUTS.env)),
    memory,
    cpus: cpus || undefined,
    pidsLimit: integer(INPUTS.pidsLimit, get(INPUTS.pidsLimit), 256, 1, 1_000_000),
    readOnly: parseBoolean(INPUTS.readOnly, get(INPUTS.readOnly), true),
    user: get(INPUTS.user).trim() || undefined,
    network: get(INPUTS.network).trim() || 'auto',
    timeoutSeconds: parseDuration(INPUTS.timeout, get(INPUTS.timeout), 30),
  };
}
