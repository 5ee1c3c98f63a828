import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, docker, requireEngine } from '../harness/docker.js';
import { NODE_IMAGE } from '../harness/images.js';
import { errorLines, runAction, type ActionRun } from '../harness/runner.js';

const IMAGE = 'slipway-e2e/remote-engine';

/**
 * A remote engine: DOCKER_HOST=tcp://127.0.0.1:<port> (docker CLI "Environment variables":
 * "DOCKER_HOST: Daemon socket to connect to"), here a loopback TCP relay to this machine's daemon
 * socket that counts the connections it carries. build-image, size-budget and boot-test get the
 * variable as a runner would give it, in the job's environment; every engine call must go through
 * the relay, and with the relay gone the step fails in one line.
 */
describe('a remote engine through DOCKER_HOST', () => {
  let relay: Server;
  let port: number;
  let connections = 0;
  let ctx: string;
  const explain = (r: ActionRun) =>
    `exit ${r.code}; errors: ${errorLines(r).join(' | ')}\n${r.log.slice(-2000)}`;
  const run = (
    name: 'build-image' | 'size-budget' | 'boot-test',
    inputs: Record<string, string>,
    host = `tcp://127.0.0.1:${port}`,
  ) => runAction(name, inputs, { cwd: ctx, env: { SLIPWAY_DOCKER: DOCKER, DOCKER_HOST: host } });

  beforeAll(async () => {
    requireEngine();
    ctx = mkdtempSync(join(tmpdir(), 'slipway-remote-engine-'));
    writeFileSync(
      join(ctx, 'server.js'),
      "require('node:http').createServer((q, s) => s.end('ok')).listen(18790);\n",
    );
    writeFileSync(
      join(ctx, 'Dockerfile'),
      `FROM ${NODE_IMAGE}\nCOPY server.js /app/server.js\nUSER 1000\nCMD ["node", "/app/server.js"]\n`,
    );
    relay = createServer((client) => {
      connections++;
      const daemon = connect('/var/run/docker.sock');
      client.pipe(daemon).pipe(client);
      const close = () => (client.destroy(), daemon.destroy());
      client.on('error', close);
      daemon.on('error', close);
    });
    port = await new Promise<number>((resolve) =>
      relay.listen(0, '127.0.0.1', () => resolve((relay.address() as { port: number }).port)),
    );
  });
  afterAll(async () => {
    await new Promise((resolve) => relay.close(resolve));
    docker(['image', 'rm', '-f', `${IMAGE}:dev-local`], { allowFail: true });
    rmSync(ctx, { recursive: true, force: true });
  });

  it('build-image, size-budget and boot-test talk to the engine DOCKER_HOST names', async () => {
    const built = await run('build-image', { image: IMAGE, network: 'host', 'cache-store': 'local' });
    expect(built.code, explain(built)).toBe(0);
    const afterBuild = connections;
    expect(afterBuild, 'build-image made no connection through DOCKER_HOST').toBeGreaterThan(0);
    const image = built.outputs.image!;
    const size = await run('size-budget', { image, 'instance-type': 'lite' });
    expect(size.code, explain(size)).toBe(0);
    expect(connections).toBeGreaterThan(afterBuild);
    const afterSize = connections;
    const boot = await run('boot-test', { image, port: '18790', network: 'host', 'instance-type': 'lite' });
    expect(boot.code, explain(boot)).toBe(0);
    expect(connections).toBeGreaterThan(afterSize);
  });

  it('an engine that does not answer at DOCKER_HOST is one line naming it', async () => {
    const r = await run(
      'boot-test',
      { image: `${IMAGE}:dev-local`, port: '18790', network: 'host' },
      'tcp://127.0.0.1:9',
    );
    expect(r.code).toBe(1);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(/127\.0\.0\.1:9/);
  });
});
