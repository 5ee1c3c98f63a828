import { INSTANCE_TYPE_LIMITS, INSTANCE_TYPES, type InstanceType } from '../core/instance-types.js';

export { INSTANCE_TYPES, parseInstanceType, type InstanceType } from '../core/instance-types.js';

export type Measure = 'compressed' | 'uncompressed' | 'cloudflare';
export const MEASURES: readonly Measure[] = ['compressed', 'uncompressed', 'cloudflare'];

/** Each instance type's disk, in decimal MB (wrangler's disk_mb), from the one table in core/. */
export const INSTANCE_DISK_MB = Object.fromEntries(
  INSTANCE_TYPES.map((type) => [type, INSTANCE_TYPE_LIMITS[type].diskMb]),
) as Record<InstanceType, number>;

const MiB = 1024 * 1024;

/**
 * wrangler's own gate before it pushes a container image: the image's uncompressed size plus 10%,
 * plus 16 MiB per layer, rounded up to whole bytes, must fit the instance disk (disk_mb × 10^6).
 */
export function cloudflareBytes(uncompressedBytes: number, layers: number): number {
  return Math.ceil(uncompressedBytes * 1.1 + layers * 16 * MiB);
}

export function instanceDiskBytes(type: InstanceType): number {
  return INSTANCE_DISK_MB[type] * 1e6;
}

/**
 * The budget in bytes, and where it comes from: max-size when given, else the instance type's disk
 * (the limit wrangler enforces), else the smallest instance (lite, 2 GB).
 */
export function resolveBudget(
  maxSize: number | undefined,
  instanceType: InstanceType | undefined,
): { bytes: number; source: string } {
  if (maxSize !== undefined) return { bytes: maxSize, source: 'max-size' };
  const type = instanceType ?? 'lite';
  return {
    bytes: instanceDiskBytes(type),
    source: `instance type ${type} (${INSTANCE_DISK_MB[type] / 1000} GB disk)${instanceType ? '' : ', the default'}`,
  };
}

/** What each measure means, for summaries and errors: every figure says which size it is. */
export function describeMeasure(measure: Measure): string {
  return {
    compressed: 'compressed (gzip of each layer, as a registry stores it)',
    uncompressed: 'uncompressed (the layers as unpacked on disk)',
    cloudflare: "Cloudflare's gate (uncompressed × 1.1 + 16 MiB per layer)",
  }[measure];
}
