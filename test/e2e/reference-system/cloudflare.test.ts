import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../../emulator/server.js';
import { docker, DOCKER, REGISTRY, requireEngine } from '../../harness/docker.js';
import { errorLines, visibleText, type ActionRun } from '../../harness/runner.js';
import { referenceAction } from '../../harness/reference.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../../harness/wrangler.js';

const SECRET = 'sk-live-gateway-never-log-77aa88bb';
const WORKER = 'loa-gateway-rehearsal';

interface Health {
  status: string;
  version: { id: string; image?: string };
  capabilities: Record<string, boolean>;
}

/**
 * deploy/cloudflare through the deploy and rollback bundles with the real wrangler: wrangler builds
 * deploy/Dockerfile.core (through Slipway's docker shim: this client has no buildx), pushes it to the
 * local registry, creates the container application; the emulator serves the Worker in Miniflare and
 * runs the pushed image on the host network behind its Container class.
 */
describe('deploy/cloudflare: Worker + container, deployed and rolled back against the emulator', () => {
  const emu = new CloudflareEmulator({ docker: DOCKER, containerEnv: { LOA_DEFERRED_TOOLS: 'false' } });
  let api: string;
  const runs: ActionRun[] = [];
  const action = async (name: 'deploy' | 'rollback', inputs: Record<string, string>) => {
    const r = await referenceAction(api, name, inputs);
    runs.push(r);
    return r;
  };
  const explain = (r: ActionRun) => `exit ${r.code}: ${errorLines(r).join(' | ')}\n${r.log.slice(-4000)}`;
  const health = async (path = '/health/extended') => {
    const res = await fetch(`${emu.workers.url(WORKER)}${path}`);
    const text = await res.text();
    expect(res.headers.get('content-type'), `${path} answered ${res.status}: ${text}`).toContain('json');
    return { status: res.status, doc: JSON.parse(text) as Health };
  };

  beforeAll(async () => {
    requireEngine();
    api = await emu.start();
  });
  afterAll(async () => {
    await emu.stop();
    docker(['logout', REGISTRY], { allowFail: true });
  });

  let v1 = '';
  it('first deploy: the image is built without buildx, pushed to the registry, and the Worker URL answers from that container', async () => {
    const r = await action('deploy', { message: 'first', secrets: `GATEWAY_TOKEN=${SECRET}` });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs.deployed).toBe('true');
    v1 = r.outputs['version-id']!;
    expect(r.stdout).toMatch(/has no buildx: container images build with its (buildkit|classic) builder/);
    expect(emu.unknown, 'wrangler called routes the emulator does not know').toEqual([]);

    const app = emu.containers.applications.find((a) => a.name.startsWith(WORKER))!;
    expect(app, 'wrangler created no container application').toBeDefined();
    expect(app.configuration.image).toMatch(
      new RegExp(`^${REGISTRY}/${TEST_ACCOUNT}/${WORKER}-gateway-rehearsal:`),
    );
    expect(app.configuration.instance_type).toBe('standard-1');
    const [repo, tag] = app.configuration.image.slice(REGISTRY.length + 1).split(':');
    const tags = (await (await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`)).json()) as {
      tags: string[];
    };
    expect(tags.tags, 'the image is not in the local registry').toContain(tag);

    const { status, doc } = await health();
    expect(status).toBe(200);
    expect(doc.status).toBe('healthy');
    expect(doc.version.id, "version.id must be the Worker's version").toBe(v1);
    const running = emu.containers.list();
    expect(running).toHaveLength(1);
    expect(running[0]!.image).toBe(app.configuration.image);
    // The container is the pushed image, on the host network, with the instance type's memory.
    const inspect = docker([
      'inspect',
      '-f',
      '{{.Config.Image}} {{.HostConfig.NetworkMode}} {{.HostConfig.Memory}}',
      running[0]!.id,
    ]);
    expect(inspect).toBe(`${app.configuration.image} host ${4 * 1024 ** 3}`);
    // The seed's path answers the same document.
    expect((await health('/sandbox-health')).doc.version.id).toBe(v1);
  });

  let v2 = '';
  it('second deploy: the URL serves the new version', async () => {
    const r = await action('deploy', { message: 'second', vars: 'GATEWAY_ENV=rehearsal-2' });
    expect(r.code, explain(r)).toBe(0);
    v2 = r.outputs['version-id']!;
    expect(r.outputs['previous-version-id']).toBe(v1);
    expect((await health()).doc.version.id).toBe(v2);
  });

  it('rollback: the URL serves the first version again, and its extended health says so', async () => {
    const r = await action('rollback', {
      'to-version': v1,
      'expected-live': v2,
      reason: 'smoke test failed',
    });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs['rolled-back']).toBe('true');
    const { status, doc } = await health();
    expect(status).toBe(200);
    expect(doc.version.id).toBe(v1);
  });

  it('served-Worker faults: unhealthy, wrong version, slow, a status', async () => {
    const admin = api.replace('/client/v4', '');
    const inject = (f: object) =>
      fetch(`${admin}/__admin/worker-faults`, {
        method: 'POST',
        body: JSON.stringify({ script: WORKER, times: 1, ...f }),
      });
    await inject({ kind: 'unhealthy' });
    expect((await health()).doc.status).toBe('unhealthy');
    await inject({ kind: 'wrong-version' });
    expect((await health()).doc.version.id).not.toBe(v1);
    await inject({ kind: 'slow', latencyMs: 600 });
    const t = Date.now();
    await health();
    expect(Date.now() - t).toBeGreaterThanOrEqual(600);
    await inject({ kind: 'status', status: 503 });
    expect((await fetch(`${emu.workers.url(WORKER)}/health/extended`)).status).toBe(503);
    expect((await health()).doc).toMatchObject({ status: 'healthy', version: { id: v1 } });
  });

  it('the token and the secret appear in no output, summary or log line', () => {
    for (const r of runs) {
      const everything = visibleText(r);
      expect(everything).not.toContain(TEST_TOKEN);
      expect(everything).not.toContain(SECRET);
    }
  });

  it("wrangler's registry login is not left in the docker config", () => {
    const file = join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
    const auths = existsSync(file)
      ? ((JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, unknown> }).auths ?? {})
      : {};
    expect(Object.keys(auths)).not.toContain(REGISTRY);
  });
});
