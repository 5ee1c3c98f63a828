import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dockerLimits,
  instanceType,
  INSTANCE_TYPE_ALIASES,
  INSTANCE_TYPE_LIMITS,
  INSTANCE_TYPES,
  parseInstanceType,
} from '../../../src/lib/core/instance-types.js';
import { ROOT } from '../../harness/runner.js';

describe("Cloudflare Containers' instance types, one table", () => {
  // https://developers.cloudflare.com/containers/platform/limits/ ("Instance Types").
  it.each([
    ['lite', 1 / 16, 256, 2000, '256m', '0.0625'],
    ['basic', 1 / 4, 1024, 4000, '1g', '0.25'],
    ['standard-1', 1 / 2, 4096, 8000, '4g', '0.5'],
    ['standard-2', 1, 6144, 12000, '6g', '1'],
    ['standard-3', 2, 8192, 16000, '8g', '2'],
    ['standard-4', 4, 12288, 20000, '12g', '4'],
  ] as const)(
    '%s: %d vCPU, %d MiB, %d MB disk; docker --memory %s --cpus %s',
    (type, vcpu, mib, mb, memory, cpus) => {
      expect(INSTANCE_TYPE_LIMITS[type]).toEqual({ vcpu, memoryMib: mib, diskMb: mb });
      expect(dockerLimits(type)).toEqual({ memory, cpus });
    },
  );

  it("equals wrangler's own table (its instanceTypes: vcpu, memory_mib, disk_mb), aliases included", () => {
    const cli = readFileSync(join(ROOT, 'node_modules/wrangler/wrangler-dist/cli.js'), 'utf8');
    const start = cli.indexOf('instanceTypes = {');
    expect(start, "wrangler's instanceTypes table").toBeGreaterThan(0);
    const table = cli.slice(start, cli.indexOf('};', start));
    const entry = /"?([\w-]+)"?: \{\s*vcpu: ([\d.]+),\s*memory_mib: (\d+),\s*disk_mb: ([\d.e]+)\s*\}/g;
    const wrangler = Object.fromEntries(
      [...table.matchAll(entry)].map(([, name, vcpu, mib, mb]) => [
        name,
        { vcpu: Number(vcpu), memoryMib: Number(mib), diskMb: Number(mb) },
      ]),
    );
    const ours = Object.fromEntries(
      [...INSTANCE_TYPES, ...Object.keys(INSTANCE_TYPE_ALIASES)].map((name) => [
        name,
        INSTANCE_TYPE_LIMITS[instanceType(name)!],
      ]),
    );
    expect(wrangler).toEqual(ours);
  });

  it.each([
    ['lite', 'lite'],
    ['Standard-2', 'standard-2'],
    [' basic ', 'basic'],
    // wrangler's old names, which it still takes (with a warning).
    ['dev', 'lite'],
    ['standard', 'standard-1'],
    ['huge', undefined],
    ['', undefined],
  ])('the name %j means %s', (name, type) => {
    expect(instanceType(name)).toBe(type);
  });

  it.each([
    [
      { vcpu: 1, memoryMib: 3072 },
      { memory: '3g', cpus: '1' },
    ],
    [
      { vcpu: 2.5, memoryMib: 7680 },
      { memory: '7680m', cpus: '2.5' },
    ],
  ])('a custom type %j runs with docker %j', (custom, docker) => {
    expect(dockerLimits(custom)).toEqual(docker);
  });

  it('the instance-type input: empty is none, a wrong name is one line listing the types', () => {
    expect(parseInstanceType('')).toBeUndefined();
    expect(parseInstanceType('DEV')).toBe('lite');
    expect(() => parseInstanceType('standard-5')).toThrow(
      'Input "instance-type" is "standard-5": use one of lite, basic, standard-1, standard-2, standard-3, standard-4.',
    );
  });
});
