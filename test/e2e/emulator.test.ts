import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator, type Fault } from '../../emulator/server.js';
import { ROOT } from '../harness/runner.js';
import { TEST_TOKEN, wrangler } from '../harness/wrangler.js';

/** The real wrangler CLI (pinned in devDependencies) against the project's Cloudflare API emulator. */
describe('Cloudflare API emulator, driven by the real wrangler CLI', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  const run = (...args: string[]) => wrangler(api, dir, args);
  const live = () => {
    const s = emu.state.script('slipway-fixture')!;
    return emu.state.liveVersion(s)!;
  };
  const fault = (f: Fault) =>
    fetch(`${api.replace('/client/v4', '')}/__admin/faults`, { method: 'POST', body: JSON.stringify(f) });
  const versions: string[] = [];

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-worker-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('first deploy: creates the script, makes it live and reports version and URL in the output file', async () => {
    const r = await run('deploy', '--message', 'first deploy');
    expect(r.code, r.output).toBe(0);
    const deploy = r.entries.find((e) => e.type === 'deploy')!;
    expect(deploy).toMatchObject({
      worker_name: 'slipway-fixture',
      targets: ['https://slipway-fixture.slipway-test.workers.dev'],
    });
    expect(deploy.version_id).toBe(live().id);
    expect(live().message).toBe('first deploy');
    expect(r.output).toContain(`Current Version ID: ${live().id}`);
    versions.push(live().id);
    expect(emu.unknown).toEqual([]);
  });

  it('second deploy: uploads a version, then deploys it at 100%; deployments status --json says so', async () => {
    const r = await run('deploy', '--message', 'second deploy');
    expect(r.code, r.output).toBe(0);
    expect(r.entries.find((e) => e.type === 'deploy')?.version_id).toBe(live().id);
    versions.push(live().id);
    expect(emu.requests.filter((q) => q.method === 'POST' && /\/versions$/.test(q.path))).toHaveLength(1);
    const status = await run('deployments', 'status', '--json');
    expect(status.code, status.output).toBe(0);
    const doc = JSON.parse(status.output.slice(status.output.indexOf('{'))) as {
      versions: Array<{ version_id: string; percentage: number }>;
    };
    expect(doc.versions).toEqual([{ version_id: versions[1], percentage: 100 }]);
  });

  it('rollback to a given version makes it live again', async () => {
    const r = await run('rollback', versions[0]!, '--message', 'back to the first', '-y');
    expect(r.code, r.output).toBe(0);
    expect(live().id).toBe(versions[0]);
  });

  it('a failed POST deployments leaves production unchanged; an argument-less rollback would then go past the good version', async () => {
    await fault({ method: 'POST', path: '/workers/scripts/slipway-fixture/deployments$', status: 500 });
    const r = await run('deploy', '--message', 'third deploy');
    expect(r.code).toBe(1);
    expect(live().id, 'production must still serve the good version').toBe(versions[0]);
    expect(r.entries.find((e) => e.type === 'command-failed')).toBeDefined();
    // The good version is live. wrangler rollback without a version picks the deployment before the
    // current one: the second deploy, not the good version that is already live.
    const blind = await run('rollback', '--message', 'blind', '-y');
    expect(blind.code, blind.output).toBe(0);
    expect(live().id).toBe(versions[1]);
    expect(live().id).not.toBe(versions[0]);
  });

  it('a 5xx on the version upload is retried by wrangler itself, and the deploy reports the right version', async () => {
    await fault({ method: 'POST', path: '/workers/scripts/slipway-fixture/versions$', status: 503 });
    const before = emu.requests.length;
    const r = await run('deploy', '--message', 'after a 503');
    expect(r.code, r.output).toBe(0);
    const uploads = emu.requests
      .slice(before)
      .filter((q) => q.method === 'POST' && /\/versions$/.test(q.path));
    expect(uploads.map((q) => q.status)).toEqual([503, 200]);
    expect(r.entries.find((e) => e.type === 'deploy')?.version_id).toBe(live().id);
    expect(live().message).toBe('after a 503');
  });

  it('10220 on rollback: wrangler re-posts with force, and the rollback completes', async () => {
    await fault({
      method: 'POST',
      path: '/workers/scripts/slipway-fixture/deployments$',
      code: 10220,
      status: 400,
      message: 'secrets changed',
    });
    const before = emu.requests.length;
    const r = await run('rollback', versions[0]!, '--message', 'forced', '-y');
    expect(r.code, r.output).toBe(0);
    const posts = emu.requests
      .slice(before)
      .filter((q) => q.method === 'POST' && /\/deployments$/.test(q.path));
    expect(posts.map((q) => q.status)).toEqual([400, 200]);
    expect(live().id).toBe(versions[0]);
  });

  it('answers an unknown route loudly and records it', async () => {
    const res = await fetch(`${api}/accounts/x/workers/brand-new-feature`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(res.status).toBe(501);
    expect(((await res.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toContain(
      'does not implement GET /accounts/x/workers/brand-new-feature',
    );
    expect(emu.unknown).toEqual(['GET /accounts/x/workers/brand-new-feature']);
  });
});
