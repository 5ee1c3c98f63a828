import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE, DOCKER, docker, requireEngine } from '../harness/docker.js';
import { buildCore, buildFixture, CORE_IMAGE, NODE_IMAGE } from '../harness/images.js';
import {
  ACTION_NODE,
  ROOT,
  errorLines,
  runAction,
  workflowCommands,
  type ActionRun,
} from '../harness/runner.js';
import { runComposite } from '../../tools/local-runner/composite.js';
import { hostedRunner } from '../../tools/local-runner/hosted.js';

const CORE = `${CORE_IMAGE}:latest`;
const EXITS = 'slipway-e2e/exits:latest';
/** Any service: a node server on the default port answering 200 "ok" on one path, 404 elsewhere. */
const HEALTHZ = 'slipway-e2e/healthz-only:latest';
const ROOT_ONLY = 'slipway-e2e/root-only:latest';
const ONE_PATH_SERVER = `const path = process.env.OK_PATH;
require('node:http')
  .createServer((req, res) => {
    const ok = req.url === path;
    res.writeHead(ok ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(ok ? 'ok' : 'not found');
  })
  .listen(18789);
`;

/** Builds the one-path service FROM the bootstrapped Node image, on the host network. */
function buildOnePathService(tag: string, path: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-one-path-'));
  try {
    writeFileSync(join(dir, 'server.js'), ONE_PATH_SERVER);
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM ${NODE_IMAGE}\nARG OK_PATH\nENV OK_PATH=$OK_PATH\nCOPY server.js /app/server.js\nUSER 1000\nCMD ["node", "/app/server.js"]\n`,
    );
    docker(['build', '-q', '--network', 'host', '--build-arg', `OK_PATH=${path}`, '-t', tag, dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const explain = (r: ActionRun) =>
  `exit ${r.code}; errors: ${errorLines(r).join(' | ')}\n${r.log.slice(-2500)}`;
const bootContainers = () => docker(['ps', '-aq', '--filter', 'label=slipway.boot-test']);

describe('boot-test, end to end through the bundle', () => {
  let reports: string;
  const boot = (inputs: Record<string, string>, opts: { timeoutMs?: number } = {}) =>
    runAction('boot-test', { network: 'host', ...inputs }, { env: { SLIPWAY_DOCKER: DOCKER }, ...opts });

  beforeAll(async () => {
    requireEngine();
    reports = mkdtempSync(join(tmpdir(), 'slipway-boot-reports-'));
    await buildCore();
    buildFixture('exits', EXITS, { BASE_IMAGE: DEBIAN_IMAGE });
    buildOnePathService(HEALTHZ, '/healthz');
    buildOnePathService(ROOT_ONLY, '/');
  });
  afterAll(() => {
    docker(['image', 'rm', '-f', EXITS, HEALTHZ, ROOT_ONLY], { allowFail: true });
    rmSync(reports, { recursive: true, force: true });
  });

  it('the core image boots under production limits and reports its boot time and health', async () => {
    const r = await boot({
      image: CORE,
      health: 'extended',
      port: '18880',
      env: 'PORT=18880\nLOA_DEFERRED_TOOLS=false\nAPI_TOKEN=never-print-this-7f3a',
    });
    expect(r.code, explain(r)).toBe(0);
    expect(Number(r.outputs['boot-seconds'])).toBeGreaterThan(0);
    expect(Number(r.outputs['boot-seconds'])).toBeLessThan(30);
    expect(r.outputs.status).toBe('healthy');
    expect(JSON.parse(r.outputs.health!)).toMatchObject({ status: 'healthy', tools: { complete: true } });
    expect(r.summary).toMatch(/✅ healthy in [\d.]+ s/);
    expect(r.stdout).toContain('::add-mask::never-print-this-7f3a');
    expect(r.stdout.replace('::add-mask::never-print-this-7f3a', '')).not.toContain('never-print-this-7f3a');
    expect(bootContainers()).toBe('');
  });

  it('a service with only GET /healthz → 200 ok passes with health-path /healthz, every other input at its default', async () => {
    const r = await boot({ image: HEALTHZ, 'health-path': '/healthz' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'ok', health: '' });
    expect(Number(r.outputs['boot-seconds'])).toBeGreaterThan(0);
    expect(r.summary).toMatch(/✅ ok in [\d.]+ s/);
    expect(r.summary).toContain('| Health | `/healthz` (basic) answered **ok** after');
    expect(bootContainers()).toBe('');
  });

  it('a service answering / and nothing else passes with no input but the image', async () => {
    const r = await boot({ image: ROOT_ONLY });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'ok', health: '' });
    expect(r.summary).toContain('| Health | `/` (basic) answered **ok** after');
    expect(bootContainers()).toBe('');
  });

  it("with instance-type lite it boots under lite's 256 MiB and 1/16 vCPU, and the summary says so", async () => {
    const r = await boot({ image: ROOT_ONLY, 'instance-type': 'lite', timeout: '60s' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.summary).toContain('| Limits | memory 256m, cpus 0.0625 (instance type lite), pids 256,');
    expect(bootContainers()).toBe('');
  });

  it('by default the /healthz-only service is asked on /: its 404 is waited on, then the timeout names it', async () => {
    const r = await boot({ image: HEALTHZ, timeout: '3s' });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([
      expect.stringMatching(
        /^No accepted answer from http:\/\/127\.0\.0\.1:18789\/ within 3 s \(\d+ attempts; last: HTTP 404\): check that the image listens on port 18789 and serves \/\. /,
      ),
    ]);
    expect(bootContainers()).toBe('');
  });

  it('an image whose server exits fails in under 5 s with its exit code and log lines', async () => {
    const t0 = Date.now();
    const r = await boot({ image: EXITS, timeout: '60s' });
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code).toBe(1);
    expect(seconds).toBeLessThan(5);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(
      /^The container of slipway-e2e\/exits:latest exited with code 3 after [\d.]+ s, before .* answered\. Last log lines: .*fatal: \/app\/config\/gateway\.json is missing/,
    );
    expect(bootContainers()).toBe('');
  });

  it("a container's log lines are shown, never obeyed: ::set-output and ::error:: change no output and raise no annotation", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-boot-injects-'));
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM ${DEBIAN_IMAGE}\nCMD ["sh", "-c", "echo '::set-output name=status::pwned'; echo '::error::injected from a container'; echo '::add-mask::healthy'; exit 3"]\n`,
    );
    docker(['build', '--network', 'host', '-t', 'slipway-e2e/injects:latest', dir]);
    try {
      const r = await boot({ image: 'slipway-e2e/injects:latest', timeout: '30s' });
      expect(r.code).toBe(1);
      expect(r.stdout, 'the log lines should be shown').toMatch(/^::error::injected from a container$/m);
      expect(errorLines(r)).toEqual([
        expect.stringMatching(/^The container of slipway-e2e\/injects:latest exited with code 3/),
      ]);
      expect(r.outputs.status, 'a container set an output').not.toBe('pwned');
      const obeyed = workflowCommands(r.stdout).map((c) => `${c.command}::${c.data}`);
      expect(obeyed, 'a container line was obeyed as a command').not.toContain('add-mask::healthy');
      expect(obeyed.filter((c) => c.startsWith('set-output'))).toEqual([]);
    } finally {
      docker(['image', 'rm', '-f', 'slipway-e2e/injects:latest'], { allowFail: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an image listening on another port fails at the timeout, saying what was tried and what came back', async () => {
    const t0 = Date.now();
    const r = await boot({
      image: CORE,
      health: 'extended',
      port: '18881',
      env: 'PORT=18882\nLOA_DEFERRED_TOOLS=false',
      timeout: '3s',
    });
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code).toBe(1);
    expect(seconds).toBeGreaterThanOrEqual(3);
    expect(seconds).toBeLessThan(15);
    expect(errorLines(r)[0]).toMatch(
      /^No accepted answer from http:\/\/127\.0\.0\.1:18881\/health\/extended within 3 s \(\d+ attempts; last: ECONNREFUSED\): check that the image listens on port 18881 and serves \/health\/extended\./,
    );
    expect(bootContainers()).toBe('');
  });

  it('a cancelled run (SIGTERM) removes its container', async () => {
    for (const f of ['state', 'out']) writeFileSync(join(reports, f), '');
    const child = spawn(ACTION_NODE, [join(ROOT, 'dist/boot-test/index.js')], {
      env: {
        ...process.env,
        SLIPWAY_DOCKER: DOCKER,
        INPUT_IMAGE: CORE,
        INPUT_PORT: '18883',
        INPUT_NETWORK: 'host',
        INPUT_ENV: 'PORT=18884\nLOA_DEFERRED_TOOLS=false',
        INPUT_TIMEOUT: '60s',
        GITHUB_STATE: join(reports, 'state'),
        GITHUB_OUTPUT: join(reports, 'out'),
      },
      stdio: 'ignore',
    });
    const deadline = Date.now() + 15_000;
    while (bootContainers() === '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(bootContainers(), 'the container should be running before the cancel').not.toBe('');
    child.kill('SIGTERM');
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    expect(code).toBe(1);
    expect(bootContainers()).toBe('');
  });

  it("as a `uses:` step of a composite (the kit's own action on Node 24): cancelled mid-boot, its post step runs and no container is left", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-uses-boot-test-'));
    writeFileSync(
      join(dir, 'action.yml'),
      [
        'name: uses boot-test',
        'description: The kit boot-test action as a uses step.',
        'runs:',
        '  using: composite',
        '  steps:',
        '    - id: boot',
        '      uses: ./actions/boot-test',
        '      with:',
        `        image: ${CORE}`,
        '        network: host',
        // It listens on another port than the one probed: the boot waits until cancelled.
        "        port: '18883'",
        "        env: 'PORT=18884'",
        "        timeout: '60s'",
        '    - id: after',
        '      if: always()',
        '      shell: bash',
        '      run: echo "cleanup step ran"',
      ].join('\n'),
    );
    const cancel = new AbortController();
    try {
      const r = await runComposite(
        dir,
        {},
        {
          workspace: ROOT,
          ...hostedRunner(),
          env: { ...process.env, SLIPWAY_DOCKER: DOCKER },
          github: { token: hostedRunner().token },
          signal: cancel.signal,
          onStep: (step, phase) => {
            if (step === 'boot' && phase === 'start') setTimeout(() => cancel.abort(), 1500);
          },
        },
      );
      expect(r.cancelled).toBe(true);
      expect(r.steps.map((step) => [step.id, step.outcome])).toEqual([
        ['boot', 'cancelled'],
        ['after', 'success'],
      ]);
      expect(r.posts.map((post) => [post.name, post.outcome])).toEqual([['Post boot', 'success']]);
      expect(r.log.join('\n')).toMatch(/boot: .*boot-test cancelled \(SIGINT\)/);
      expect(bootContainers()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
