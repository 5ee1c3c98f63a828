import { afterEach, describe, expect, it } from 'vitest';
import { bootTest, type BootTestOptions } from '../../../src/lib/boot/index.js';
import type { OwnedContainer } from '../../../src/lib/core/io.js';
import { fakeDeps, type Rule } from '../../harness/fakes.js';
import { healthDoc, healthServer, type Reply } from '../../harness/health-server.js';

// detectEngine resolves SLIPWAY_DOCKER with `which`: any existing executable will do, since every
// command it is given goes to the scripted runner.
const DOCKER = '/bin/true';
const VERSION = JSON.stringify({ Client: { Version: '28.0.0' }, Server: { Version: '28.0.0' } });

const options: BootTestOptions = {
  image: 'app:1',
  port: 18789,
  health: 'extended',
  healthPath: '/health/extended',
  expectStatus: ['healthy', 'degraded'],
  env: [
    ['API_TOKEN', 'never-print-this'],
    ['PORT', '18789'],
  ],
  secretEnv: [['PIN', '42']],
  memory: '4g',
  pidsLimit: 256,
  readOnly: true,
  network: 'auto',
  timeoutSeconds: 10,
};

/** The engine's answers: a bridge network that publishes the container's port on `hostPort`. */
function engine(hostPort: number, container: { running: string; logs?: string; bridge?: boolean }): Rule[] {
  return [
    { match: / version --format/, result: { stdout: VERSION } },
    { match: / image inspect --format \{\{\.Id\}\} app:1$/, result: { stdout: 'sha256:abc\n' } },
    { match: / network inspect bridge$/, result: { code: container.bridge === false ? 1 : 0 } },
    { match: / run -d /, result: { stdout: 'c0ffee\n' } },
    { match: / port slipway-boot-\w+ 18789\/tcp$/, result: { stdout: `0.0.0.0:${hostPort}\n` } },
    { match: / inspect --format \{\{\.State\.Running\}\}/, result: { stdout: `${container.running}\n` } },
    { match: / logs --tail 20 /, result: { stdout: container.logs ?? '' } },
    // The whole log (no --tail): what debug logging reads.
    { match: / logs slipway-boot-\w+$/, result: { stdout: container.logs ?? '' } },
    { match: / rm -f -v slipway-boot-\w+$/ },
  ];
}

interface Case {
  name: string;
  serve: Reply;
  running: string;
  logs?: string;
  extra?: Partial<BootTestOptions>;
  failure?: RegExp;
  outputs: { bootSeconds: 'number' | ''; status: string; health: unknown };
  summary: RegExp;
}

const invalid = { ...healthDoc(), tools: { loading: 'no' } };

const cases: Case[] = [
  {
    name: 'accepted',
    serve: { body: healthDoc() },
    running: 'true 0 false',
    outputs: { bootSeconds: 'number', status: 'healthy', health: healthDoc() },
    summary: /✅ healthy in [\d.]+ s[\s\S]*\| Version \| `v-test` \|/,
  },
  {
    name: 'the container exited',
    serve: { body: healthDoc() },
    running: 'false 3 false',
    logs: 'starting\nfatal: /app/config/gateway.json is missing\n',
    failure:
      /^The container of app:1 exited with code 3 after [\d.]+ s, before http:\/\/127\.0\.0\.1:\d+\/health\/extended answered\. Last log lines: starting \| fatal: \/app\/config\/gateway\.json is missing$/,
    outputs: { bootSeconds: '', status: '', health: '' },
    summary: /❌ the container exited[\s\S]*exited with code 3/,
  },
  {
    name: 'a timeout while the server answers 503',
    serve: { status: 503, body: 'starting' },
    running: 'true 0 false',
    logs: 'listening soon\n',
    extra: { timeoutSeconds: 0.5 },
    failure:
      /^No accepted answer from http:\/\/127\.0\.0\.1:\d+\/health\/extended within 0\.5 s \(\d+ attempts; last: HTTP 503\): check that the image listens on port 18789 and serves \/health\/extended\. Last log lines: listening soon$/,
    outputs: { bootSeconds: '', status: '', health: '' },
    summary: /❌ no accepted answer within 0\.5 s[\s\S]*last: HTTP 503/,
  },
  {
    name: 'a timeout on a status that is not accepted',
    serve: { body: healthDoc({ status: 'degraded' }) },
    running: 'true 0 false',
    extra: { timeoutSeconds: 0.5, expectStatus: ['healthy'] },
    failure: /\(\d+ attempts; last: status degraded \(accepted: healthy\)\).*Last log lines: \(none\)$/,
    outputs: { bootSeconds: '', status: 'degraded', health: healthDoc({ status: 'degraded' }) },
    summary: /❌ no accepted answer within 0\.5 s/,
  },
  {
    name: 'an invalid document',
    serve: { body: invalid },
    running: 'true 0 false',
    failure:
      /^app:1 answered http:\/\/127\.0\.0\.1:\d+\/health\/extended, but the health document does not match the extended-health schema: \/tools must have required property 'complete'/,
    outputs: { bootSeconds: '', status: 'healthy', health: invalid },
    summary: /❌ invalid health document/,
  },
  {
    name: 'basic: any 2xx passes, the body is not read (status ok, no health document)',
    serve: { body: 'ok' },
    running: 'true 0 false',
    extra: { health: 'basic', healthPath: '/' },
    outputs: { bootSeconds: 'number', status: 'ok', health: '' },
    summary: /✅ ok in [\d.]+ s[\s\S]*\| Health \| `\/` \(basic\) answered \*\*ok\*\* after 1 attempt \|/,
  },
  {
    name: 'json: a JSON object with no status passes as ok, the body is the health output',
    serve: { body: { uptime: 3 } },
    running: 'true 0 false',
    extra: { health: 'json', healthPath: '/' },
    outputs: { bootSeconds: 'number', status: 'ok', health: { uptime: 3 } },
    summary: /✅ ok in [\d.]+ s/,
  },
  {
    name: 'json: a body that is not JSON fails at once',
    serve: { body: '<html>hi</html>' },
    running: 'true 0 false',
    extra: { health: 'json', healthPath: '/' },
    failure:
      /^app:1 answered http:\/\/127\.0\.0\.1:\d+\/, but the answer is not JSON \(it starts "<html>hi<\/html>"\)\.$/,
    outputs: { bootSeconds: '', status: '', health: '' },
    summary: /❌ invalid health document[\s\S]*`\/` \(json\): 1 attempt/,
  },
];

describe('bootTest against a scripted engine and a loopback health server', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it.each(cases)('$name', async (c) => {
    const server = await healthServer(() => c.serve);
    close = server.close;
    const owned: Array<OwnedContainer | undefined> = [];
    const deps = fakeDeps(engine(Number(new URL(server.url).port), c), {
      env: { SLIPWAY_DOCKER: DOCKER },
      now: () => new Date(),
      own: (container) => void owned.push(container),
    });
    const result = await bootTest({ ...options, ...c.extra }, deps);
    const lines = deps.run.calls.map((call) => call.args.join(' '));

    if (c.failure) expect(result.failure).toMatch(c.failure);
    else expect(result.failure, result.failure).toBeUndefined();
    if (c.outputs.bootSeconds === 'number') expect(result.outputs.bootSeconds).toBeGreaterThanOrEqual(0);
    else expect(result.outputs.bootSeconds).toBe('');
    expect(result.outputs.status).toBe(c.outputs.status);
    expect(result.outputs.health === '' ? '' : JSON.parse(result.outputs.health)).toEqual(c.outputs.health);
    expect(result.summary).toMatch(c.summary);
    expect(server.requests.length > 0, 'the health URL is asked only while the container runs').toBe(
      c.running.startsWith('true'),
    );

    const name = owned[0]?.name;
    expect(name, 'own() should be told of the container').toMatch(/^slipway-boot-[0-9a-f]{8}$/);
    expect(owned.at(-1), 'own() should be told the container is gone').toBeUndefined();
    expect(lines, 'the container (and its /data volume) should always be removed').toContain(
      `rm -f -v ${name}`,
    );
    expect(
      lines.find((line) => line.startsWith('run -d')),
      'network auto should pick bridge',
    ).toContain('--network bridge --publish 127.0.0.1::18789');
    // env masks what can be a secret (not the port); secret-env masks every value, a 2-digit PIN too.
    expect(deps.log.secrets).toEqual(['never-print-this', '42']);
    expect(lines.find((line) => line.startsWith('run -d'))).toMatch(/--env API_TOKEN --env PORT --env PIN /);
  });

  it('an exited container prints its logs in a group', async () => {
    const deps = fakeDeps(engine(1, { running: 'false 137 true', logs: 'Killed\n' }), {
      env: { SLIPWAY_DOCKER: DOCKER },
      now: () => new Date(),
    });
    const result = await bootTest(options, deps);
    expect(result.failure).toMatch(/exited with code 137 \(killed: out of memory\) after/);
    expect(deps.log.lines).toEqual(expect.arrayContaining(['group: Container logs', 'Killed']));
  });

  describe('with debug logging (RUNNER_DEBUG=1) the whole container log is printed, once', () => {
    const LOG = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n');
    const boot = async (env: Record<string, string>, running: string) => {
      const server = await healthServer(() => ({ body: healthDoc() }));
      close = server.close;
      const port = Number(new URL(server.url).port);
      const deps = fakeDeps(engine(port, { running, logs: LOG }), {
        env: { SLIPWAY_DOCKER: DOCKER, ...env },
        now: () => new Date(),
      });
      const result = await bootTest(options, deps);
      const logCalls = deps.run.calls.filter((call) => call.args[0] === 'logs').map((c) => c.args.join(' '));
      return { result, logCalls, lines: deps.log.lines };
    };

    it.each([
      ['an accepted boot, debug', { RUNNER_DEBUG: '1' }, 'true 0 false', 30],
      ['an exited container, debug', { RUNNER_DEBUG: '1' }, 'false 3 false', 30],
      ['an exited container, no debug: the last 20 lines', {}, 'false 3 false', 20],
      ['an accepted boot, no debug: no log', {}, 'true 0 false', 0],
    ])('%s', async (_, env, running, shown) => {
      const { logCalls, lines } = await boot(env, running);
      const groups = lines.filter((line) => line === 'group: Container logs');
      expect(groups, 'printed once, or not at all').toHaveLength(shown ? 1 : 0);
      // The scripted engine answers the whole log either way: what is shown is what was asked for.
      if (shown === 20) expect(logCalls).toEqual([expect.stringMatching(/^logs --tail 20 slipway-boot-/)]);
      if (shown === 30) {
        expect(
          logCalls.every((call) => /^logs slipway-boot-\w+$/.test(call)),
          logCalls.join('; '),
        ).toBe(true);
        expect(lines).toEqual(expect.arrayContaining(['line 1', 'line 30']));
      }
    });
  });

  it('network auto without a bridge probes the port on the host network; a json /health accepts "ok"', async () => {
    const server = await healthServer(() => ({ body: { status: 'ok' } }));
    close = server.close;
    const port = Number(new URL(server.url).port);
    const deps = fakeDeps(engine(1, { running: 'true 0 false', bridge: false }), {
      env: { SLIPWAY_DOCKER: DOCKER },
      now: () => new Date(),
    });
    const result = await bootTest({ ...options, port, health: 'json', healthPath: '/health' }, deps);
    expect(result.failure, result.failure).toBeUndefined();
    expect(result.outputs.status).toBe('ok');
    expect(server.requests[0]?.path).toBe('/health');
    const lines = deps.run.calls.map((call) => call.args.join(' '));
    expect(lines.find((line) => line.startsWith('run -d'))).toContain('--network host');
    expect(
      lines.some((line) => line.startsWith('port ')),
      'host network publishes no port',
    ).toBe(false);
  });

  it('an image the engine does not have throws before anything runs', async () => {
    const rules = engine(1, { running: 'true 0 false' });
    rules.unshift({ match: / image inspect /, result: { code: 1, stderr: 'No such image' } });
    const deps = fakeDeps(rules, { env: { SLIPWAY_DOCKER: DOCKER }, now: () => new Date() });
    await expect(bootTest(options, deps)).rejects.toThrow(
      'Image app:1 is not in the local engine: build it first (build-image) or pull it.',
    );
    expect(deps.run.calls.some((call) => call.args[0] === 'run')).toBe(false);
  });
});
