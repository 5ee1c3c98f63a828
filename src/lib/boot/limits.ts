import { dockerLimits, type InstanceType } from '../core/instance-types.js';

/** The memory limit when neither the memory input nor an instance type gives one. */
export const DEFAULT_MEMORY = '4g';

/** Where a limit came from: its own input, the instance type's figures, or the default. */
export type LimitSource = 'input' | 'instance type' | 'default';

/** The memory and CPU limits a boot runs under, and where each came from. */
export interface BootLimits {
  memory: string;
  cpus?: string;
  /** The instance type whose limits are production's, when one was given. */
  instanceType?: InstanceType;
  limitsFrom: { memory: LimitSource; cpus: LimitSource };
}

/**
 * The limits to boot under: a given memory or cpus wins; else the instance type's (production's);
 * else memory 4g and no CPU limit.
 */
export function bootLimits(given: { memory?: string; cpus?: string }, type?: InstanceType): BootLimits {
  const typed = type ? dockerLimits(type) : undefined;
  const fallback: LimitSource = typed ? 'instance type' : 'default';
  const memory = given.memory ?? typed?.memory ?? DEFAULT_MEMORY;
  const cpus = given.cpus ?? typed?.cpus;
  return {
    memory,
    ...(cpus ? { cpus } : {}),
    ...(type ? { instanceType: type } : {}),
    limitsFrom: { memory: given.memory ? 'input' : fallback, cpus: given.cpus ? 'input' : fallback },
  };
}

type Described = Partial<BootLimits> & { memory: string };

function sourceWords(source: LimitSource, limit: 'memory' | 'cpus' | 'both', type?: InstanceType): string {
  if (source === 'instance type') return `instance type ${type}`;
  if (source === 'input') return limit === 'both' ? 'inputs' : `${limit} input`;
  return limit === 'both' ? 'defaults' : 'default';
}

/**
 * Memory and CPU in words, with where they came from: "memory 256m, cpus 0.0625 (instance type
 * lite)", "memory 512m (memory input), cpus 0.0625 (instance type lite)", "memory 4g, no CPU limit
 * (defaults)". Without limitsFrom (options built in code), only the figures.
 */
export function describeLimits(limits: Described): string {
  const memory = `memory ${limits.memory}`;
  const cpus = limits.cpus ? `cpus ${limits.cpus}` : 'no CPU limit';
  const from = limits.limitsFrom;
  if (!from) return limits.cpus ? `${memory}, ${cpus}` : memory;
  if (from.memory === from.cpus)
    return `${memory}, ${cpus} (${sourceWords(from.memory, 'both', limits.instanceType)})`;
  return `${memory} (${sourceWords(from.memory, 'memory', limits.instanceType)}), ${cpus} (${sourceWords(from.cpus, 'cpus', limits.instanceType)})`;
}
