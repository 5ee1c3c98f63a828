import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtendedHealth as Doc } from '../../../deploy/loa-identity/src/health.js';
import { extendedHealthProblems } from '../../../src/lib/health/schema.js';
import { docker, requireEngine } from '../../harness/docker.js';
import {
  cleanupLabelled,
  createVolume,
  getJson,
  LABEL,
  logs,
  removeContainers,
  startContainer,
  waitFor,
} from '../../harness/containers.js';
import { buildCore, buildDev, CORE_IMAGE, DEV_IMAGE } from '../../harness/images.js';
import { ROOT } from '../../harness/runner.js';

const MANIFESTS = join(ROOT, 'test/fixtures/manifests');
const CORE = `${CORE_IMAGE}:latest`;
const extended = async (port: number) => (await getJson(port, '/health/extended')).body as Doc;
const state = (volume: string) =>
  JSON.parse(
    docker([
      'run',
      '--rm',
      '--pull',
      'never',
      '--network',
      'none',
      '-v',
      `${volume}:/data`,
      '--entrypoint',
      'cat',
      CORE,
      '/data/tools/loader-state.json',
    ]),
  ) as {
    tools: Record<string, { status: string; attempts: number }>;
  };

describe('deploy/: the reference system on the real engine', () => {
  const tmp: string[] = [];
  let port = 18800;
  const next = () => ++port;

  beforeAll(async () => {
    requireEngine();
    cleanupLabelled();
    await buildCore();
  });
  afterAll(() => {
    cleanupLabelled();
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  /** The core image with a test manifest mounted and a named /data volume. */
  const core = (name: string, manifest: string, volume: string, env: Record<string, string> = {}) =>
    startContainer({
      name,
      image: CORE,
      port: current(),
      volumes: [`${volume}:/data`, `${MANIFESTS}:/manifests:ro`],
      env: {
        LOA_TOOL_MANIFEST: `/manifests/${manifest}`,
        LOA_TOOL_RETRY_BASE_MS: '100',
        LOA_VERSION_ID: 'e2e-1',
        LOA_COMMIT: 'abc1234',
        ...env,
      },
    });
  let currentPort = 0;
  const current = () => currentPort;

  it('the core image is non-root, exposes 18789, has a HEALTHCHECK, and carries only the core tools', () => {
    const cfg = JSON.parse(docker(['image', 'inspect', '--format', '{{json .Config}}', CORE])) as {
      User: string;
      ExposedPorts: Record<string, unknown>;
      Healthcheck?: { Test: string[] };
      Env: string[];
    };
    expect(cfg.User).toBe('1000');
    expect(Object.keys(cfg.ExposedPorts)).toEqual(['18789/tcp']);
    expect(cfg.Healthcheck?.Test.join(' ')).toContain('/health');
    expect(cfg.Env).toContain('LOA_TOOL_DIR=/data/tools');
    const probe = docker([
      'run',
      '--rm',
      '--pull',
      'never',
      '--network',
      'none',
      '--entrypoint',
      'sh',
      CORE,
      '-c',
      'for c in node jq git rg rustc cargo python3; do command -v $c >/dev/null && echo "$c yes" || echo "$c no"; done; stat -c %u /data/tools; test -d ~/.cargo && echo cargo-home || true',
    ]);
    expect(probe.split('\n')).toEqual([
      'node yes',
      'jq yes',
      'git yes',
      'rg yes',
      'rustc no',
      'cargo no',
      'python3 no',
      '1000',
    ]);
  });

  it('starts, answers /health at once, and goes from degraded to healthy as the manifest installs', async () => {
    currentPort = next();
    const vol = createVolume('slipway-e2e-loa-data-1');
    core('slipway-e2e-loa-1', 'two-tools.json', vol);
    await waitFor(
      '/health',
      () => getJson(currentPort, '/health'),
      (r) => r.code === 200,
      { timeoutMs: 10_000 },
    );
    expect((await getJson(currentPort, '/health')).body).toEqual({ status: 'ok' });
    const statuses: string[] = [];
    const problems: string[] = [];
    const done = await waitFor(
      'healthy',
      () => extended(currentPort),
      (d) => d.status === 'healthy',
      {
        timeoutMs: 30_000,
        seen: (d) => {
          statuses.push(`${d.status}:${Object.values(d.tools.status).join(',')}`);
          problems.push(...extendedHealthProblems(d));
        },
      },
    );
    expect(problems, 'every document must validate against the schema').toEqual([]);
    expect(
      statuses.some((s) => s.startsWith('degraded:installing') || s.startsWith('degraded:pending')),
    ).toBe(true);
    expect(done).toMatchObject({
      version: { id: 'e2e-1', commit: 'abc1234' },
      tools: { loading: false, complete: true, status: { 'base-tool': 'installed', search: 'installed' } },
      capabilities: { semanticSearch: true, taskGraph: false, memoryStack: false },
    });
    const log = logs('slipway-e2e-loa-1');
    expect(log).toMatch(/\[loa\] .* tool base-tool: pending/);
    expect(log).toMatch(/\[loa\] .* tool loader running \(pid \d+\)/);
    for (const line of log.trim().split('\n'))
      expect(line, 'every log line is one [loa] event').toMatch(/^\[loa\] /);
  });

  it('restarted with the same /data volume, reinstalls nothing', async () => {
    docker(['restart', '-t', '5', 'slipway-e2e-loa-1']);
    await waitFor(
      'healthy again',
      () => extended(currentPort),
      (d) => d.status === 'healthy' && d.tools.complete,
      { timeoutMs: 20_000 },
    );
    await waitFor(
      'loader finished',
      async () => logs('slipway-e2e-loa-1'),
      (l) => (l.match(/tool loader finished/g) ?? []).length >= 2,
    );
    const log = logs('slipway-e2e-loa-1');
    const afterRestart = log.slice(log.lastIndexOf('starting LOA core'));
    expect(afterRestart).toMatch(/tool base-tool: installed/);
    expect(afterRestart).toMatch(/tool base-tool already installed \(check passed\), skipping/);
    expect(afterRestart).not.toMatch(/installing \(try/);
    const s = state('slipway-e2e-loa-data-1');
    expect(s.tools['base-tool']).toMatchObject({ status: 'installed', attempts: 1 });
    expect(
      docker(['exec', 'slipway-e2e-loa-1', 'cat', '/data/tools/base-tool.installs']).split('\n'),
    ).toHaveLength(1);
  });

  it('stops promptly and cleanly on docker stop (signals reach the gateway)', () => {
    const t0 = Date.now();
    docker(['stop', '-t', '10', 'slipway-e2e-loa-1']);
    const seconds = (Date.now() - t0) / 1000;
    expect(seconds, 'docker stop waited for its timeout: SIGTERM did not reach the gateway').toBeLessThan(5);
    expect(docker(['inspect', '--format', '{{.State.ExitCode}}', 'slipway-e2e-loa-1'])).toBe('0');
    expect(logs('slipway-e2e-loa-1')).toMatch(/gateway stopping \(SIGTERM\)/);
  });

  it('a tool whose install always fails ends failed after 3 tries with backoff, its dependents blocked, the gateway serving', async () => {
    currentPort = next();
    core('slipway-e2e-loa-2', 'failing.json', createVolume('slipway-e2e-loa-data-2'));
    const d = await waitFor(
      'loading complete',
      () => extended(currentPort),
      (x) => x.tools?.complete === true,
      { timeoutMs: 30_000 },
    );
    expect(d.status).toBe('degraded');
    expect(d.tools.status).toEqual({ toolchain: 'failed', graph: 'blocked', memory: 'installed' });
    expect(d.tools.errors).toEqual({
      toolchain: 'install exited 6: cannot reach the toolchain mirror',
      graph: 'needs toolchain, which did not install',
    });
    expect(d.capabilities).toEqual({ semanticSearch: false, taskGraph: false, memoryStack: true });
    expect(extendedHealthProblems(d)).toEqual([]);
    expect((await getJson(currentPort, '/health')).code).toBe(200);
    const log = logs('slipway-e2e-loa-2');
    expect(log).toMatch(/toolchain try 1\/3 failed .*retrying in 100 ms/);
    expect(log).toMatch(/toolchain try 2\/3 failed .*retrying in 200 ms/);
    expect(log).toMatch(/tool toolchain failed after 3 tries/);
    expect(state('slipway-e2e-loa-data-2').tools.toolchain).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('a dependency cycle is reported by name, is not retried, and the gateway keeps serving', async () => {
    currentPort = next();
    core('slipway-e2e-loa-3', 'cycle.json', createVolume('slipway-e2e-loa-data-3'));
    await waitFor(
      'cycle reported',
      async () => logs('slipway-e2e-loa-3'),
      (l) => l.includes('not restarting'),
      { timeoutMs: 15_000 },
    );
    const log = logs('slipway-e2e-loa-3');
    expect(log).toContain('dependency cycle between tools: alpha -> gamma -> beta -> alpha');
    expect(log.match(/tool loader running/g)).toHaveLength(1);
    expect((await getJson(currentPort, '/health')).code).toBe(200);
    const d = await extended(currentPort);
    expect(d.status).toBe('degraded');
    expect(d.reasons?.join(' ')).toContain('dependency cycle between tools: alpha -> gamma -> beta -> alpha');
  });

  it('a killed loader is restarted by the supervisor and finishes the job', async () => {
    currentPort = next();
    core('slipway-e2e-loa-4', 'slow.json', createVolume('slipway-e2e-loa-data-4'));
    const pid = await waitFor(
      'loader pid',
      async () => docker(['exec', 'slipway-e2e-loa-4', 'cat', '/data/tools/loader.pid'], { allowFail: true }),
      (p) => /^\d+$/.test(p),
    );
    await waitFor(
      'installing',
      () => extended(currentPort),
      (d) => d.tools.status['slow-tool'] === 'installing',
    );
    docker(['exec', 'slipway-e2e-loa-4', 'sh', '-c', `kill -9 ${pid}`]);
    await waitFor(
      'restart logged',
      async () => logs('slipway-e2e-loa-4'),
      (l) => /tool loader exited with 137; restarting/.test(l),
      { timeoutMs: 10_000 },
    );
    const d = await waitFor(
      'healthy after the restart',
      () => extended(currentPort),
      (x) => x.status === 'healthy',
      { timeoutMs: 30_000 },
    );
    expect(d.tools.status).toEqual({ 'slow-tool': 'installed' });
    const newPid = docker(['exec', 'slipway-e2e-loa-4', 'cat', '/data/tools/loader.pid']);
    expect(newPid).not.toBe(pid);
  });

  it('a truncated state file is set aside and state rebuilt from the checks, without reinstalling', async () => {
    docker([
      'exec',
      'slipway-e2e-loa-4',
      'sh',
      '-c',
      'head -c 40 /data/tools/loader-state.json > /tmp/t && cat /tmp/t > /data/tools/loader-state.json',
    ]);
    docker(['restart', '-t', '5', 'slipway-e2e-loa-4']);
    await waitFor(
      'recovered',
      async () => logs('slipway-e2e-loa-4'),
      (l) => (l.match(/tool loader finished/g) ?? []).length >= 1 && /set aside as/.test(l),
      { timeoutMs: 20_000 },
    );
    const log = logs('slipway-e2e-loa-4');
    expect(log).toMatch(
      /warning: tool state \/data\/tools\/loader-state\.json was set aside as .*\.corrupt-.*: it is not valid JSON/,
    );
    expect(state('slipway-e2e-loa-data-4').tools['slow-tool']).toMatchObject({ status: 'installed' });
    expect(
      docker(['exec', 'slipway-e2e-loa-4', 'cat', '/data/tools/slow-tool.installs']).split('\n'),
    ).toHaveLength(2); // the killed try and the restart's, none after
    expect((await extended(currentPort)).status).toBe('healthy');
  });

  it('without a mounted /data it warns that tools will not persist, and still serves', async () => {
    currentPort = next();
    startContainer({
      name: 'slipway-e2e-loa-5',
      image: CORE,
      port: currentPort,
      volumes: [`${MANIFESTS}:/manifests:ro`],
      env: { LOA_TOOL_MANIFEST: '/manifests/two-tools.json' },
    });
    await waitFor(
      '/health',
      () => getJson(currentPort, '/health'),
      (r) => r.code === 200,
      { timeoutMs: 10_000 },
    );
    expect(logs('slipway-e2e-loa-5')).toMatch(
      /warning: \/data is not a mounted volume; tools go to \/tmp\/loa-tools and will not persist/,
    );
    await waitFor(
      'healthy',
      () => extended(currentPort),
      (d) => d.status === 'healthy',
      { timeoutMs: 20_000 },
    );
  });

  it('LOA_DEFERRED_TOOLS=false: no loader, healthy at once', async () => {
    currentPort = next();
    startContainer({
      name: 'slipway-e2e-loa-6',
      image: CORE,
      port: currentPort,
      env: { LOA_DEFERRED_TOOLS: 'false' },
    });
    const d = await waitFor(
      'up',
      () => extended(currentPort),
      (x) => x.status !== undefined,
      { timeoutMs: 10_000 },
    );
    expect(d).toMatchObject({ status: 'healthy', tools: { loading: false, complete: true, status: {} } });
    expect(logs('slipway-e2e-loa-6')).toContain('deferred tools off (LOA_DEFERRED_TOOLS=false)');
    expect(logs('slipway-e2e-loa-6')).not.toContain('tool loader running');
    removeContainers(
      'slipway-e2e-loa-1',
      'slipway-e2e-loa-2',
      'slipway-e2e-loa-3',
      'slipway-e2e-loa-4',
      'slipway-e2e-loa-5',
      'slipway-e2e-loa-6',
    );
  });

  describe('dev loop: docker-compose.dev.yml', () => {
    let dir: string;
    let envFile: string;
    const project = 'slipwaye2edev';
    const compose = (...args: string[]) => {
      const r = spawnSync('docker-compose', ['-p', project, '-f', 'docker-compose.dev.yml', ...args], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          ...process.env,
          LOA_ENV_FILE: envFile,
          LOA_PORT: String(currentPort),
          LOA_CORE_IMAGE: CORE,
          LOA_DEV_IMAGE: `${DEV_IMAGE}:latest`,
          DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
        },
      });
      return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
    };

    beforeAll(async () => {
      await buildDev();
      currentPort = next();
      // A copy of deploy/: the test edits sources, never the repository's.
      dir = mkdtempSync(join(tmpdir(), 'slipway-dev-loop-'));
      tmp.push(dir);
      cpSync(join(ROOT, 'deploy'), dir, { recursive: true, filter: (s) => !/node_modules|\/dist$/.test(s) });
      cpSync(join(MANIFESTS, 'two-tools.json'), join(dir, 'config', 'test-tools.json'));
      envFile = join(dir, 'env.local');
      writeFileSync(
        envFile,
        'LOA_TOOL_MANIFEST=/app/config/test-tools.json\nLOA_TOOL_RETRY_BASE_MS=100\nLOA_VERSION_ID=dev\n',
      );
    });
    afterAll(() => {
      removeContainers('slipway-e2e-dev');
      compose('-f', 'docker-compose.host.yml', 'down', '--volumes');
    });

    it('passes docker-compose config, alone and with the host-network override', () => {
      const alone = compose('config');
      expect(alone.code, alone.out).toBe(0);
      expect(alone.out).toContain('mem_limit: 4g');
      expect(alone.out).toMatch(/\/app\/loa-identity:rw/);
      expect(alone.out).toMatch(/\/app\/config:ro/);
      expect(alone.out).toMatch(/loa-data:\/data/);
      expect(alone.out).toContain("BEAUVOIR_DEV_MODE: '1'");
      const host = compose('-f', 'docker-compose.host.yml', 'config');
      expect(host.code, host.out).toBe(0);
      expect(host.out).toContain('network_mode: host');
    });

    it('runs the dev container from it; editing a mounted .ts file changes what is served, without a rebuild', async () => {
      const imageBefore = docker(['image', 'inspect', '--format', '{{.Id}}', `${DEV_IMAGE}:latest`]);
      const up = compose(
        '-f',
        'docker-compose.host.yml',
        'run',
        '-d',
        '--name',
        'slipway-e2e-dev',
        '--label',
        LABEL,
        'loa',
      );
      expect(up.code, up.out).toBe(0);
      const first = await waitFor(
        'dev gateway',
        () => getJson(currentPort, '/'),
        (r) => r.code === 200,
        { timeoutMs: 20_000 },
      );
      expect((first.body as { message: string }).message).toContain('LOA gateway');
      expect(logs('slipway-e2e-dev')).toMatch(/BEAUVOIR_DEV_MODE=1/);

      const routes = join(dir, 'loa-identity', 'src', 'routes.ts');
      writeFileSync(
        routes,
        readFileSync(routes, 'utf8').replace(
          /export const GREETING = '[^']*';/,
          "export const GREETING = 'hot reloaded v2';",
        ),
      );
      await waitFor(
        'the edit served',
        () => getJson(currentPort, '/'),
        (r) => (r.body as { message?: string }).message === 'hot reloaded v2',
        { timeoutMs: 10_000 },
      );
      expect(logs('slipway-e2e-dev')).toMatch(
        /\[loa\] \d{4}-\d\d-\d\dT[\d:.]+Z gateway \(re\)started after a change/,
      );

      // A new file is picked up too: create it, use it, then change only it.
      writeFileSync(join(dir, 'loa-identity', 'src', 'feature.ts'), "export const FEATURE = 'feature v1';\n");
      await new Promise((r) => setTimeout(r, 500));
      writeFileSync(
        routes,
        readFileSync(routes, 'utf8').replace(
          "export const GREETING = 'hot reloaded v2';",
          "import { FEATURE } from './feature.js';\nexport const GREETING = `hot reloaded with ${FEATURE}`;",
        ),
      );
      await waitFor(
        'the new file served',
        () => getJson(currentPort, '/'),
        (r) => (r.body as { message?: string }).message === 'hot reloaded with feature v1',
        { timeoutMs: 10_000 },
      );
      writeFileSync(join(dir, 'loa-identity', 'src', 'feature.ts'), "export const FEATURE = 'feature v2';\n");
      await waitFor(
        "the new file's edit served",
        () => getJson(currentPort, '/'),
        (r) => (r.body as { message?: string }).message === 'hot reloaded with feature v2',
        { timeoutMs: 10_000 },
      );

      expect(docker(['image', 'inspect', '--format', '{{.Id}}', `${DEV_IMAGE}:latest`])).toBe(imageBefore);
      const d = await waitFor(
        'dev healthy',
        () => extended(currentPort),
        (x) => x.status === 'healthy',
        { timeoutMs: 20_000 },
      );
      expect(d.version.id).toBe('dev');
      const mem = docker(['inspect', '--format', '{{.HostConfig.Memory}}', 'slipway-e2e-dev']);
      expect(Number(mem)).toBe(4 * 1024 ** 3);
    });

    it('without entr (LOA_DEV_WATCHER=node) the Node watcher reloads, logging [loa] restarts', async () => {
      removeContainers('slipway-e2e-dev');
      currentPort = next();
      const up = compose(
        '-f',
        'docker-compose.host.yml',
        'run',
        '-d',
        '--name',
        'slipway-e2e-dev-node',
        '--label',
        LABEL,
        '-e',
        'LOA_DEV_WATCHER=node',
        'loa',
      );
      expect(up.code, up.out).toBe(0);
      try {
        await waitFor(
          'dev gateway',
          () => getJson(currentPort, '/'),
          (r) => r.code === 200,
          { timeoutMs: 20_000 },
        );
        expect(logs('slipway-e2e-dev-node')).toContain('watcher: node');
        writeFileSync(
          join(dir, 'loa-identity', 'src', 'feature.ts'),
          "export const FEATURE = 'node watcher';\n",
        );
        await waitFor(
          'the edit served',
          () => getJson(currentPort, '/'),
          (r) => (r.body as { message?: string }).message === 'hot reloaded with node watcher',
          { timeoutMs: 10_000 },
        );
        expect(logs('slipway-e2e-dev-node')).toMatch(
          /\[loa\] [\d-]+T[\d:.]+Z gateway \(re\)started after a change \(src\/feature\.ts\)/,
        );
      } finally {
        removeContainers('slipway-e2e-dev-node');
      }
    });

    it('the dev image adds under 100 MB to the core image', () => {
      const size = (i: string) => Number(docker(['image', 'inspect', '--format', '{{.Size}}', i]));
      expect(size(`${DEV_IMAGE}:latest`) - size(CORE)).toBeLessThan(100 * 1000 * 1000);
    });
  });
});
