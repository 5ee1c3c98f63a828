import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OUTPUTS } from '../../../src/actions/size-budget/inputs.js';
import { sizeBudget, type SizeBudgetOptions, type SizeOutputs } from '../../../src/lib/size/index.js';
import { measureFromStore } from '../../../src/lib/size/layer-store.js';
import { policyViolations, type FileIndex } from '../../../src/lib/size/policy.js';
import { REPORT_FORMAT, writeReport, type SizeReport } from '../../../src/lib/size/report.js';
import type { OwnedContainer } from '../../../src/lib/core/io.js';
import { fakeDeps, type Rule } from '../../harness/fakes.js';

/**
 * sizeBudget end to end on a scripted engine (no Docker). The image is pushed: its layer sizes come
 * from the registry's manifest, so nothing is compressed and no process is started. SLIPWAY_DOCKER
 * is an absolute executable so that detectEngine finds it; every command is answered by the table.
 */
const BIN = '/bin/true';
const IMAGE = 'registry.example/acme/app:pr-7';
const DIGEST_REF = 'registry.example/acme/app@sha256:feed';
const diffId = (n: number) => `sha256:${String(n).repeat(64)}`;
const LAYERS = [diffId(1), diffId(2), diffId(3)];
const UNCOMPRESSED = 300_000_000;
const COMPRESSED = [50_000_000, 40_000_000, 10_000_000];
const COMPRESSED_TOTAL = 100_000_000;
/** ceil(300 MB × 1.1 + 3 × 16 MiB) */
const CLOUDFLARE = 380_331_648;

const inspect = {
  Id: 'sha256:image',
  Size: UNCOMPRESSED,
  RepoDigests: [DIGEST_REF],
  RootFS: { Layers: LAYERS },
  Config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
};

const engineRules = (extra: Rule[] = []): Rule[] => [
  ...extra,
  {
    match: `${BIN} version --format {{json .}}`,
    result: { stdout: JSON.stringify({ Client: { Version: '27.3.1' }, Server: { Version: '27.3.1' } }) },
  },
  { match: `image inspect --format {{json .}} ${IMAGE}`, result: { stdout: JSON.stringify(inspect) } },
  {
    match: `manifest inspect ${DIGEST_REF}`,
    result: { stdout: JSON.stringify({ layers: COMPRESSED.map((size) => ({ size })) }) },
  },
  {
    match: `history --no-trunc --human=false`,
    result: {
      // Newest first, as docker history lists it.
      stdout: [
        `20000000\t/bin/sh -c npm ci --omit=dev`,
        `180000000\t/bin/sh -c apt-get install -y git jq`,
        `100000000\t/bin/sh -c #(nop) ADD file:abc in / `,
      ].join('\n'),
    },
  },
];

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-size-budget-'));
  dirs.push(dir);
  return dir;
};

/** A saved report whose compressed figure is `bytes`, as an earlier run on main wrote it. */
function baselineReport(dir: string, bytes: number): string {
  const path = join(dir, 'main.json');
  const report: SizeReport = {
    format: REPORT_FORMAT,
    image: 'registry.example/acme/app:main',
    imageId: 'sha256:main',
    createdAt: '2026-11-30T00:00:00.000Z',
    measure: 'compressed',
    uncompressedBytes: UNCOMPRESSED,
    compressedBytes: bytes,
    compressedSource: 'registry',
    cloudflareBytes: CLOUDFLARE,
    layerCount: 3,
    budgetBytes: 1e9,
    budgetSource: 'max-size',
    layers: [],
    topLayers: [],
    violations: [],
  };
  writeReport(path, report);
  return path;
}

function options(dir: string, extra: Partial<SizeBudgetOptions>): SizeBudgetOptions {
  return {
    image: IMAGE,
    measure: 'compressed',
    warnAt: 90,
    forbid: [],
    require: [],
    topLayers: 10,
    cacheStore: 'local',
    cacheDir: join(dir, 'store'),
    ...extra,
  };
}

interface Case {
  name: string;
  options: (dir: string) => Partial<SizeBudgetOptions>;
  failure?: RegExp;
  outputs: Partial<SizeOutputs>;
  firstLine: string;
  /** A warning the log must hold. */
  warning?: RegExp;
}

const WITHIN = `### size-budget: \`${IMAGE}\` ✅ within budget`;
const FAILED = `### size-budget: \`${IMAGE}\` ❌ failed`;

const cases: Case[] = [
  {
    name: 'within budget',
    options: () => ({ maxSize: 1e9 }),
    outputs: { withinBudget: true, budgetBytes: 1e9, deltaBytes: '', violations: '[]' },
    firstLine: WITHIN,
  },
  {
    name: 'at warn-at: a warning, no failure',
    options: () => ({ maxSize: Math.ceil(COMPRESSED_TOTAL / 0.95), warnAt: 90 }),
    outputs: { withinBudget: true, violations: '[]' },
    firstLine: WITHIN,
    warning: /^warning: compressed size 100 MB is 95\.0% of its 105 MB budget \(warn-at 90%\)\.$/,
  },
  {
    name: 'exactly at warn-at: a warning',
    options: () => ({ maxSize: 125_000_000, warnAt: 80 }),
    outputs: { withinBudget: true, violations: '[]' },
    firstLine: WITHIN,
    warning: /^warning: compressed size 100 MB is 80\.0% of its 125 MB budget \(warn-at 80%\)\.$/,
  },
  {
    name: 'just under warn-at: no warning',
    options: () => ({ maxSize: Math.ceil(COMPRESSED_TOTAL / 0.89), warnAt: 90 }),
    outputs: { withinBudget: true, violations: '[]' },
    firstLine: WITHIN,
  },
  {
    name: 'over budget: a failure naming the numbers',
    options: () => ({ maxSize: 80_000_000 }),
    failure:
      /^Size budget failed for registry\.example\/acme\/app:pr-7: compressed size 100 MB \(100000000 bytes\) is over the 80\.0 MB budget from max-size by 20\.0 MB\.$/,
    outputs: { withinBudget: false, budgetBytes: 80_000_000 },
    firstLine: FAILED,
  },
  {
    name: 'the cloudflare measure against the default budget (lite, 2 GB)',
    options: () => ({ measure: 'cloudflare', maxSize: undefined, instanceType: undefined }),
    outputs: { withinBudget: true, budgetBytes: 2e9, cloudflareBytes: CLOUDFLARE },
    firstLine: WITHIN,
  },
  {
    name: 'a saved baseline within max-increase: the delta, no failure',
    options: (dir) => ({ maxSize: 1e9, baseline: baselineReport(dir, 95_000_000), maxIncrease: 10_000_000 }),
    outputs: { withinBudget: true, deltaBytes: 5_000_000, violations: '[]' },
    firstLine: WITHIN,
  },
  {
    name: 'a saved baseline past max-increase: a failure, still within budget',
    options: (dir) => ({ maxSize: 1e9, baseline: baselineReport(dir, 95_000_000), maxIncrease: 1_000_000 }),
    failure:
      /^Size budget failed for registry\.example\/acme\/app:pr-7: compressed size grew by 5\.00 MB against \/.*\/main\.json, more than max-increase 1\.00 MB\.$/,
    outputs: { withinBudget: true, deltaBytes: 5_000_000 },
    firstLine: FAILED,
  },
  {
    name: 'over budget and past max-increase: both named, in that order',
    options: (dir) => ({
      maxSize: 80_000_000,
      baseline: baselineReport(dir, 90_000_000),
      maxIncrease: 1_000_000,
    }),
    failure:
      /is over the 80\.0 MB budget from max-size by 20\.0 MB; compressed size grew by 10\.0 MB against/,
    outputs: { withinBudget: false, deltaBytes: 10_000_000 },
    firstLine: FAILED,
  },
];

describe('sizeBudget on a scripted engine: budget, warn-at and baseline', () => {
  it.each(cases)('$name', async (testCase) => {
    const dir = tempDir();
    const deps = fakeDeps(engineRules(), { env: { SLIPWAY_DOCKER: BIN, RUNNER_TEMP: dir } });
    const result = await sizeBudget(options(dir, testCase.options(dir)), deps);

    if (testCase.failure) expect(result.failure, 'the failure line').toMatch(testCase.failure);
    else expect(result.failure, 'no failure').toBeUndefined();
    expect(result.outputs).toMatchObject({
      uncompressedBytes: UNCOMPRESSED,
      compressedBytes: COMPRESSED_TOTAL,
      cloudflareBytes: CLOUDFLARE,
      report: join(dir, 'slipway-size-report.json'),
      ...testCase.outputs,
    });
    expect(JSON.parse(result.outputs.violations)).toEqual(result.report.violations);
    expect(result.summary.split('\n')[0]).toBe(testCase.firstLine);
    const warnings = deps.log.lines.filter((line) => line.startsWith('warning: '));
    if (testCase.warning) expect(warnings).toEqual([expect.stringMatching(testCase.warning)]);
    else expect(warnings, 'no warning').toEqual([]);
  });

  it('a pushed image: sizes from the registry manifest, nothing compressed, the report written', async () => {
    const dir = tempDir();
    const deps = fakeDeps(engineRules(), { env: { SLIPWAY_DOCKER: BIN, RUNNER_TEMP: dir } });
    const result = await sizeBudget(
      options(dir, { maxSize: 1e9, reportPath: join(dir, 'out/r.json') }),
      deps,
    );

    expect(
      deps.log.lines.some((line) => line.startsWith('group: Compressing')),
      'no layer compressed',
    ).toBe(false);
    expect(result.summary).toContain('| Compressed (from the registry manifest) | 100,000,000 | 100 MB |');
    expect(Object.keys(result.outputs).sort(), "every output the action's OUTPUTS names").toEqual(
      Object.keys(OUTPUTS).sort(),
    );
    expect(result.reportPath).toBe(join(dir, 'out/r.json'));
    expect(result.outputs.report).toBe(result.reportPath);
    const written = JSON.parse(readFileSync(result.reportPath, 'utf8')) as SizeReport;
    expect(written).toMatchObject({
      format: REPORT_FORMAT,
      createdAt: '2026-12-01T12:00:00.000Z',
      compressedSource: 'registry',
      layers: LAYERS.map((id, index) => ({ diffId: id, compressedBytes: COMPRESSED[index] })),
    });
    expect(written).toEqual(result.report);
    // History lines up with the layers (oldest first), so each largest layer has its compressed size.
    expect(result.report.topLayers).toEqual([
      { sizeBytes: 180e6, compressedBytes: 40e6, createdBy: 'RUN apt-get install -y git jq' },
      { sizeBytes: 100e6, compressedBytes: 50e6, createdBy: 'ADD file:abc in /' },
      { sizeBytes: 20e6, compressedBytes: 10e6, createdBy: 'RUN npm ci --omit=dev' },
    ]);
    expect(result.summary).toContain('| 180 MB | 40.0 MB | `RUN apt-get install -y git jq` |');
    expect(result.comment).toContain('| compressed | 100 MB | |');
    expect(existsSync(join(dir, 'store', 'layer-sizes.json')), 'the layer sizes are remembered').toBe(true);
  });

  it('a baseline image not in the engine: a warning and no delta', async () => {
    const dir = tempDir();
    const missing = [{ match: 'image inspect --format {{json .}} acme/app:gone', result: { code: 1 } }];
    const deps = fakeDeps(engineRules(missing), { env: { SLIPWAY_DOCKER: BIN, RUNNER_TEMP: dir } });
    const result = await sizeBudget(options(dir, { maxSize: 1e9, baseline: 'acme/app:gone' }), deps);
    expect(result.failure).toBeUndefined();
    expect(result.outputs.deltaBytes).toBe('');
    expect(deps.log.lines).toContain(
      'warning: Baseline image acme/app:gone is not in the local engine: no delta (pull it, or pass a saved report).',
    );
  });

  it('an image not in the engine is one clear error before anything is measured', async () => {
    const dir = tempDir();
    const absent = [{ match: `image inspect --format {{json .}} ${IMAGE}`, result: { code: 1 } }];
    const deps = fakeDeps(engineRules(absent), { env: { SLIPWAY_DOCKER: BIN, RUNNER_TEMP: dir } });
    await expect(sizeBudget(options(dir, {}), deps)).rejects.toThrow(
      `Image ${IMAGE} is not in the local engine: build it first (build-image) or pull it.`,
    );
  });
});

describe('forbid and require become violations', () => {
  const index: FileIndex = new Map([
    ['/usr/bin/rustc', { type: 'file', mode: 0o755 }],
    ['/opt/tools/bin/cargo', { type: 'file', mode: 0o755 }],
    ['/usr/bin/node', { type: 'file', mode: 0o755 }],
  ]);
  it.each([
    {
      name: 'nothing forbidden present, everything required there',
      forbid: ['gcc'],
      require: ['node'],
      env: undefined,
      expected: [],
    },
    {
      name: 'a forbidden command on PATH names where it is',
      forbid: ['rustc'],
      require: [],
      env: undefined,
      expected: [
        {
          kind: 'forbidden',
          item: 'rustc',
          path: '/usr/bin/rustc',
          message: 'forbidden rustc is in the image at /usr/bin/rustc',
        },
      ],
    },
    {
      name: 'a required command that is missing names itself',
      forbid: [],
      require: ['jq', 'node'],
      env: undefined,
      expected: [{ kind: 'missing', item: 'jq', message: 'required jq is not in the image' }],
    },
    {
      name: "the image's own PATH is where commands are looked for first",
      forbid: ['cargo'],
      require: [],
      env: ['HOME=/root', 'PATH=/opt/tools/bin:/usr/bin'],
      expected: [
        {
          kind: 'forbidden',
          item: 'cargo',
          path: '/opt/tools/bin/cargo',
          message: 'forbidden cargo is in the image at /opt/tools/bin/cargo',
        },
      ],
    },
    {
      name: 'forbidden before missing',
      forbid: ['rustc'],
      require: ['python3'],
      env: undefined,
      expected: [
        expect.objectContaining({ kind: 'forbidden', item: 'rustc' }),
        expect.objectContaining({ kind: 'missing', item: 'python3' }),
      ],
    },
  ])('$name', ({ forbid, require, env, expected }) => {
    expect(policyViolations(index, env, forbid, require)).toEqual(expected);
  });
});

describe('the layer store tells deps.own of its helper container while it exists', () => {
  it('names the helper, removes it, and says it is gone, even when no layer can be rebuilt', async () => {
    const owned: Array<OwnedContainer | undefined> = [];
    const deps = fakeDeps([
      { match: 'info --format {{.DockerRootDir}}', result: { stdout: '/var/lib/docker\n' } },
      { match: /^\/bin\/true create --name slipway-size-\S+ --label slipway\.size-budget=helper/ },
      { match: /^\/bin\/true rm -f -v slipway-size-/ },
    ]);
    const result = await measureFromStore(
      deps.run,
      BIN,
      IMAGE,
      {
        RootFS: { Layers: [diffId(1), diffId(2)] },
        GraphDriver: { Name: 'overlay2', Data: { LowerDir: '/d/1/diff', UpperDir: '/d/2/diff' } },
      },
      new Set([diffId(2)]),
      { own: (container) => owned.push(container) },
    );
    // /bin/true as `docker cp` sends no records: the layer falls back to docker save.
    expect(result).toEqual({
      measured: [],
      fallback: expect.stringMatching(/^layer 2 \(2{12}\): it has no tar-split record$/),
    });
    expect(owned).toHaveLength(2);
    expect(owned[0]?.name).toMatch(/^slipway-size-\d+-[0-9a-f]{8}$/);
    expect(owned[1], 'told the helper is gone').toBeUndefined();
    const create = deps.run.calls.find((call) => call.args[0] === 'create')!;
    expect(create.args).toContain(`/d/2/diff:/slipway/layer/1:ro`);
    expect(deps.run.calls.at(-1)!.args).toEqual(['rm', '-f', '-v', owned[0]!.name]);
  });
});
