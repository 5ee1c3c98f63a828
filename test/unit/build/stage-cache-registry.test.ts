import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildSummary } from '../../../src/lib/build/summary.js';
import { ContextFiles } from '../../../src/lib/build/context.js';
import { buildImage, type BuildImageOptions } from '../../../src/lib/build/index.js';
import { planBuild } from '../../../src/lib/build/plan.js';
import { parseCacheRegistry, tagForKey } from '../../../src/lib/build/registry-ref.js';
import { RegistryStore } from '../../../src/lib/build/registry-store.js';
import {
  prepareCachedStages,
  type StageCacheParams,
  type StageReport,
} from '../../../src/lib/build/stage-cache.js';
import { chooseStore } from '../../../src/lib/build/store.js';
import { stageStoreKind } from '../../../src/lib/core/cache.js';
import { UserError } from '../../../src/lib/core/errors.js';
import type { DockerClient } from '../../../src/lib/engine/client.js';
import type { Engine } from '../../../src/lib/engine/engine.js';
import { FakeRegistry } from '../../harness/fake-registry.js';
import { fakeDeps, memoryCache } from '../../harness/fakes.js';

const REPO = 'slipway/stage-cache';
const DOCKERFILE =
  '# slipway:cache stage=builder outputs=/out\nFROM debian AS builder\nRUN make /out\nFROM debian\nCOPY --from=builder /out /out\n';
const READ_ONLY = 'pull requests read the registry cache and never write it';

const dirs: string[] = [];
const mk = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

let registry: FakeRegistry;
let host: string;
beforeEach(async () => {
  registry = new FakeRegistry();
  host = await registry.start();
});
afterEach(async () => {
  await registry.stop();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function options(context: string, extra: Partial<BuildImageOptions> = {}): BuildImageOptions {
  return {
    context,
    file: '',
    buildArgs: [],
    secrets: [],
    image: 'slipway-unit/app',
    extraTags: [],
    push: false,
    platforms: [],
    labels: [],
    cache: 'stage',
    cacheStore: 'registry',
    cacheDir: mk('slipway-unused-store-'),
    cacheRegistry: `${host}/${REPO}`,
    run: { eventName: 'push', ref: 'refs/heads/main', sha: 'a'.repeat(40) },
    ...extra,
  };
}

/** Exports so far: each writes other bytes (a rebuild's file times differ, as real ones do). */
let exports = 0;

/**
 * The engine as the stage cache uses it, stubbed: a build of the stage "runs" (recorded), its export
 * writes an archive (the same bytes every time when `reproducible`), the stand-in builds.
 */
function stubClient(reproducible: boolean) {
  const targets: string[] = [];
  const client = {
    build: async (spec: { target?: string }) => {
      if (spec.target) targets.push(spec.target);
      return { code: 0, output: spec.target ? `built ${spec.target}` : '' };
    },
    exportPath: async (_image: string, _path: string, archive: string) => {
      const bytes = gzipSync(Buffer.from(`outputs, export ${reproducible ? 0 : ++exports}\n`.repeat(500)));
      writeFileSync(archive, bytes);
      return bytes.length;
    },
  };
  return { client: client as unknown as DockerClient, targets };
}

/** One run of the stage cache on a fresh runner: the registry is the only thing that remembers. */
async function run(eventName: string, reproducible = false) {
  const context = mk('slipway-stage-ctx-');
  writeFileSync(join(context, 'Dockerfile'), DOCKERFILE);
  const now = new Date('2026-12-01T12:00:00Z');
  const opts = options(context);
  const plan = planBuild(opts, now);
  const deps = fakeDeps([{ match: /^tar -xzf /, result: {} }], { fetch: (url, init) => fetch(url, init) });
  const store = new RegistryStore({
    repository: plan.registry!,
    readOnly: eventName === 'pull_request' ? READ_ONLY : undefined,
    dir: mk('slipway-pulled-'),
    deps,
  });
  const { client, targets } = stubClient(reproducible);
  const params: StageCacheParams = {
    client,
    run: deps.run,
    log: deps.log,
    store,
    keyContext: { df: plan.dockerfile, buildArgs: {}, files: new ContextFiles(plan.context), platforms: [] },
    stages: plan.cachedStages,
    file: plan.file,
    context: plan.context,
    buildArgs: [],
    secrets: [],
    platforms: [],
    tmp: mk('slipway-stage-tmp-'),
    now,
  };
  const result = await prepareCachedStages(params);
  const report = result.reports[0]!;
  const writes = registry.requests.filter((r) => r.method === 'POST' || r.method === 'PUT');
  return { report, targets, log: deps.log.lines, writes, tag: tagForKey(report.key) };
}

describe('the stage cache with the registry store', () => {
  it('cold: the stage builds and is pushed; warm on a fresh runner: pulled, verified, the stage does not run', async () => {
    const cold = await run('push');
    expect(cold.targets).toEqual(['builder']);
    expect(cold.report).toMatchObject({
      result: 'miss',
      stored: true,
      manifest: registry.tags.get(`${REPO}:${cold.tag}`),
    });
    expect(cold.report.pushed).toBe(cold.report.bytes + 2);

    const warm = await run('push');
    expect(warm.targets, 'the builder stage ran on a hit').toEqual([]);
    expect(warm.report).toMatchObject({
      result: 'hit',
      key: cold.report.key,
      pulled: cold.report.bytes,
      manifest: cold.report.manifest,
    });
    expect(warm.log).toContainEqual(
      expect.stringMatching(/^Stage cache hit for builder: restored \/out from the registry /),
    );
  });

  it('a tampered entry warns, the stage builds, and the rebuild replaces the entry under the same tag', async () => {
    const cold = await run('push');
    const layer = (registry.manifest(REPO, cold.tag)!.json.layers as Array<{ digest: string }>)[0]!.digest;
    registry.tamper(layer);
    const next = await run('push');
    expect(next.log).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^warning: Stage cache entry for builder from the registry ${host}/${REPO} does not match its digest \\(its manifest sha256:[0-9a-f]{64} names ${layer} .*\\): building the stage\\.$`,
        ),
      ),
    );
    expect(next.targets).toEqual(['builder']);
    expect(next.report).toMatchObject({ result: 'miss', stored: true });
    expect(next.report.manifest).not.toBe(cold.report.manifest);
    expect(registry.tags.get(`${REPO}:${cold.tag}`)).toBe(next.report.manifest);
  });

  it('a rebuild with the very bytes of a refused layer uploads them again instead of trusting the copy that failed', async () => {
    const cold = await run('push', true);
    const layer = (registry.manifest(REPO, cold.tag)!.json.layers as Array<{ digest: string }>)[0]!.digest;
    registry.tamper(layer);
    registry.requests.length = 0;
    const next = await run('push', true);
    expect(next.report).toMatchObject({ result: 'miss', stored: true, manifest: cold.report.manifest });
    expect(
      registry.requests.filter((r) => r.method === 'PUT' && r.url.includes('digest=')).map((r) => r.url),
    ).toEqual([expect.stringContaining(`digest=${encodeURIComponent(layer)}`)]);
    // This fake takes the new copy (a registry that keeps its first copy would be refused again).
    expect((await run('push', true)).report.result).toBe('hit');
  });

  it('a pull request reads a hit, and on a miss builds without pushing: no POST or PUT reaches the registry', async () => {
    const miss = await run('pull_request');
    expect(miss.targets).toEqual(['builder']);
    expect(miss.writes).toEqual([]);
    expect(registry.tags.size).toBe(0);
    expect(miss.report).toMatchObject({ result: 'miss', stored: false, note: READ_ONLY });
    expect(miss.log).toContainEqual(
      `Stage cache: builder is not pushed to the registry ${host}/${REPO}: ${READ_ONLY}.`,
    );

    await run('push');
    registry.requests.length = 0;
    const hit = await run('pull_request');
    expect(hit.report.result).toBe('hit');
    expect(hit.writes).toEqual([]);
  });
});

describe('which stage store', () => {
  it.each([
    ['auto', 'ghcr.io/a/c', true, 'registry'],
    ['auto', '', true, 'actions'],
    ['auto', '', false, 'local'],
    ['auto', 'ghcr.io/a/c', false, 'registry'],
    ['registry', 'ghcr.io/a/c', false, 'registry'],
    ['actions', 'ghcr.io/a/c', true, 'actions'],
    ['local', 'ghcr.io/a/c', true, 'local'],
  ] as const)(
    'cache-store %s, cache-registry "%s", Actions cache %s: %s',
    (choice, reference, cache, kind) => {
      expect(stageStoreKind(choice, cache ? memoryCache() : undefined, reference || undefined)).toBe(kind);
      const registryOptions = reference
        ? {
            repository: parseCacheRegistry('cache-registry', reference),
            dir: '/x',
            deps: fakeDeps([], { fetch: async () => Promise.reject(new Error('no')) }),
          }
        : undefined;
      expect(chooseStore(choice, '/x', cache ? memoryCache() : undefined, {}, registryOptions).kind).toBe(
        kind,
      );
    },
  );

  it('cache-store: registry without cache-registry is one line, before anything runs', async () => {
    const context = mk('slipway-stage-ctx-');
    writeFileSync(join(context, 'Dockerfile'), DOCKERFILE);
    const deps = fakeDeps([]);
    const built = buildImage(options(context, { cacheRegistry: '' }), deps);
    await expect(built).rejects.toThrow(UserError);
    await expect(built).rejects.toThrow(
      /^cache-store: registry needs "cache-registry": set it to a repository of your registry, e\.g\. ghcr\.io\/acme\/slipway-cache\.$/,
    );
    expect(deps.run.calls).toEqual([]);
  });

  it('a bad cache-registry is one line too, and a token given is masked first', async () => {
    const context = mk('slipway-stage-ctx-');
    writeFileSync(join(context, 'Dockerfile'), DOCKERFILE);
    const deps = fakeDeps([]);
    const built = buildImage(
      options(context, { cacheRegistry: 'ghcr.io/acme/cache:v1', cacheRegistryToken: 'tok-canary' }),
      deps,
    );
    await expect(built).rejects.toThrow(
      /^Input "cache-registry" is "ghcr\.io\/acme\/cache:v1": give the repository without a tag or digest/,
    );
    expect(deps.log.secrets).toEqual(['tok-canary']);
  });
});

describe('the Stage cache section of the summary', () => {
  const engine: Engine = {
    kind: 'docker',
    bin: 'docker',
    clientVersion: '28',
    serverVersion: '28',
    buildx: false,
    buildkit: true,
    builder: 'buildkit',
  } as unknown as Engine;
  const stage = (extra: Partial<StageReport>): StageReport => ({
    stage: 'builder',
    key: 'slipway-stage-builder-abc',
    bucket: '2026-12',
    result: 'hit',
    bytes: 262_144,
    seconds: 1.5,
    ...extra,
  });
  const summary = (stages: StageReport[], readOnly?: string) =>
    buildSummary({
      image: 'app:dev',
      imageId: 'sha256:1234567890ab',
      references: ['app:dev'],
      digest: '',
      steps: { cached: 0, total: 0 },
      durationSeconds: 3,
      engine,
      stageCache: stages,
      stageStore: { kind: 'registry', location: 'the registry 127.0.0.1:5000/cache', readOnly },
      pushed: false,
    });

  it('names the store, and per stage the bytes pulled or pushed and the manifest digest', () => {
    const manifest = `sha256:${'e'.repeat(64)}`;
    const text = summary([
      stage({ pulled: 262_144, manifest }),
      stage({ stage: 'tools', result: 'miss', stored: true, pushed: 262_146, manifest }),
    ]);
    expect(text).toContain('Store: the registry 127.0.0.1:5000/cache.');
    expect(text).toContain('| Stage | Result | Key | Artifact | Registry | Time |');
    expect(text).toContain(
      `| ✅ hit | \`slipway-stage-builder-abc\` | 262 KB | pulled 262 KB, \`${manifest}\` | 1.5 s |`,
    );
    expect(text).toContain(
      `| ⬜ miss (stored) | \`slipway-stage-builder-abc\` | 262 KB | pushed 262 KB, \`${manifest}\` |`,
    );
  });

  it('on a pull request: read only, and a miss says it was not stored and why', () => {
    const text = summary([stage({ result: 'miss', stored: false, note: READ_ONLY })], READ_ONLY);
    expect(text).toContain(`Store: the registry 127.0.0.1:5000/cache (read only: ${READ_ONLY}).`);
    expect(text).toContain(
      `| ⬜ miss (not stored): ${READ_ONLY} | \`slipway-stage-builder-abc\` | 262 KB | – |`,
    );
  });
});
