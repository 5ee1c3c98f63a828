import { UserError } from './errors.js';

/** What one Cloudflare Containers instance type gives a container. */
export interface InstanceLimits {
  /** vCPUs (a fraction for the smaller types). */
  vcpu: number;
  /** Memory in MiB. */
  memoryMib: number;
  /** Disk in decimal MB: wrangler's disk_mb, which a pushed image (as wrangler measures it) must fit. */
  diskMb: number;
}

/**
 * Cloudflare Containers' predefined instance types, the kit's one table of them (size-budget's disk,
 * boot-test's memory and CPU, the emulator's container limits).
 *
 * Cloudflare's figures: https://developers.cloudflare.com/containers/platform/limits/ ("Instance
 * Types": lite 1/16 vCPU, 256 MiB, 2 GB; basic 1/4, 1 GiB, 4 GB; standard-1 1/2, 4 GiB, 8 GB;
 * standard-2 1, 6 GiB, 12 GB; standard-3 2, 8 GiB, 16 GB; standard-4 4, 12 GiB, 20 GB). wrangler
 * 4.86.0 holds the same in `instanceTypes` (node_modules/wrangler/wrangler-dist/cli.js, line 139327:
 * vcpu, memory_mib, disk_mb), the table it checks images and account limits against.
 */
export const INSTANCE_TYPE_LIMITS = {
  lite: { vcpu: 0.0625, memoryMib: 256, diskMb: 2000 },
  basic: { vcpu: 0.25, memoryMib: 1024, diskMb: 4000 },
  'standard-1': { vcpu: 0.5, memoryMib: 4096, diskMb: 8000 },
  'standard-2': { vcpu: 1, memoryMib: 6144, diskMb: 12000 },
  'standard-3': { vcpu: 2, memoryMib: 8192, diskMb: 16000 },
  'standard-4': { vcpu: 4, memoryMib: 12288, diskMb: 20000 },
} as const satisfies Record<string, InstanceLimits>;

export type InstanceType = keyof typeof INSTANCE_TYPE_LIMITS;
export const INSTANCE_TYPES = Object.keys(INSTANCE_TYPE_LIMITS) as InstanceType[];

/**
 * wrangler's old names, which it still accepts with a warning that they were renamed: dev is lite,
 * standard is standard-1 (cli.js line 37763, ALLOWED_INSTANCE_TYPES; the warnings at line 31443).
 */
export const INSTANCE_TYPE_ALIASES: Readonly<Record<string, InstanceType>> = {
  dev: 'lite',
  standard: 'standard-1',
};

/** The type a name means (a type or one of wrangler's old names, any case); undefined for anything else. */
export function instanceType(name: string): InstanceType | undefined {
  const key = name.trim().toLowerCase();
  if ((INSTANCE_TYPES as string[]).includes(key)) return key as InstanceType;
  return INSTANCE_TYPE_ALIASES[key];
}

/** The `instance-type` input: empty is undefined, anything not a type is one line listing the types. */
export function parseInstanceType(value: string): InstanceType | undefined {
  if (!value.trim()) return undefined;
  const type = instanceType(value);
  if (type) return type;
  throw new UserError(`Input "instance-type" is "${value}": use one of ${INSTANCE_TYPES.join(', ')}.`);
}

/**
 * A type's memory and CPU (or a custom type's vcpu and memory) as `docker run` takes them:
 * --memory 256m, --cpus 0.0625.
 */
export function dockerLimits(type: InstanceType | Pick<InstanceLimits, 'vcpu' | 'memoryMib'>): {
  memory: string;
  cpus: string;
} {
  const { memoryMib, vcpu } = typeof type === 'string' ? INSTANCE_TYPE_LIMITS[type] : type;
  return {
    memory: memoryMib % 1024 === 0 ? `${memoryMib / 1024}g` : `${memoryMib}m`,
    cpus: String(vcpu),
  };
}
