import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, errorLines, runAction, visibleText, type ActionRun } from '../harness/runner.js';
import { DEBIAN_IMAGE, DOCKER, REGISTRY, docker, forgetImages, requireEngine } from '../harness/docker.js';

const IMAGE = 'slipway-e2e/fixture';
const MARKER = 'SLIPWAY_FIXTURE_BUILDER_RAN';

describe('build-image, end to end on the real engine through the bundle', () => {
  const tmp: string[] = [];
  let ctx: string;
  let store: string;
  const mk = (p: string) => {
    const d = mkdtempSync(join(tmpdir(), p));
    tmp.push(d);
    return d;
  };
  const build = (
    extra: Record<string, string> = {},
    env: Record<string, string | undefined> = {},
    cwd = ctx,
  ) =>
    runAction(
      'build-image',
      {
        image: IMAGE,
        'build-args': `BASE_IMAGE=${DEBIAN_IMAGE}\nBUILDER_SECONDS=6`,
        'cache-dir': store,
        network: 'host',
        ...extra,
      },
      { cwd, env: { SLIPWAY_DOCKER: DOCKER, GITHUB_REPOSITORY: 'slipway/fixture', ...env } },
    );
  const stageCache = (r: ActionRun) =>
    JSON.parse(r.outputs['stage-cache'] ?? '[]') as Array<{
      stage: string;
      key: string;
      result: string;
      bytes: number;
    }>;
  const explain = (r: ActionRun) =>
    `exit ${r.code}; errors: ${errorLines(r).join(' | ')}\n${r.log.slice(-3000)}`;

  beforeAll(() => {
    requireEngine();
    forgetImages(IMAGE);
    ctx = copyFixture('slow-builder');
    tmp.push(ctx);
    store = mk('slipway-store-');
  });
  afterAll(() => {
    forgetImages(IMAGE);
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  let coldKey = '';
  it('cold build runs the builder stage, stores its outputs and reports outputs and summary', async () => {
    const r = await build();
    expect(r.code, explain(r)).toBe(0);
    expect(r.log, 'the builder stage should have run on a cold build').toContain(MARKER);
    const sc = stageCache(r);
    expect(sc).toHaveLength(1);
    expect(sc[0]).toMatchObject({ stage: 'builder', result: 'miss' });
    expect(sc[0]!.bytes).toBeGreaterThan(0);
    coldKey = sc[0]!.key;
    expect(readdirSync(store)).toEqual([`${coldKey}.tar.gz`]);
    expect(statSync(join(store, `${coldKey}.tar.gz`)).size).toBe(sc[0]!.bytes);

    expect(r.outputs.image).toBe(`${IMAGE}:dev-local`);
    expect(r.outputs['image-id']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', r.outputs.image!])).toBe(r.outputs['image-id']);
    expect(Number(r.outputs['cache-hit-ratio'])).toBeGreaterThanOrEqual(0);
    expect(Number(r.outputs['duration-seconds'])).toBeGreaterThan(0);
    expect(r.outputs.digest).toBe('');
    expect(r.summary).toContain('#### Stage cache');
    expect(r.summary).toContain(coldKey);
    expect(r.summary).toContain(`\`${IMAGE}:dev-local\``);
    expect(r.stdout).toMatch(/::group::docker build/);
    // Nothing left behind: no temporary stage images.
    expect(
      docker(['image', 'ls', '-q', 'slipway-stage/*']) +
        docker(['image', 'ls', '-q', 'slipway-stage-build/*']),
    ).toBe('');
  });

  it('on a fresh daemon with only the store kept, a source-only change rebuilds without running the builder stage', async () => {
    forgetImages(IMAGE);
    writeFileSync(join(ctx, 'app', 'message.txt'), 'message: v2\n');
    const r = await build();
    expect(r.code, explain(r)).toBe(0);
    expect(r.log, 'the builder stage ran although its outputs were in the store').not.toContain(MARKER);
    const sc = stageCache(r);
    expect(sc[0]).toMatchObject({ stage: 'builder', result: 'hit', key: coldKey });
    const out = docker(['run', '--rm', '--network', 'host', r.outputs.image!]);
    expect(out).toContain('tool: built by the builder stage');
    expect(out).toContain('message: v2');
  });

  it("a change to the builder stage's own files misses and rebuilds it", async () => {
    writeFileSync(join(ctx, 'tool', 'tool.sh'), '#!/bin/sh\necho "tool: rebuilt"\n');
    const r = await build();
    expect(r.code, explain(r)).toBe(0);
    expect(r.log).toContain(MARKER);
    expect(stageCache(r)[0]!.result).toBe('miss');
    expect(stageCache(r)[0]!.key).not.toBe(coldKey);
    expect(docker(['run', '--rm', '--network', 'host', r.outputs.image!])).toContain('tool: rebuilt');
    writeFileSync(join(ctx, 'tool', 'tool.sh'), '#!/bin/sh\necho "tool: built by the builder stage"\n');
  });

  it('the classic builder (no BuildKit) restores the same entry and the image runs', async () => {
    forgetImages(IMAGE);
    const r = await build({}, { DOCKER_BUILDKIT: '0' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.log).toContain('the classic builder');
    expect(r.log).not.toContain(MARKER);
    expect(stageCache(r)[0]).toMatchObject({ result: 'hit', key: coldKey });
    expect(docker(['run', '--rm', '--network', 'host', r.outputs.image!])).toContain(
      'tool: built by the builder stage',
    );
    // The classic builder prints "Using cache" for steps it reuses: a second build is all cached.
    const again = await build({}, { DOCKER_BUILDKIT: '0' });
    expect(Number(again.outputs['cache-hit-ratio']), explain(again)).toBe(1);
  });

  it('a corrupt store entry warns, is replaced, and the build succeeds', async () => {
    const entry = join(store, `${coldKey}.tar.gz`);
    writeFileSync(entry, 'not a tar archive');
    const r = await build();
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/::warning::Stage cache entry for builder is unusable/);
    expect(r.log).toContain(MARKER);
    expect(stageCache(r)[0]).toMatchObject({ result: 'miss', key: coldKey });
    expect(statSync(entry).size).toBeGreaterThan(100);
  });

  it('a store that cannot be written warns and the build still succeeds', async () => {
    const blocker = join(mk('slipway-blocked-'), 'file');
    writeFileSync(blocker, 'a file where the store directory should be');
    const r = await build({ 'cache-dir': join(blocker, 'stages') });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/::warning::Stage cache: could not store builder/);
    expect(docker(['run', '--rm', '--network', 'host', r.outputs.image!])).toContain('message: v2');
  });

  it('a full store disk warns, leaves no partial entry, and the build still succeeds', async (t) => {
    const full = mk('slipway-full-');
    // A 64 KiB tmpfs cannot hold the ~260 KB entry. Needs root; say so rather than pass silently.
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]).status !== 0) {
      t.skip('cannot mount a tmpfs here (needs root)');
      return;
    }
    try {
      writeFileSync(join(ctx, 'tool', 'tool.sh'), '#!/bin/sh\necho "tool: full disk run"\n');
      const r = await build({ 'cache-dir': full });
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toMatch(/::warning::Stage cache: could not store builder in .*ENOSPC/);
      expect(readdirSync(full), 'no temporary or partial entry may stay behind').toEqual([]);
      expect(docker(['run', '--rm', '--network', 'host', r.outputs.image!])).toContain('tool: full disk run');
    } finally {
      spawnSync('umount', [full]);
      writeFileSync(join(ctx, 'tool', 'tool.sh'), '#!/bin/sh\necho "tool: built by the builder stage"\n');
    }
  });

  it('with cache-store: actions and no cache service, it warns and builds', async () => {
    const r = await build({ 'cache-store': 'actions' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(
      /::warning::Stage cache: could not read GitHub Actions cache for builder \(this job has no Actions cache service/,
    );
    expect(r.stdout).toMatch(/::warning::Stage cache: could not store builder in GitHub Actions cache/);
    expect(stageCache(r)[0]).toMatchObject({ result: 'miss' });
  });

  it('counts cached steps from BuildKit output: an unchanged rebuild is all cached', async () => {
    const r = await build();
    expect(r.code, explain(r)).toBe(0);
    expect(Number(r.outputs['cache-hit-ratio']), explain(r)).toBe(1);
    expect(r.summary).toMatch(/\| Cached steps \| (\d+) \/ \1 \(100%\) \|/);
  });

  it("a failing build step fails with the step's error in one line", async () => {
    const dir = copyFixture('slow-builder');
    tmp.push(dir);
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${DEBIAN_IMAGE}\nRUN echo about to fail && exit 3\n`);
    const r = await build({}, {}, dir);
    expect(r.code).toBe(1);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(
      /^The image build failed \(exit 1\): (?!#)\S.*exit code: 3.*\(full output in the "docker build" group above\)\.$/,
    );
  });

  it('a failing cached stage fails naming the stage, and stores nothing', async () => {
    const dir = copyFixture('slow-builder');
    tmp.push(dir);
    writeFileSync(
      join(dir, 'Dockerfile'),
      `# slipway:cache stage=builder outputs=/out\nFROM ${DEBIAN_IMAGE} AS builder\nRUN mkdir /out && exit 4\nFROM ${DEBIAN_IMAGE}\nCOPY --from=builder /out /out\n`,
    );
    const clean = mk('slipway-clean-store-');
    const r = await build({ 'cache-dir': clean }, {}, dir);
    expect(r.code).toBe(1);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(/^Building stage builder failed: .*exit code: 4/);
    expect(readdirSync(clean)).toEqual([]);
    expect(docker(['image', 'ls', '-q', 'slipway-stage-build/*'])).toBe('');
  });

  it("a build's output is shown, never obeyed: ::set-output and ::error:: lines from a RUN change nothing", async () => {
    const dir = mk('slipway-injection-');
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM ${DEBIAN_IMAGE}\nRUN echo "::set-output name=image::evil/image:pwned" && echo "::error::injected annotation"\n`,
    );
    // The classic builder prints a RUN's output as it is, at the start of a line.
    const r = await build({ image: 'slipway-e2e/injection' }, { DOCKER_BUILDKIT: '0' }, dir);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^::error::injected annotation$/m);
    expect(errorLines(r), 'an annotation was raised from the build output').toEqual([]);
    expect(r.outputs.image).toBe('slipway-e2e/injection:dev-local');
    docker(['image', 'rm', '-f', 'slipway-e2e/injection:dev-local'], { allowFail: true });
  });

  it('BuildKit secrets reach RUN --mount=type=secret and nothing else; build-arg values stay off the command line', async () => {
    const dir = mk('slipway-build-secrets-');
    const token = 'npm-token-build-secret-canary-5e1f';
    const greeting = 'build-arg-value-canary-93ab';
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM ${DEBIAN_IMAGE}\nARG GREETING\n` +
        `RUN --mount=type=secret,id=NPM_TOKEN test "$(cat /run/secrets/NPM_TOKEN)" = "${token.replace(/canary/, '"canary"')}" && echo seen > /secret-seen\n` +
        'RUN echo "$GREETING" > /greeting\n',
    );
    const image = 'slipway-e2e/build-secrets';
    // Debian's client drives the daemon's BuildKit (DOCKER_BUILDKIT=1); see ../shared/design.md.
    const r = await build(
      { image, secrets: `NPM_TOKEN=${token}`, 'build-args': `GREETING=${greeting}` },
      { SLIPWAY_DOCKER: '/usr/bin/docker' },
      dir,
    );
    try {
      expect(r.code, explain(r)).toBe(0);
      const ref = r.outputs.image!;
      const cat = (file: string) => docker(['run', '--rm', '--network', 'host', ref, 'cat', file]).trim();
      expect(cat('/secret-seen'), 'the secret did not reach the RUN that mounts it').toBe('seen');
      expect(cat('/greeting'), 'the build-arg did not reach the build').toBe(greeting);
      const history = docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', ref]);
      expect(history, 'the secret is in the image history').not.toContain(token);
      expect(visibleText(r), 'the secret is in the log, an output or the summary').not.toContain(token);
      const commandLines = r.log.split('\n').filter((line) => line.startsWith('[command]'));
      expect(commandLines.join('\n')).toContain('--build-arg GREETING ');
      expect(commandLines.join('\n'), 'a build-arg value is on the echoed command line').not.toContain(
        greeting,
      );
    } finally {
      docker(['image', 'rm', '-f', `${image}:dev-local`], { allowFail: true });
    }
  });

  it('the classic builder refuses secrets in one line, and never passes them as build-args', async () => {
    const dir = mk('slipway-build-secrets-classic-');
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${DEBIAN_IMAGE}\nRUN true\n`);
    const r = await build(
      { image: 'slipway-e2e/classic-secrets', secrets: 'NPM_TOKEN=classic-canary-77' },
      { DOCKER_BUILDKIT: '0' },
      dir,
    );
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([expect.stringMatching(/^Input "secrets" needs BuildKit/)]);
    expect(visibleText(r)).not.toContain('classic-canary-77');
  });

  it('pushes every tag and outputs the digest the registry serves', async () => {
    const image = `${REGISTRY}/slipway-e2e/pushed`;
    const r = await build({ image, push: 'true', tags: 'e2e' });
    try {
      expect(r.code, explain(r)).toBe(0);
      expect(r.outputs.tags!.split('\n')).toEqual([`${image}:dev-local`, `${image}:e2e`]);
      expect(r.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const res = await fetch(`http://${REGISTRY}/v2/slipway-e2e/pushed/manifests/e2e`, {
        method: 'HEAD',
        headers: {
          Accept:
            'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
        },
      });
      expect(res.headers.get('docker-content-digest')).toBe(r.outputs.digest);
    } finally {
      forgetImages(`${REGISTRY}/slipway-e2e/pushed`);
    }
  });

  it('tags a push to the default branch latest and sha-<7>, with OCI labels', async () => {
    const event = join(mk('slipway-event-'), 'event.json');
    writeFileSync(event, JSON.stringify({ repository: { default_branch: 'main' } }));
    const sha = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
    const r = await build(
      {},
      { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main', GITHUB_SHA: sha, GITHUB_EVENT_PATH: event },
    );
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs.tags!.split('\n')).toEqual([`${IMAGE}:latest`, `${IMAGE}:sha-a1b2c3d`]);
    const labels = JSON.parse(
      docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', `${IMAGE}:latest`]),
    ) as Record<string, string>;
    expect(labels['org.opencontainers.image.revision']).toBe(sha);
    expect(labels['org.opencontainers.image.source']).toBe('https://github.com/slipway/fixture');
    expect(labels['org.opencontainers.image.version']).toBe('sha-a1b2c3d');
    expect(Date.parse(labels['org.opencontainers.image.created']!)).toBeGreaterThan(0);
  });

  describe('bad input: one clear line, non-zero exit, nothing written to the store', () => {
    const cases: Array<
      [string, Record<string, string>, Record<string, string | undefined>, RegExp, ((d: string) => void)?]
    > = [
      [
        'missing Dockerfile',
        { file: 'nope/Dockerfile' },
        {},
        /No Dockerfile at .*nope\/Dockerfile: add one, or set "file"/,
      ],
      [
        'directive naming an unknown stage',
        {},
        {},
        /Dockerfile:\d+: slipway:cache names stage "compiler", which is not a stage/,
        (d) =>
          writeFileSync(
            join(d, 'Dockerfile'),
            `# slipway:cache stage=compiler outputs=/out\nFROM ${DEBIAN_IMAGE} AS builder\nRUN true\n`,
          ),
      ],
      [
        'directive on a stage nothing copies from',
        {},
        {},
        /no later stage takes anything from builder/,
        (d) =>
          writeFileSync(
            join(d, 'Dockerfile'),
            `# slipway:cache stage=builder outputs=/out\nFROM ${DEBIAN_IMAGE} AS builder\nRUN true\nFROM ${DEBIAN_IMAGE}\nRUN true\n`,
          ),
      ],
      [
        'malformed build-args',
        { 'build-args': 'BASE_IMAGE' },
        {},
        /Input "build-args" line 1 has no "=": write one KEY=VALUE per line/,
      ],
      [
        'unknown cache mode',
        { cache: 'turbo' },
        {},
        /Input "cache" is "turbo": use one of auto, stage, gha, registry, none/,
      ],
      ['gha cache without buildx', { cache: 'gha' }, {}, /cache: gha needs docker buildx/],
      [
        'daemon down',
        {},
        { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
        /The docker daemon does not answer .*: start it/,
      ],
      [
        'no engine at all',
        {},
        { SLIPWAY_DOCKER: '/nonexistent/docker' },
        /SLIPWAY_DOCKER is "\/nonexistent\/docker", which is not an executable/,
      ],
    ];
    it.each(cases)('%s', async (_name, inputs, env, message, prepare) => {
      const dir = copyFixture('slow-builder');
      tmp.push(dir);
      prepare?.(dir);
      const clean = mk('slipway-clean-store-');
      const r = await build({ ...inputs, 'cache-dir': clean }, env, dir);
      expect(r.code, explain(r)).toBe(1);
      const errors = errorLines(r);
      expect(errors, r.stdout).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      expect(errors[0]).not.toMatch(/\n\s+at /);
      expect(readdirSync(clean), 'the store must stay empty').toEqual([]);
    });
  });
});
