import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/lib/core/bytes.js';
import { ActionsCacheService } from '../../tools/actions-cache/server.js';
import { DEBIAN_IMAGE, DOCKER, REGISTRY, docker, forgetImages, requireEngine } from '../harness/docker.js';
import { FreshRunners } from '../harness/fresh-runner.js';
import { copyFixture, errorLines, runAction, type ActionRun } from '../harness/runner.js';

const IMAGE = 'slipway-e2e/registry-cache';
const MARKER = 'SLIPWAY_FIXTURE_BUILDER_RAN';
/** A repository of its own per run, so the first build is cold whatever earlier runs pushed. */
const REPO = `slipway-e2e/stage-cache-${randomBytes(4).toString('hex')}`;
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface StageOutput {
  stage: string;
  key: string;
  result: string;
  bytes: number;
  stored?: boolean;
  pulled?: number;
  pushed?: number;
  manifest?: string;
  note?: string;
}

/** What the test reads of an entry's manifest. */
interface Manifest {
  layers: Array<{ mediaType: string; digest: string; size: number }>;
  [field: string]: unknown;
}

/** The tag of a key's entry, as the registry store derives it: the sha256 of the key. */
const tagOf = (key: string) => `slipway-stage-${createHash('sha256').update(key).digest('hex')}`;

/** The registry's own API (the distribution API of Debian's docker-registry at 127.0.0.1:5000). */
const api = (path: string, init: RequestInit = {}) => fetch(`http://${REGISTRY}/v2/${REPO}/${path}`, init);

async function manifestOf(tag: string): Promise<{ digest: string; json: Manifest } | undefined> {
  const res = await api(`manifests/${tag}`, { headers: { Accept: MANIFEST } });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(MANIFEST);
  const bytes = Buffer.from(await res.arrayBuffer());
  const digest = res.headers.get('docker-content-digest')!;
  expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(digest);
  return { digest, json: JSON.parse(bytes.toString('utf8')) as Manifest };
}

/**
 * Where Debian's docker-registry keeps a blob's bytes: the filesystem driver's
 * <rootdirectory>/docker/registry/v2/blobs/sha256/<2>/<64>/data, with the root read from the config
 * scripts/setup-engine.sh wrote. Undefined when this machine's registry is set up otherwise.
 */
function blobFile(digest: string): string | undefined {
  const config = join(process.env.SLIPWAY_STATE_DIR || '/var/lib/slipway', 'registry.yml');
  if (!existsSync(config)) return undefined;
  const root = /rootdirectory:\s*(\S+)/.exec(readFileSync(config, 'utf8'))?.[1];
  const hex = digest.slice('sha256:'.length);
  const file = root && join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
  return file && existsSync(file) ? file : undefined;
}

/**
 * build-image's registry stage store against the real registry at 127.0.0.1:5000, run as the runner
 * runs the bundle, each build on a fresh runner: no images, no build cache (forgetImages), an empty
 * local store and RUNNER_TEMP, and an Actions cache service that is there but must stay unused
 * (cache-store: auto picks the registry when cache-registry is set). Only the registry remembers.
 */
describe('the registry stage store, end to end against the local registry', () => {
  const actionsCache = new ActionsCacheService();
  const runners = new FreshRunners('e2e-registry-cache');
  let ctx: string;
  const explain = (r: ActionRun) =>
    `exit ${r.code}; errors: ${errorLines(r).join(' | ')}\n${r.log.slice(-3000)}`;
  const warnings = (r: ActionRun) => r.stdout.split('\n').filter((l) => l.startsWith('::warning'));
  const stage = (r: ActionRun) => (JSON.parse(r.outputs['stage-cache'] ?? '[]') as StageOutput[])[0]!;
  const build = (env: Record<string, string> = {}) => {
    forgetImages(IMAGE);
    const store = runners.start();
    return runAction(
      'build-image',
      {
        image: IMAGE,
        // Its own builder layers: actions-cache runs beside this file with BUILDER_SECONDS=3, and a
        // cold build of either must not be warmed by the other's build cache.
        'build-args': `BASE_IMAGE=${DEBIAN_IMAGE}\nBUILDER_SECONDS=4`,
        'cache-dir': store,
        'cache-registry': `${REGISTRY}/${REPO}`,
        network: 'host',
      },
      {
        cwd: ctx,
        env: {
          SLIPWAY_DOCKER: DOCKER,
          GITHUB_WORKSPACE: ctx,
          RUNNER_TEMP: runners.runnerTemp,
          GITHUB_EVENT_NAME: 'push',
          GITHUB_REF: 'refs/heads/main',
          ...actionsCache.runtime(),
          ...env,
        },
      },
    );
  };

  beforeAll(async () => {
    requireEngine();
    ctx = copyFixture('slow-builder');
    await actionsCache.start();
  });
  afterAll(async () => {
    // The entries this run pushed (the registry keeps unreferenced blobs until it is collected).
    const listed = await api('tags/list').then((res) =>
      res.ok ? (res.json() as Promise<{ tags?: string[] }>) : {},
    );
    for (const tag of (listed as { tags?: string[] }).tags ?? []) {
      const digest = (await manifestOf(tag))?.digest;
      if (digest) await api(`manifests/${digest}`, { method: 'DELETE' });
    }
    forgetImages(IMAGE);
    await actionsCache.stop();
    runners.cleanup();
    rmSync(ctx, { recursive: true, force: true });
  });

  let cold: StageOutput;
  let pushedManifest: { digest: string; json: Manifest };

  it('a cold build runs the builder stage and pushes its outputs as an OCI artifact tagged by the key', async () => {
    const r = await build();
    expect(r.code, explain(r)).toBe(0);
    expect(r.log).toContain(MARKER);
    expect(r.log).toContain(`::group::Stage cache (the registry ${REGISTRY}/${REPO})`);
    cold = stage(r);
    expect(cold).toMatchObject({ stage: 'builder', result: 'miss', stored: true });
    expect(warnings(r)).toEqual([]);

    // The registry's own API: the tag, the manifest and the blob, as the OCI specs describe them.
    const tags = (await (await api('tags/list')).json()) as { tags: string[] };
    expect(tags.tags).toEqual([tagOf(cold.key)]);
    pushedManifest = (await manifestOf(tagOf(cold.key)))!;
    expect(cold.manifest).toBe(pushedManifest.digest);
    const { json } = pushedManifest;
    expect(json).toMatchObject({
      schemaVersion: 2,
      mediaType: MANIFEST,
      artifactType: 'application/vnd.slipway.stage.v1',
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
      },
      annotations: { 'io.slipway.stage.key': cold.key, 'io.slipway.stage.name': 'builder' },
    });
    expect(json.layers).toHaveLength(1);
    expect(json.layers[0]).toMatchObject({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      size: cold.bytes,
    });
    const blob = await api(`blobs/${json.layers[0]!.digest}`);
    const bytes = Buffer.from(await blob.arrayBuffer());
    expect(bytes.length).toBe(cold.bytes);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(json.layers[0]!.digest);
    expect(cold.pushed).toBe(cold.bytes + 2);
    expect(r.summary).toContain(`Store: the registry ${REGISTRY}/${REPO}.`);
    expect(r.summary).toContain(`pushed ${formatBytes(cold.pushed!)}, \`${pushedManifest.digest}\``);
    expect(actionsCache.entries, 'auto with cache-registry must not use the Actions cache').toEqual([]);
  });

  it('a fresh runner with empty local and Actions stores restores from the registry: the builder stage does not run', async () => {
    const r = await build();
    expect(r.code, explain(r)).toBe(0);
    expect(r.log, 'the builder stage ran although the registry had its outputs').not.toContain(MARKER);
    expect(stage(r)).toMatchObject({
      result: 'hit',
      key: cold.key,
      pulled: cold.bytes,
      manifest: pushedManifest.digest,
    });
    expect(r.log).toContain('Stage cache hit for builder: restored /out from the registry');
    expect(r.summary).toContain(`| \`builder\` | ✅ hit | \`${cold.key}\` |`);
    expect(r.summary).toContain(`| pulled ${formatBytes(cold.bytes)}, \`${pushedManifest.digest}\` |`);
    expect(docker(['run', '--rm', '--network', 'host', r.outputs.image!])).toContain(
      'tool: built by the builder stage',
    );
    expect(warnings(r)).toEqual([]);
    expect(actionsCache.entries).toEqual([]);
  });

  it('a tampered artifact (the blob changed under the same tag) is refused with a warning, the stage builds and the entry is replaced', async (t) => {
    const layer = pushedManifest.json.layers[0]!.digest;
    const file = blobFile(layer);
    if (!file) {
      t.skip(
        "the registry's storage is not where scripts/setup-engine.sh puts it: cannot tamper with a blob",
      );
      return;
    }
    // Same length, other bytes: what damaged storage serves (the API itself refuses a wrong digest on upload).
    const bytes = readFileSync(file);
    for (let i = 0; i < bytes.length; i += 101) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(file, bytes);
    expect(statSync(file).size).toBe(cold.bytes);

    const r = await build();
    expect(r.code, explain(r)).toBe(0);
    expect(warnings(r)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::warning::Stage cache entry for builder from the registry ${REGISTRY}/${REPO} does not match its digest \\(its manifest ${pushedManifest.digest} names ${layer} \\(\\d+ bytes\\), the registry sent sha256:[0-9a-f]{64} \\(\\d+ bytes\\)\\): building the stage\\.$`,
        ),
      ),
    ]);
    expect(r.log).toContain(MARKER);
    expect(stage(r)).toMatchObject({ result: 'miss', stored: true });
    const replaced = (await manifestOf(tagOf(cold.key)))!;
    expect(replaced.digest).toBe(stage(r).manifest);
    expect(replaced.json.layers[0]!.digest).not.toBe(layer);

    const after = await build();
    expect(stage(after).result, explain(after)).toBe('hit');
    expect(after.log).not.toContain(MARKER);
  });

  it('a pull_request run reads the registry but never writes it', async () => {
    const pr = { GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/7/merge' };
    const hit = await build(pr);
    expect(hit.code, explain(hit)).toBe(0);
    expect(stage(hit).result).toBe('hit');
    expect(hit.log).toContain(
      `Stage cache: the registry ${REGISTRY}/${REPO} is read, never written: pull requests read the registry cache and never write it.`,
    );

    writeFileSync(join(ctx, 'tool', 'tool.sh'), '#!/bin/sh\necho "tool: changed on a branch"\n');
    try {
      const before = (await (await api('tags/list')).json()) as { tags: string[] };
      const miss = await build(pr);
      expect(miss.code, explain(miss)).toBe(0);
      expect(miss.log).toContain(MARKER);
      expect(stage(miss)).toMatchObject({ result: 'miss', stored: false });
      expect(stage(miss).key).not.toBe(cold.key);
      expect(miss.log).toContain(`Stage cache: builder is not pushed to the registry ${REGISTRY}/${REPO}`);
      expect(miss.summary).toContain('(read only: pull requests read the registry cache and never write it)');
      expect(miss.summary).toContain('⬜ miss (not stored)');
      expect(await manifestOf(tagOf(stage(miss).key)), 'the pull request pushed an entry').toBeUndefined();
      const after = (await (await api('tags/list')).json()) as { tags: string[] };
      expect(after.tags).toEqual(before.tags);
      expect(docker(['run', '--rm', '--network', 'host', miss.outputs.image!])).toContain(
        'tool: changed on a branch',
      );
    } finally {
      writeFileSync(join(ctx, 'tool', 'tool.sh'), '#!/bin/sh\necho "tool: built by the builder stage"\n');
    }
  });

  it('cache-store: registry without cache-registry fails in one line before building', async () => {
    const r = await runAction(
      'build-image',
      { image: IMAGE, 'cache-store': 'registry', network: 'host' },
      { cwd: ctx, env: { SLIPWAY_DOCKER: DOCKER } },
    );
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([
      'cache-store: registry needs "cache-registry": set it to a repository of your registry, e.g. ghcr.io/acme/slipway-cache.',
    ]);
    expect(r.log).not.toContain('docker build');
  });
});
