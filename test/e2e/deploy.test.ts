import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator, type Fault } from '../../emulator/server.js';
import { ROOT, errorLines, runAction, visibleText, type ActionRun } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../harness/wrangler.js';

const SECRET = 'sk-live-slipway-never-log-9f8e7d6c';

/** The deploy bundle, run as the runner runs it, with the real wrangler against the emulator. */
describe('deploy action, end to end against the Cloudflare API emulator', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  const runs: ActionRun[] = [];
  const deploy = async (inputs: Record<string, string> = {}) => {
    const r = await runAction(
      'deploy',
      { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': dir, ...inputs },
      { env: { CLOUDFLARE_API_BASE_URL: api } },
    );
    runs.push(r);
    return r;
  };
  const live = () => emu.state.liveVersion(emu.state.script('slipway-fixture')!)?.id;
  const fault = (f: Fault) =>
    fetch(`${api.replace('/client/v4', '')}/__admin/faults`, { method: 'POST', body: JSON.stringify(f) });
  const explain = (r: ActionRun) => `exit ${r.code}: ${errorLines(r).join(' | ')}\n${r.log.slice(-2000)}`;

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-deploy-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules')); // the project's own wrangler
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let first = '';
  it('first deploy: deployed, no previous version, the URL and version wrangler reported', async () => {
    const r = await deploy({ message: 'first' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({
      deployed: 'true',
      'previous-version-id': '',
      'worker-name': 'slipway-fixture',
      'deployment-url': 'https://slipway-fixture.slipway-test.workers.dev',
    });
    expect(r.outputs['version-id']).toBe(live());
    expect(r.outputs).toMatchObject({ 'production-changed': 'true', 'live-version-id': live() });
    expect(r.stdout).toMatch(/wrangler 4\.86\.0 \(the project's own\)/);
    first = r.outputs['version-id']!;
  });

  it('second deploy with a secret: recorded previous version, the secret in the same version', async () => {
    const r = await deploy({ message: 'second', secrets: `API_KEY=${SECRET}`, vars: 'MESSAGE=v2' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs['previous-version-id']).toBe(first);
    expect(r.outputs['version-id']).toBe(live());
    const v = emu.state.script('slipway-fixture')!.versions.find((x) => x.id === live())!;
    expect(v.secrets).toEqual({ API_KEY: SECRET });
    expect(v.bindings.find((b) => b.name === 'MESSAGE')).toMatchObject({ type: 'plain_text', text: 'v2' });
  });

  it("a failed POST deployments: deployed=false, wrangler's own error, and production's state said", async () => {
    const before = live();
    await fault({
      method: 'POST',
      path: '/deployments$',
      status: 500,
      code: 10013,
      message: 'deployment service unavailable',
    });
    const r = await deploy({ message: 'third' });
    expect(r.code).toBe(1);
    expect(r.outputs.deployed).toBe('false');
    expect(live()).toBe(before);
    expect(r.outputs).toMatchObject({ 'production-changed': 'false', 'live-version-id': before });
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(
      /^wrangler deploy failed( \(code \d+\))?: .*deployment service unavailable.*; production is unchanged \(still [0-9a-f-]{36}\)\.$/,
    );
    expect(r.summary).toContain('❌ not deployed');
  });

  it("a 5xx on the version upload: wrangler's own retry succeeds and the deploy reports the right version", async () => {
    await fault({ method: 'POST', path: '/workers/scripts/slipway-fixture/versions$', status: 503 });
    const before = emu.requests.length;
    const r = await deploy({ message: 'after a 503' });
    expect(r.code, explain(r)).toBe(0);
    const uploads = emu.requests
      .slice(before)
      .filter((q) => q.method === 'POST' && /\/versions$/.test(q.path));
    expect(
      uploads.map((q) => q.status),
      'one 503, then the retry',
    ).toEqual([503, 200]);
    expect(r.outputs.deployed).toBe('true');
    expect(r.outputs['version-id']).toBe(live());
  });

  it('a project without wrangler: the pinned version is installed once into the tool directory, then reused', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'slipway-bare-'));
    const tools = mkdtempSync(join(tmpdir(), 'slipway-tools-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), bare, { recursive: true });
    try {
      const env = { CLOUDFLARE_API_BASE_URL: api, RUNNER_TOOL_CACHE: tools };
      const inputs = { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': bare };
      const first = await runAction('deploy', inputs, { env });
      runs.push(first);
      expect(first.code, explain(first)).toBe(0);
      expect(first.stdout).toContain(`Installing wrangler 4.86.0 into ${join(tools, 'wrangler', '4.86.0')}`);
      expect(first.stdout).toMatch(/wrangler 4\.86\.0 \(installed 4\.86\.0\)/);
      const second = await runAction('deploy', inputs, { env });
      runs.push(second);
      expect(second.code, explain(second)).toBe(0);
      expect(second.stdout).not.toContain('Installing wrangler');
      expect(second.stdout).toMatch(/wrangler 4\.86\.0 \(installed 4\.86\.0, reused from /);
      expect(second.outputs['version-id']).toBe(live());
    } finally {
      rmSync(bare, { recursive: true, force: true });
      rmSync(tools, { recursive: true, force: true });
    }
  });

  it('an image input on a Worker without containers: a warning naming why, and the Worker deploys', async () => {
    const r = await deploy({ message: 'image, no containers', image: 'acme/app:v1' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain(
      '::warning::Input "image" (acme/app:v1) is not used: wrangler.jsonc has no containers, so the Worker deploys alone.',
    );
    expect(r.outputs.deployed).toBe('true');
  });

  it('dry-run bundles without a single API call', async () => {
    const before = emu.requests.length;
    const r = await deploy({ 'dry-run': 'true', 'api-token': '', 'account-id': '' });
    expect(r.code, explain(r)).toBe(0);
    expect(emu.requests.length).toBe(before);
    expect(r.outputs.deployed).toBe('false');
  });

  it('missing credentials: one clear line', async () => {
    const r = await deploy({ 'api-token': '' });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([
      'Input "api-token" is empty: pass secrets.CLOUDFLARE_API_TOKEN (or use dry-run: true for pull requests).',
    ]);
  });

  it('the token and the secret appear in no output, summary or log line of any run', () => {
    expect(runs.length).toBeGreaterThanOrEqual(5);
    for (const r of runs) {
      const everything = visibleText(r);
      expect(everything).not.toContain(TEST_TOKEN);
      expect(everything).not.toContain(SECRET);
    }
  });
});

/**
 * What the programs deploy starts may see: a fake wrangler (the project's own) and a fake npm (the
 * install of a pinned wrangler) write their whole environment to a file and stop.
 */
describe("deploy's child processes get only what they need", () => {
  const CANARY = 'sk-live-child-env-canary-41c7';
  const RUNTIME = 'runtime-token-child-env-canary-77aa';
  const JOB_CANARY = 'job-env-secret-child-env-canary-3b9d';
  let dir: string;
  const recorded = (file: string) => readFileSync(file, 'utf8');
  const fake = (path: string, record: string) => {
    mkdirSync(dirname(path), { recursive: true });
    const script = `#!/bin/sh\nenv >> "${record}"\necho "ARGS: $*" >> "${record}"\necho '---' >> "${record}"\nexit 1\n`;
    writeFileSync(path, script, { mode: 0o755 });
  };
  const run = (project: string, env: Record<string, string> = {}) =>
    runAction(
      'deploy',
      {
        'api-token': TEST_TOKEN,
        'account-id': TEST_ACCOUNT,
        'working-directory': project,
        secrets: `API_KEY=${CANARY}`,
        vars: 'MESSAGE=hello',
      },
      {
        env: {
          ACTIONS_RUNTIME_TOKEN: RUNTIME,
          ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/',
          // A secret the workflow put in the job's env: no tool the kit starts needs it.
          JOB_SECRET: JOB_CANARY,
          ...env,
        },
      },
    );

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-child-env-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('wrangler: the Cloudflare token it needs; no INPUT_*, no runtime token, no secret values', async () => {
    const project = join(dir, 'own');
    cpSync(join(ROOT, 'test/fixtures/worker'), project, { recursive: true });
    const record = join(dir, 'wrangler.env');
    fake(join(project, 'node_modules/.bin/wrangler'), record);
    await run(project);
    const env = recorded(record);
    expect(env).toContain(`CLOUDFLARE_API_TOKEN=${TEST_TOKEN}`);
    expect(env).not.toMatch(/^INPUT_/m);
    expect(env).not.toMatch(/^STATE_/m);
    expect(env).not.toContain(RUNTIME);
    expect(env).not.toContain(CANARY);
    expect(env).not.toContain(JOB_CANARY);
  });

  it('npm (installing a pinned wrangler): no Cloudflare token, no INPUT_*, no runtime token, no secret values', async () => {
    const project = join(dir, 'bare');
    cpSync(join(ROOT, 'test/fixtures/worker'), project, { recursive: true });
    const bin = join(dir, 'bin');
    const record = join(dir, 'npm.env');
    fake(join(bin, 'npm'), record);
    const r = await run(project, {
      PATH: `${bin}:${process.env.PATH}`,
      RUNNER_TOOL_CACHE: join(dir, 'tools'),
    });
    expect(errorLines(r).join('\n')).toMatch(/Could not install wrangler/);
    const env = recorded(record);
    // npm ci of the kit's lockfile, into the tool directory, running no package's install scripts.
    const args = env.match(/^ARGS: (.*)$/m)?.[1]?.split(' ');
    expect(args?.[0]).toBe('ci');
    expect(args).toEqual(
      expect.arrayContaining(['--ignore-scripts', '--prefix', join(dir, 'tools/wrangler/4.86.0')]),
    );
    expect(env).not.toContain(TEST_TOKEN);
    expect(env).not.toMatch(/^INPUT_/m);
    expect(env).not.toContain(RUNTIME);
    expect(env).not.toContain(CANARY);
    expect(env).not.toContain(JOB_CANARY);
  });
});

describe("untrusted code (a fork's pull request): the dry run runs none of the project's programs", () => {
  let dir: string;
  let tools: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-untrusted-'));
    tools = join(dir, 'tools');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The fixture Worker with a committed wrangler (and, if given, a build command) that leave markers. */
  const project = (name: string, buildCommand?: string) => {
    const path = join(dir, name);
    cpSync(join(ROOT, 'test/fixtures/worker'), path, { recursive: true });
    const bin = join(path, 'node_modules/.bin/wrangler');
    mkdirSync(dirname(bin), { recursive: true });
    writeFileSync(bin, `#!/bin/sh\ntouch "${join(dir, `${name}-own-wrangler-ran`)}"\nexit 1\n`, {
      mode: 0o755,
    });
    if (buildCommand) {
      const config = readFileSync(join(path, 'wrangler.jsonc'), 'utf8');
      const withBuild = config.replace(
        '"main":',
        `"build": { "command": ${JSON.stringify(buildCommand)} },\n  "main":`,
      );
      writeFileSync(join(path, 'wrangler.jsonc'), withBuild);
    }
    return path;
  };
  const dryRun = (path: string, extra: Record<string, string> = {}) =>
    runAction(
      'deploy',
      { 'working-directory': path, 'dry-run': 'true', untrusted: 'true', ...extra },
      { env: { RUNNER_TOOL_CACHE: tools } },
    );

  it("the kit's locked wrangler bundles it; the project's own wrangler never runs", async () => {
    const path = project('plain');
    const r = await dryRun(path);
    expect(r.code, `${errorLines(r).join(' | ')}\n${r.log.slice(-2000)}`).toBe(0);
    expect(r.stdout).toMatch(/wrangler 4\.86\.0 \(installed 4\.86\.0/);
    expect(existsSync(join(dir, 'plain-own-wrangler-ran')), "the project's own wrangler ran").toBe(false);
    expect(r.summary).toContain('dry run ✅');
  });

  it('a config with a custom build is not dry-run: the build command never runs, and the summary says why', async () => {
    const marker = join(dir, 'build-command-ran');
    const path = project('custom-build', `touch ${marker}`);
    const r = await dryRun(path);
    expect(r.code).toBe(0);
    expect(existsSync(marker), 'the build command ran on the runner').toBe(false);
    expect(existsSync(join(dir, 'custom-build-own-wrangler-ran'))).toBe(false);
    expect(r.summary).toMatch(/dry run skipped[\s\S]*custom build \(build\.command\)/);
    expect(r.outputs.deployed).toBe('false');
  });

  it('untrusted code is never deployed: without dry-run, one line', async () => {
    const r = await dryRun(project('deploying'), { 'dry-run': 'false', 'api-token': 't', 'account-id': 'a' });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([
      'Input "untrusted" is for a dry run only: untrusted code is never deployed (set dry-run: true).',
    ]);
  });
});
