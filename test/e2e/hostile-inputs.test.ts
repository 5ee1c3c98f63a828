import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CloudflareEmulator } from '../../emulator/server.js';
import { DEBIAN_IMAGE, DOCKER } from '../harness/docker.js';
import { healthServer } from '../harness/health-server.js';
import { ROOT, errorLines, runAction, type ActionRun } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../harness/wrangler.js';

/**
 * Issue 14: every bundle, run as the runner runs it, with hostile input: a secret line without "=",
 * a PEM key (in the KEY<<EOF form, and pasted wrongly), a URL with credentials, a // path, an
 * option-like image name and commit subject, a line break in every one-line input. Each row fails
 * (or succeeds) with exactly one clear `::error::` line (none on success) and no stack trace, and no
 * canary secret appears in stdout, stderr, outputs, the summary, or the env and state files.
 *
 * An unknown `mode`: no bundle has one (the last test holds that); the root action.yml's is refused
 * before anything runs (test/unit/workflows/workflows.test.ts, "guards: an unknown mode ...").
 */

const RUN = randomBytes(4).toString('hex');
const canary = (what: string) => `CANARY-${what}-${RUN}`;
/** What a line break in a one-line input would try: a second error line the runner obeys. */
const INJECT = `\n::error::INJECTED-${RUN}`;
const pem = (what: string) =>
  [
    '-----BEGIN PRIVATE KEY-----',
    `MIIEvQIBADANBgkqhkiG9w0BAQEFAASC${canary(what)}`,
    `BKcwggSjAgEAAoIBAQC7${canary(`${what}-2`)}Zq`,
    '-----END PRIVATE KEY-----',
  ].join('\n');
const PEM_DEPLOY = pem('pem-deploy');
const PEM_BOOT = pem('pem-boot');
const HEAD_SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const NOWHERE = '/nonexistent/slipway-hostile';
const MISSING_IMAGE = 'slipway-e2e/hostile-missing:1';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// The one error line of each kind of refusal.
const lineBreak = (name: string) =>
  new RegExp(
    `^Input "${name}" has a line break or a control character: give it on one line \\(the value is not shown\\)\\.$`,
  );
const noEquals = (name: string, line: number) =>
  new RegExp(
    `^Input "${name}" line ${line} has no "=": .*\\(the line is not shown: it may hold a secret\\)\\.$`,
  );
const notImage = (name: string) =>
  new RegExp(`^Input "${name}" is not an image reference: give name\\[:tag\\]`);
const optionLike = (name: string, value: string) =>
  new RegExp(
    `^Input "${name}" is "${esc(value)}", which starts with "-": a program would read it as an option`,
  );
const CREDENTIALS =
  /^Input "url" holds credentials \(user:password@\): they are not sent; pass a token in "headers" \(masked\) instead\.$/;
const OTHER_HOST =
  /^Input "path" starts with \/\/, which names another host: give a path such as \/health\/extended\.$/;

type Bundle = 'build-image' | 'size-budget' | 'boot-test' | 'deploy' | 'rollback' | 'smoke-test' | 'report';
type Inputs = Record<string, string>;

/** What the rows run against: the emulator, Worker projects, a health server and a GitHub API stand-in. */
interface Services {
  emu: CloudflareEmulator;
  api: string;
  /** A copy of test/fixtures/worker whose Worker is named `slipway-hostile-<name>`. */
  worker(name: string): string;
  health: Awaited<ReturnType<typeof healthServer>>;
  github: { url: string; requests: Array<{ path: string; auth?: string; body: Record<string, unknown> }> };
  dir: string;
}

interface Row {
  action: Bundle;
  hostile: string;
  /** The inputs (work done first, e.g. the deploys a rollback needs, goes here). */
  inputs: Inputs | ((s: Services) => Inputs | Promise<Inputs>);
  env?: (s: Services) => Record<string, string>;
  code: 0 | 1;
  /** The one `::error::` line (code 1). */
  error?: RegExp;
  /** Secret values that must appear nowhere (each line of a multi-line one too). */
  secrets?: string[];
  /** What else must hold (the emulator's state, a request made). */
  then?: (r: ActionRun, s: Services) => void | Promise<void>;
}

// Bases where a row's own input would pass: a run that got past input checking fails at once, on
// something that names itself (no context, no image, no Worker directory, a closed port).
const BASE: Record<Bundle, Inputs> = {
  'build-image': { context: NOWHERE },
  'size-budget': { image: MISSING_IMAGE },
  'boot-test': { image: MISSING_IMAGE, network: 'host' },
  deploy: { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': NOWHERE },
  rollback: { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': NOWHERE },
  'smoke-test': { url: 'http://127.0.0.1:9', timeout: '1s' },
  report: { token: 'ghs_hostileToken', state: 'success' },
};

/** Every one-line input of each bundle, with a value it accepts: a line break is added to it. */
const ONE_LINE: Record<Bundle, Inputs> = {
  'build-image': {
    context: '.',
    file: 'Dockerfile',
    target: 'app',
    image: 'acme/app',
    push: 'false',
    cache: 'auto',
    'cache-store': 'auto',
    'cache-dir': '/tmp/stages',
    network: 'host',
  },
  'size-budget': {
    image: 'acme/app:1',
    'max-size': '1GB',
    measure: 'cloudflare',
    'instance-type': 'basic',
    'warn-at': '90',
    baseline: 'acme/app:0',
    'max-increase': '10MB',
    'top-layers': '10',
    'report-path': '/tmp/size.json',
    'cache-store': 'auto',
    'cache-dir': '/tmp/stages',
  },
  'boot-test': {
    image: 'acme/app:1',
    port: '8080',
    health: 'extended',
    'health-path': '/health/extended',
    memory: '4g',
    cpus: '1',
    'pids-limit': '256',
    'read-only': 'true',
    user: '1000',
    network: 'host',
    timeout: '30s',
  },
  deploy: {
    'api-token': canary('token-line'),
    'account-id': TEST_ACCOUNT,
    'working-directory': '.',
    config: 'wrangler.jsonc',
    environment: 'staging',
    'wrangler-version': '4.86.0',
    tag: 'v1',
    'dry-run': 'false',
    'containers-rollout': 'immediate',
    image: 'acme/app:1',
    'rollout-timeout': '10m',
    'allow-irreversible': 'false',
  },
  rollback: {
    'api-token': canary('token-line'),
    'account-id': TEST_ACCOUNT,
    'working-directory': '.',
    config: 'wrangler.jsonc',
    environment: 'staging',
    'wrangler-version': '4.86.0',
    'to-version': '11111111-1111-4111-8111-111111111111',
    'expected-live': '22222222-2222-4222-8222-222222222222',
    force: 'false',
    'rollout-timeout': '10m',
  },
  'smoke-test': {
    url: 'http://127.0.0.1:9',
    health: 'json',
    path: '/health/extended',
    'version-header': 'x-version',
    'version-path': '/version',
    'expect-version': '11111111-1111-4111-8111-111111111111',
    'expect-image': 'acme/app:1',
    timeout: '1s',
    'attempt-timeout': '1s',
    'initial-delay': '0.1s',
    'max-delay': '1s',
    'version-override': 'app="11111111-1111-4111-8111-111111111111"',
    'max-body-bytes': '1MiB',
    'consecutive-successes': '1',
  },
  report: {
    token: canary('github-token-line'),
    state: 'success',
    'status-context': 'slipway',
    'size-report': '/tmp/size.json',
    environment: 'production',
    'environment-url': 'https://app.example.workers.dev',
    'version-id': '11111111-1111-4111-8111-111111111111',
    'rolled-back': 'false',
  },
};

const lineBreakRows: Row[] = Object.entries(ONE_LINE).flatMap(([action, inputs]) =>
  Object.entries(inputs).map(([name, value]) => ({
    action: action as Bundle,
    hostile: `a line break in "${name}"`,
    inputs: { ...BASE[action as Bundle], [name]: `${value}${INJECT}` },
    code: 1 as const,
    error: lineBreak(name),
    // A token is a secret: neither of its lines may show.
    secrets: value.startsWith('CANARY-') ? [`${value}${INJECT}`] : [],
  })),
);

/** A worker deployed (and what it answered): the rows that need production state. */
async function deployed(s: Services, dir: string, inputs: Inputs = {}): Promise<ActionRun> {
  const r = await runAction(
    'deploy',
    { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': dir, ...inputs },
    { env: { CLOUDFLARE_API_BASE_URL: s.api }, timeoutMs: 120_000 },
  );
  if (r.code !== 0) throw new Error(`setting up: deploy failed\n${r.log.slice(-2000)}`);
  return r;
}
const script = (s: Services, name: string) => s.emu.state.script(`slipway-hostile-${name}`)!;
const liveMessage = (s: Services, name: string) => script(s, name).deployments[0]?.message;
const connect = (s: Services, name: string): Inputs => ({
  'api-token': TEST_TOKEN,
  'account-id': TEST_ACCOUNT,
  'working-directory': s.worker(name),
});

const rows: Row[] = [
  // Rows that do real work first: they take longest, and the fast rows fill the other lanes.
  {
    action: 'rollback',
    hostile: 'a line break in "reason" (folded to one line: the rollback message and the log)',
    inputs: async (s) => {
      const dir = s.worker('reason');
      const v1 = (await deployed(s, dir, { message: 'one' })).outputs['version-id']!;
      const v2 = (await deployed(s, dir, { message: 'two' })).outputs['version-id']!;
      return {
        ...connect(s, 'reason'),
        'to-version': v1,
        'expected-live': v2,
        reason: `smoke failed${INJECT}`,
      };
    },
    env: (s) => ({ CLOUDFLARE_API_BASE_URL: s.api }),
    code: 0,
    then: (r, s) => {
      expect(r.outputs['rolled-back']).toBe('true');
      expect(liveMessage(s, 'reason')).toBe(`smoke failed ::error::INJECTED-${RUN}`);
    },
  },
  {
    action: 'deploy',
    hostile: 'a PEM key in the KEY<<EOF form (accepted, uploaded whole, never printed)',
    inputs: (s) => ({ ...connect(s, 'pem'), secrets: `A=1\nPRIVATE_KEY<<EOF\n${PEM_DEPLOY}\nEOF\nB=2` }),
    env: (s) => ({ CLOUDFLARE_API_BASE_URL: s.api }),
    code: 0,
    secrets: [PEM_DEPLOY],
    then: (r, s) => {
      expect(r.outputs.deployed).toBe('true');
      const live = script(s, 'pem').versions.find((v) => v.id === r.outputs['version-id'])!;
      expect(live.secrets).toEqual({ A: '1', PRIVATE_KEY: PEM_DEPLOY, B: '2' });
    },
  },
  {
    action: 'deploy',
    hostile:
      'an option-like commit subject (head_commit.message "--dry-run"): a real deploy, the subject its message',
    inputs: (s) => connect(s, 'subject'),
    env: (s) => {
      const event = join(s.dir, 'event-subject.json');
      writeFileSync(
        event,
        JSON.stringify({ head_commit: { id: HEAD_SHA, message: '--dry-run\n\n-v --help' } }),
      );
      return {
        CLOUDFLARE_API_BASE_URL: s.api,
        GITHUB_EVENT_PATH: event,
        GITHUB_EVENT_NAME: 'push',
        GITHUB_SHA: HEAD_SHA,
      };
    },
    code: 0,
    then: (r, s) => {
      expect(r.outputs.deployed).toBe('true');
      expect(liveMessage(s, 'subject')).toBe('--dry-run (abcdef0)');
    },
  },
  {
    action: 'deploy',
    hostile: 'an option-like "message" ("--help"): a real deploy, the text its message',
    inputs: (s) => ({ ...connect(s, 'message'), message: '--help' }),
    env: (s) => ({ CLOUDFLARE_API_BASE_URL: s.api }),
    code: 0,
    then: (r, s) => {
      expect(r.outputs.deployed).toBe('true');
      expect(liveMessage(s, 'message')).toBe('--help');
    },
  },
  {
    action: 'deploy',
    hostile: 'a line break in "message" (folded to one line)',
    inputs: (s) => ({ ...connect(s, 'message-line'), message: `release 1.2${INJECT}` }),
    env: (s) => ({ CLOUDFLARE_API_BASE_URL: s.api }),
    code: 0,
    then: (r, s) => {
      expect(r.outputs.deployed).toBe('true');
      expect(liveMessage(s, 'message-line')).toBe(`release 1.2 ::error::INJECTED-${RUN}`);
    },
  },
  {
    action: 'boot-test',
    hostile: 'a PEM key in the KEY<<EOF form in "env" (accepted: the container starts; never printed)',
    inputs: {
      image: DEBIAN_IMAGE,
      network: 'host',
      port: '18997',
      env: `PRIVATE_KEY<<EOF\n${PEM_BOOT}\nEOF`,
    },
    code: 1,
    // The image's bash exits at once: the boot fails after the container ran, with its env.
    error: new RegExp(`^The container of ${esc(DEBIAN_IMAGE)} exited with code 0 after [\\d.]+ s, before `),
    secrets: [PEM_BOOT],
  },
  {
    action: 'smoke-test',
    hostile: 'a secret header value (masked: only in ::add-mask::)',
    inputs: (s) => ({
      url: s.health.url,
      timeout: '5s',
      headers: `Authorization: Bearer ${canary('header')}`,
    }),
    code: 0,
    secrets: [canary('header')],
    then: (_, s) => {
      expect(s.health.requests.some((q) => q.headers.authorization === `Bearer ${canary('header')}`)).toBe(
        true,
      );
    },
  },
  {
    action: 'report',
    hostile: 'a line break in "description" (folded to one line); the token never shown',
    inputs: { token: canary('github-token'), state: 'success', description: `checks passed${INJECT}` },
    env: (s) => ({
      GITHUB_API_URL: s.github.url,
      GITHUB_REPOSITORY: 'acme/gateway',
      GITHUB_SHA: HEAD_SHA,
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: join(ROOT, 'test/fixtures/events/push-main.json'),
    }),
    code: 0,
    secrets: [canary('github-token')],
    then: (_, s) => {
      const status = s.github.requests.find((q) => q.path.includes('/statuses/'))!;
      expect(status.auth).toBe(`token ${canary('github-token')}`);
      expect(status.body.description).toBe(`checks passed ::error::INJECTED-${RUN}`);
    },
  },

  // A secret line without "=", and a PEM key pasted without the KEY<<EOF form: refused by number.
  ...(
    [
      ['build-image', 'build-args'],
      ['build-image', 'secrets'],
      ['build-image', 'labels'],
      ['boot-test', 'env'],
      ['deploy', 'secrets'],
      ['deploy', 'vars'],
    ] as const
  ).flatMap(([action, name]): Row[] => [
    {
      action,
      hostile: `a "${name}" line without "="`,
      inputs: { ...BASE[action], [name]: `A=1\n${canary(`${action}-${name}`)}\nB=2` },
      code: 1,
      error: noEquals(name, 2),
      secrets: [canary(`${action}-${name}`)],
    },
  ]),
  ...(
    [
      ['build-image', 'secrets'],
      ['boot-test', 'env'],
      ['deploy', 'secrets'],
    ] as const
  ).map(([action, name]): Row => ({
    action,
    hostile: `a PEM key in "${name}" pasted as KEY=<its lines>`,
    inputs: { ...BASE[action], [name]: `PRIVATE_KEY=${pem(`${action}-pasted`)}` },
    code: 1,
    error: noEquals(name, 2),
    secrets: [pem(`${action}-pasted`).split('\n').slice(1).join('\n')],
  })),
  {
    action: 'deploy',
    hostile: 'a PEM key in "secrets" whose KEY<<EOF is never closed',
    inputs: { ...BASE.deploy, secrets: `PRIVATE_KEY<<EOF\n${pem('unclosed')}` },
    code: 1,
    error:
      /^Input "secrets" line 1 opens a multi-line value \(<<\) whose closing line never comes: .*\(the line is not shown: it may hold a secret\)\.$/,
    secrets: [pem('unclosed')],
  },

  // Option-like values that would reach docker or wrangler as options.
  ...(['build-image', 'size-budget', 'boot-test', 'deploy'] as const).flatMap((action) =>
    ['--help', '-v'].map((image): Row => ({
      action,
      hostile: `an option-like image "${image}"`,
      inputs: { ...BASE[action], image },
      code: 1,
      error: notImage('image'),
    })),
  ),
  {
    action: 'size-budget',
    hostile: 'an option-like baseline image "--help"',
    inputs: { ...BASE['size-budget'], baseline: '--help' },
    code: 1,
    error: notImage('baseline'),
  },
  ...(['deploy', 'rollback'] as const).flatMap((action) =>
    (['environment', 'config'] as const).map((name): Row => ({
      action,
      hostile: `an option-like "${name}" ("--help", wrangler's --${name === 'config' ? 'config' : 'env'} word)`,
      inputs: { ...BASE[action], [name]: '--help' },
      code: 1,
      error: optionLike(name, '--help'),
    })),
  ),

  // A URL with credentials, a path to another host.
  ...[
    `https://user:${canary('url')}@app.example.workers.dev/`,
    `https://${canary('url-user')}@app.example.workers.dev/`,
    `https://user:${canary('url-bad-port')}@app.example.workers.dev:99999/`,
    `ftp://user:${canary('url-ftp')}@app.example.workers.dev/`,
  ].map((url): Row => ({
    action: 'smoke-test',
    hostile: `a URL with credentials (${url.replace(/CANARY-[^@]*/, 'CANARY')})`,
    inputs: { ...BASE['smoke-test'], url },
    code: 1,
    error: CREDENTIALS,
    secrets: [/CANARY-[^@]*/.exec(url)![0]],
  })),
  ...['//evil.example/x', '/\\evil.example/x', `//user:${canary('path')}@127.0.0.1:9/x`].flatMap(
    (path): Row[] => [
      {
        action: 'smoke-test',
        hostile: `a path to another host (${path.replace(/CANARY-[^@]*/, 'CANARY')})`,
        inputs: { ...BASE['smoke-test'], path },
        code: 1,
        error: OTHER_HOST,
        secrets: path.includes('CANARY') ? [canary('path')] : [],
      },
    ],
  ),
  {
    action: 'boot-test',
    hostile: 'a health path to another host (//evil.example/x)',
    inputs: { ...BASE['boot-test'], 'health-path': '//evil.example/x' },
    code: 1,
    error: /^Input "health-path" starts with \/\/, which names another host/,
  },
  {
    action: 'smoke-test',
    hostile: 'a "headers" line without ":" holding a token',
    inputs: { ...BASE['smoke-test'], headers: `Authorization Bearer ${canary('header-line')}` },
    code: 1,
    error: /^Input "headers" line 1 is not "Name: value" \(values are not shown: they are masked\)\.$/,
    secrets: [canary('header-line')],
  },
  {
    action: 'rollback',
    hostile: 'a "previous-state" that is not JSON, holding a token',
    inputs: { ...BASE.rollback, 'previous-state': `{"token": "${canary('state')}"` },
    code: 1,
    error: /^Input "previous-state" is not JSON: pass deploy's previous-state output unchanged\.$/,
    secrets: [canary('state')],
  },

  // A line break in every one-line input of every bundle.
  ...lineBreakRows,
];

/** Lines of stdout the runner consumes as `::add-mask::` commands (not inside a ::stop-commands:: fence). */
function withoutMaskCommands(stdout: string): string {
  let stopToken: string | undefined;
  const kept: string[] = [];
  for (const line of stdout.split('\n')) {
    if (stopToken !== undefined) {
      if (line.trim() === `::${stopToken}::`) stopToken = undefined;
      kept.push(line);
      continue;
    }
    const stop = /^::stop-commands::(.*)$/.exec(line.trimStart());
    if (stop) stopToken = stop[1];
    if (!line.trimStart().startsWith('::add-mask::')) kept.push(line);
  }
  return kept.join('\n');
}

/** Everywhere a run can show a value: stdout (but its ::add-mask:: commands), stderr, outputs, summary, env and state files. */
function shown(r: ActionRun): Array<[string, string]> {
  const pairs = (o: Record<string, string>) =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n');
  return [
    ['stdout', withoutMaskCommands(r.stdout)],
    ['stderr', r.stderr],
    ['outputs', pairs(r.outputs)],
    ['summary', r.summary],
    ['env file', pairs(r.env)],
    ['state file', pairs(r.state)],
  ];
}

/** A local GitHub API that takes every call: records it, answers 201. */
async function fakeGitHub(): Promise<Services['github'] & { close(): Promise<void> }> {
  const requests: Services['github']['requests'] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      requests.push({ path: req.url ?? '', auth: req.headers.authorization, body });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 1, ...body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('hostile inputs: every bundle fails (or succeeds) with one clear line and shows no secret', () => {
  const emu = new CloudflareEmulator();
  let services: Services;
  let closeGitHub: () => Promise<void>;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-hostile-'));
    const api = await emu.start();
    const github = await fakeGitHub();
    closeGitHub = github.close;
    const workers = new Map<string, string>();
    services = {
      emu,
      api,
      dir,
      health: await healthServer(() => ({})),
      github,
      worker: (name) => {
        if (!workers.has(name)) {
          const project = join(dir, `worker-${name}`);
          cpSync(join(ROOT, 'test/fixtures/worker'), project, { recursive: true });
          const config = join(project, 'wrangler.jsonc');
          writeFileSync(
            config,
            readFileSync(config, 'utf8').replace('"slipway-fixture"', `"slipway-hostile-${name}"`),
          );
          symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules')); // the project's own wrangler
          workers.set(name, project);
        }
        return workers.get(name)!;
      },
    };
  });
  afterAll(async () => {
    await emu.stop();
    await services?.health.close();
    await closeGitHub?.();
    if (services) rmSync(services.dir, { recursive: true, force: true });
  });

  it.concurrent.for(rows)('$action: $hostile', async (row, { expect }) => {
    const inputs = typeof row.inputs === 'function' ? await row.inputs(services) : row.inputs;
    const r = await runAction(row.action, inputs, {
      env: {
        SLIPWAY_DOCKER: DOCKER,
        // Nothing reaches Cloudflare or GitHub unless a row says where.
        CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:9/client/v4',
        GITHUB_API_URL: 'http://127.0.0.1:9',
        ...row.env?.(services),
      },
      timeoutMs: 120_000,
    });
    const errors = errorLines(r);
    const explain = `exit ${r.code}; errors: ${JSON.stringify(errors)}\n${r.log.slice(-2500)}`;
    expect(r.code, explain).toBe(row.code);
    if (row.code === 0) expect(errors, explain).toEqual([]);
    else {
      expect(errors, explain).toHaveLength(1);
      expect(errors[0], explain).toMatch(row.error!);
      expect(errors[0], 'the error is one line').not.toMatch(/[\r\n]/);
    }
    expect(r.log, 'no stack trace').not.toMatch(/^ {4}at /m);
    for (const secret of row.secrets ?? [])
      for (const part of [secret, ...secret.split('\n')].filter((p) => p.trim()))
        for (const [where, text] of shown(r))
          expect(text, `${JSON.stringify(part)} in ${where}`).not.toContain(part);
    await row.then?.(r, services);
  });

  it('an unknown mode: no bundle has a "mode" input (the root action.yml refuses one: workflows.test.ts)', () => {
    for (const name of readdirSync(join(ROOT, 'actions'))) {
      const yml = parse(readFileSync(join(ROOT, 'actions', name, 'action.yml'), 'utf8')) as {
        inputs: Record<string, unknown>;
      };
      expect(Object.keys(yml.inputs), name).not.toContain('mode');
    }
  });
});
