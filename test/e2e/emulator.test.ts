import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator, type Fault } from '../../emulator/server.js';
import { ROOT } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN, wrangler } from '../harness/wrangler.js';

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

/** The POSTs to a script's deployments since a point in the request log, by status. */
const deploymentPosts = (emu: CloudflareEmulator, since: number) =>
  emu.requests
    .slice(since)
    .filter((q) => q.method === 'POST' && /\/deployments$/.test(q.path))
    .map((q) => q.status);

describe('keep_bindings and inherit bindings, driven by the real wrangler CLI', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  const run = (...args: string[]) => wrangler(api, dir, args);
  const script = () => emu.state.script('slipway-fixture')!;
  const latest = () => emu.state.latestVersion(script())!;
  const live = () => emu.state.liveVersion(script())!;
  const secretsFile = (name: string, secrets: Record<string, string>) => {
    writeFileSync(join(dir, name), JSON.stringify(secrets));
    return name;
  };
  let withSecret = '';

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-worker-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
    const first = await run('deploy', '--message', 'first');
    expect(first.code, first.output).toBe(0);
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a plain deploy after a deploy with a secret keeps the secret; rolling back to that deploy needs no force', async () => {
    const r = await run('deploy', '--secrets-file', secretsFile('one.json', { API_KEY: 'sk-1' }));
    expect(r.code, r.output).toBe(0);
    withSecret = live().id;
    const plain = await run('deploy', '--message', 'plain');
    expect(plain.code, plain.output).toBe(0);
    expect(live().id).not.toBe(withSecret);
    expect(live().secrets).toEqual({ API_KEY: 'sk-1' });
    expect(live().bindings).toContainEqual({ type: 'secret_text', name: 'API_KEY' });
    const before = emu.requests.length;
    const back = await run('rollback', withSecret, '--message', 'back', '-y');
    expect(back.code, back.output).toBe(0);
    expect(deploymentPosts(emu, before), 'no 10220: the secrets did not change').toEqual([200]);
    expect(live().id).toBe(withSecret);
  });

  it('wrangler versions upload keeps the secrets (and the version stays undeployed)', async () => {
    const r = await run('versions', 'upload', '--message', 'uploaded');
    expect(r.code, r.output).toBe(0);
    expect(latest().message).toBe('uploaded');
    expect(latest().secrets).toEqual({ API_KEY: 'sk-1' });
    expect(live().id).toBe(withSecret);
    expect(emu.unknown).toEqual([]);
  });

  it('a partial --secrets-file keeps the other secrets; then a real 10220 on rollback names the changed one', async () => {
    const both = await run('deploy', '--secrets-file', secretsFile('both.json', { DB_PASSWORD: 'db-1' }));
    expect(both.code, both.output).toBe(0);
    const dbOne = live().id;
    expect(live().secrets).toEqual({ API_KEY: 'sk-1', DB_PASSWORD: 'db-1' });
    const partial = await run(
      'deploy',
      '--secrets-file',
      secretsFile('partial.json', { DB_PASSWORD: 'db-2' }),
    );
    expect(partial.code, partial.output).toBe(0);
    expect(live().secrets).toEqual({ API_KEY: 'sk-1', DB_PASSWORD: 'db-2' });
    const before = emu.requests.length;
    const back = await run('rollback', dbOne, '--message', 'back to db-1', '-y');
    expect(back.code, back.output).toBe(0);
    expect(deploymentPosts(emu, before)).toEqual([400, 200]);
    expect(back.output).toMatch(/\* DB_PASSWORD\s*$/m);
    expect(live().id).toBe(dbOne);
  });

  it('an inherit that cannot be resolved: 10057, which wrangler reads as a required secret not set', async () => {
    // wrangler sends {"type":"inherit"} for each secrets.required name the upload does not set.
    const config = { name: 'slipway-fixture', main: 'src/index.js', compatibility_date: '2025-01-01' };
    writeFileSync(
      join(dir, 'required.json'),
      JSON.stringify({ ...config, secrets: { required: ['API_KEY', 'NOT_SET'] } }),
    );
    const before = emu.requests.length;
    const r = await run('versions', 'upload', '--config', 'required.json');
    expect(r.code).toBe(1);
    expect(r.output).toContain('The following required secrets have not been set: NOT_SET');
    const uploads = emu.requests.slice(before).filter((q) => /\/versions$/.test(q.path));
    expect(uploads.map((q) => q.status)).toEqual([400]);
  });

  it('an unresolvable inherit posted directly: every one refused with 10057 in one answer', async () => {
    const form = new FormData();
    const bindings = [
      { type: 'inherit', name: 'API_KEY' },
      { type: 'inherit', name: 'NOPE' },
      { type: 'inherit', name: 'NOR_THIS' },
    ];
    form.set('metadata', JSON.stringify({ main_module: 'index.js', bindings }));
    form.set(
      'index.js',
      new File(['export default {}'], 'index.js', { type: 'application/javascript+module' }),
    );
    const versions = latest().number;
    const res = await fetch(
      `${api}/accounts/${TEST_ACCOUNT}/workers/scripts/slipway-fixture/versions?bindings_inherit=strict`,
      { method: 'POST', body: form, headers: { authorization: `Bearer ${TEST_TOKEN}` } },
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { success: boolean; errors: Array<{ code: number; message: string }> };
    expect(body.success).toBe(false);
    expect(body.errors).toEqual(
      ['NOPE', 'NOR_THIS'].map((name) => ({
        code: 10057,
        message: `inherit binding '${name}' is invalid: previous version does not have binding named '${name}'`,
      })),
    );
    expect(latest().number, 'no version was added').toBe(versions);
  });
});

/** A Worker with a Durable Object class (and a KV namespace), its migrations given per test. */
function writeDurableWorker(dir: string, config: Record<string, unknown>): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(
    join(dir, 'src/index.js'),
    [
      'export class Counter { async fetch() { return new Response("1"); } }',
      'export default { async fetch() { return new Response("ok"); } };',
    ].join('\n'),
  );
  const base = { name: 'slipway-durable', main: 'src/index.js', compatibility_date: '2025-01-01' };
  writeFileSync(join(dir, 'wrangler.json'), JSON.stringify({ ...base, ...config }));
}

describe('rollback refusals (rollbacks docs limits), driven by the real wrangler CLI', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  const run = (...args: string[]) => wrangler(api, dir, args);
  const script = () => emu.state.script('slipway-durable')!;
  const live = () => emu.state.liveVersion(script())!;
  const KV_ID = '0f2ac74b498b48028cb68387c421e279';
  const counter = { bindings: [{ name: 'COUNTER', class_name: 'Counter' }] };
  const v1 = { tag: 'v1', new_sqlite_classes: ['Counter'] };
  const versions: string[] = [];

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-durable-'));
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two deploys under one migration: each version records the tag; rolling back between them is allowed', async () => {
    writeDurableWorker(dir, {
      durable_objects: counter,
      kv_namespaces: [{ binding: 'CACHE', id: KV_ID }],
      migrations: [v1],
    });
    for (const message of ['first', 'second']) {
      const r = await run('deploy', '--message', message);
      expect(r.code, r.output).toBe(0);
      versions.push(live().id);
    }
    expect(script().versions.map((version) => version.migrationTag)).toEqual(['v1', 'v1']);
    const back = await run('rollback', versions[0]!, '--message', 'back', '-y');
    expect(back.code, back.output).toBe(0);
    const forward = await run('rollback', versions[1]!, '--message', 'forward', '-y');
    expect(forward.code, forward.output).toBe(0);
    expect(live().id).toBe(versions[1]);
  });

  it('a version binding a deleted KV namespace cannot be rolled back to', async () => {
    emu.state.deleteResource('kv', KV_ID);
    try {
      const before = emu.requests.length;
      const r = await run('rollback', versions[0]!, '--message', 'to a deleted namespace', '-y');
      expect(r.code).toBe(1);
      expect(r.output).toContain(
        `Failed to rollback due to external resources being modified (kv:${KV_ID}) [code: 100140]`,
      );
      expect(deploymentPosts(emu, before)).toEqual([400]);
      expect(live().id).toBe(versions[1]);
    } finally {
      emu.state.deletedResources.clear();
    }
  });

  it('a rollback across a Durable Object migration is refused, and wrangler exits 1 saying why', async () => {
    // v2 deletes the class (and its binding, as the API requires): a migration, so wrangler PUTs the script.
    writeDurableWorker(dir, {
      kv_namespaces: [{ binding: 'CACHE', id: KV_ID }],
      migrations: [v1, { tag: 'v2', deleted_classes: ['Counter'] }],
    });
    const migrated = await run('deploy', '--message', 'delete Counter');
    expect(migrated.code, migrated.output).toBe(0);
    expect(script().migrationTag).toBe('v2');
    expect(live().migrationTag).toBe('v2');
    versions.push(live().id);
    const before = emu.requests.length;
    const r = await run('rollback', versions[1]!, '--message', 'across the migration', '-y');
    expect(r.code).toBe(1);
    expect(r.output).toContain(
      'Failed to rollback due to external resources being modified (durable-object:v2,durable-object:Counter) [code: 100140]',
    );
    expect(r.entries.find((e) => e.type === 'command-failed')).toBeDefined();
    expect(deploymentPosts(emu, before), 'refused outright: wrangler does not force it').toEqual([400]);
    expect(live().id).toBe(versions[2]);
  });

  it('only the newest 100 versions can be rolled back to', async () => {
    const fields = { mainModule: 'index.js', modules: [], bindings: [], compatibilityFlags: [], secrets: {} };
    // Versions the emulator adds and deploys itself: a hundred wrangler runs would take minutes.
    const deployNew = (count: number) => {
      for (let n = 0; n < count; n++) {
        const version = emu.state.addVersion(script(), { ...fields, containerClasses: [] });
        emu.state.deploy(script(), [{ version_id: version.id, percentage: 100 }], 'added');
      }
    };
    deployNew(99);
    expect(script().versions).toHaveLength(102);
    const before = emu.requests.length;
    const r = await run('rollback', versions[2]!, '--message', 'the 100th newest', '-y');
    expect(r.code, r.output).toBe(0);
    deployNew(2);
    const stale = await run('rollback', versions[2]!, '--message', 'the 102nd newest', '-y');
    expect(stale.code).toBe(1);
    expect(stale.output).toContain('workers.api.error.deployment_too_old [code: 100147]');
    expect(deploymentPosts(emu, before)).toEqual([200, 400]);
  });
});
