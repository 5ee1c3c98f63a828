import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../emulator/server.js';
import { ROOT, errorLines, runAction, visibleText, type ActionRun } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../harness/wrangler.js';

const SECRET = 'sk-live-slipway-preview-never-log-51a2';

/** What a Worker URL answers: its status and body (the fixture's `{version, message}`, or text). */
async function ask(
  url: string,
): Promise<{ status: number; body: { version?: string; message?: string } | string }> {
  const response = await fetch(url);
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as { version?: string; message?: string } };
  } catch {
    return { status: response.status, body: text };
  }
}

/**
 * deploy's preview-alias, run as the runner runs the bundle, with the real wrangler against the
 * emulator: `wrangler versions upload --preview-alias`, production untouched, the preview served on
 * loopback by the emulator as Cloudflare serves preview URLs.
 */
describe('deploy preview-alias: a pull request preview of the fixture Worker', () => {
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
  const script = () => emu.state.script('slipway-fixture')!;
  const live = () => emu.state.liveVersion(script())?.id;
  const explain = (r: ActionRun) => `exit ${r.code}: ${errorLines(r).join(' | ')}\n${r.log.slice(-3000)}`;
  /** Requests that change production: a deployment, or a script upload (wrangler deploy). */
  const productionWrites = (from: number) =>
    emu.requests
      .slice(from)
      .filter((q) => (q.method === 'POST' && /\/deployments$/.test(q.path)) || q.method === 'PUT')
      .map((q) => `${q.method} ${q.path}`);

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-preview-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules')); // the project's own wrangler
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let production = '';
  let preview = '';
  it('production first: a plain deploy', async () => {
    const r = await deploy({ message: 'production', vars: 'MESSAGE=production' });
    expect(r.code, explain(r)).toBe(0);
    production = r.outputs['version-id']!;
    expect(live()).toBe(production);
  });

  it("pr-7: the alias URL serves the PR's version while production still serves the old one, and no deployment changed", async () => {
    const deployments = script().deployments.map((d) => d.id);
    const before = emu.requests.length;
    const r = await deploy({
      'preview-alias': 'pr-7',
      message: 'PR #7',
      vars: 'MESSAGE=pr-7',
      secrets: `API_KEY=${SECRET}`,
    });
    expect(r.code, explain(r)).toBe(0);
    preview = r.outputs['version-id']!;
    expect(preview).toMatch(/^[0-9a-f-]{36}$/);
    expect(preview).not.toBe(production);
    expect(r.outputs).toMatchObject({
      'preview-alias-url': 'https://pr-7-slipway-fixture.slipway-test.workers.dev',
      'preview-url': `https://${preview.slice(0, 8)}-slipway-fixture.slipway-test.workers.dev`,
      'preview-note': '',
      deployed: 'false',
      'production-changed': 'false',
      'previous-version-id': production,
      'live-version-id': production,
      'deployment-url': '',
    });
    // Production: the same deployments, none posted, no script uploaded (versions upload only).
    expect(script().deployments.map((d) => d.id)).toEqual(deployments);
    expect(productionWrites(before)).toEqual([]);
    expect(live()).toBe(production);
    const uploaded = script().versions.find((v) => v.id === preview)!;
    expect(uploaded).toMatchObject({ alias: 'pr-7', message: 'PR #7', secrets: { API_KEY: SECRET } });

    const aliasUrl = await emu.workers.openPreview('slipway-fixture', 'pr-7');
    expect(await ask(aliasUrl)).toEqual({ status: 200, body: { version: preview, message: 'pr-7' } });
    const versionUrl = await emu.workers.openPreview('slipway-fixture', preview.slice(0, 8));
    expect(await ask(versionUrl)).toEqual({ status: 200, body: { version: preview, message: 'pr-7' } });
    const productionUrl = await emu.workers.open('slipway-fixture');
    expect(await ask(productionUrl)).toEqual({
      status: 200,
      body: { version: production, message: 'production' },
    });
    expect(r.summary).toContain('### deploy: preview `pr-7` of `slipway-fixture` ✅ live');
    expect(r.summary).toContain(`unchanged: still serves ${production} (read before and after the upload)`);
  });

  it('the next push: the alias moves to the new version; the old version URL still serves the old one', async () => {
    const r = await deploy({ 'preview-alias': 'pr-7', vars: 'MESSAGE=pr-7 again' });
    expect(r.code, explain(r)).toBe(0);
    const next = r.outputs['version-id']!;
    const aliasUrl = await emu.workers.openPreview('slipway-fixture', 'pr-7');
    expect(await ask(aliasUrl)).toEqual({ status: 200, body: { version: next, message: 'pr-7 again' } });
    const oldUrl = await emu.workers.openPreview('slipway-fixture', preview.slice(0, 8));
    expect((await ask(oldUrl)).body).toMatchObject({ version: preview });
    expect(live()).toBe(production);
  });

  it('an alias never uploaded: 404, as no preview is there', async () => {
    const url = await emu.workers.openPreview('slipway-fixture', 'pr-8');
    const answer = await ask(url);
    expect(answer.status).toBe(404);
    expect(answer.body).toContain('no preview at pr-8-slipway-fixture.slipway-test.workers.dev');
  });

  it.each([
    [
      'PR_7',
      'Input "preview-alias" is "PR_7": an alias starts with a lowercase letter (Cloudflare\'s preview alias rules), such as pr-7.',
    ],
    [
      'pr_7',
      'Input "preview-alias" is "pr_7": an alias takes only lowercase letters, digits and dashes (Cloudflare\'s preview alias rules), such as pr-7.',
    ],
    [
      `pr-${'7'.repeat(45)}`,
      `Input "preview-alias" is "pr-${'7'.repeat(45)}": with the Worker's name, "pr-${'7'.repeat(45)}-slipway-fixture" is 64 characters, over the 63 a DNS label allows (Cloudflare's preview alias rules): use a shorter alias.`,
    ],
  ])('alias %j: one line, nothing uploaded', async (alias, line) => {
    const before = emu.requests.length;
    const r = await deploy({ 'preview-alias': alias });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([line]);
    expect(emu.requests.slice(before).filter((q) => q.method !== 'GET')).toEqual([]);
  });

  it('the token and the secret appear in no output, summary or log line', () => {
    for (const r of runs) {
      expect(visibleText(r)).not.toContain(TEST_TOKEN);
      expect(visibleText(r)).not.toContain(SECRET);
    }
  });
});

describe('deploy preview-alias: a Worker with a Durable Object gets no preview URL', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  const deploy = (inputs: Record<string, string> = {}) =>
    runAction(
      'deploy',
      { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': dir, ...inputs },
      { env: { CLOUDFLARE_API_BASE_URL: api } },
    );
  const script = () => emu.state.script('slipway-durable-preview')!;

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-preview-do-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(
      join(dir, 'src/index.js'),
      [
        'export class Counter { async fetch() { return new Response("1"); } }',
        'export default { async fetch(request, env) { return Response.json({ version: env.VERSION?.id }); } };',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'wrangler.json'),
      JSON.stringify({
        name: 'slipway-durable-preview',
        main: 'src/index.js',
        compatibility_date: '2025-01-01',
        workers_dev: true,
        version_metadata: { binding: 'VERSION' },
        durable_objects: { bindings: [{ name: 'COUNTER', class_name: 'Counter' }] },
        migrations: [{ tag: 'v1', new_sqlite_classes: ['Counter'] }],
      }),
    );
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the version is uploaded, the step succeeds, the outputs are empty and the summary says why, production untouched', async () => {
    const first = await deploy({ message: 'production' });
    expect(first.code, first.log.slice(-2000)).toBe(0);
    const production = first.outputs['version-id']!;
    const deployments = script().deployments.length;

    const r = await deploy({ 'preview-alias': 'pr-9' });
    expect(r.code, `${errorLines(r).join(' | ')}\n${r.log.slice(-3000)}`).toBe(0);
    const uploaded = r.outputs['version-id']!;
    expect(script().versions.map((v) => v.id)).toContain(uploaded);
    expect(r.outputs).toMatchObject({
      'preview-url': '',
      'preview-alias-url': '',
      deployed: 'false',
      'production-changed': 'false',
      'live-version-id': production,
    });
    expect(r.outputs['preview-note']).toBe(
      'Cloudflare generates no preview URL for a Worker that implements a Durable Object, including Containers ("Preview URLs are not generated for Workers that implement a Durable Object, including Containers and Sandbox Workers": [Preview URLs, Limitations](https://developers.cloudflare.com/workers/versions-and-deployments/preview-urls/#limitations)). The version was uploaded and serves no traffic; production, and the image its containers run, are untouched.',
    );
    expect(r.summary).toContain('✅ uploaded, no URL');
    expect(r.summary).toContain(r.outputs['preview-note']);
    expect(script().deployments).toHaveLength(deployments);
    expect(emu.state.liveVersion(script())?.id).toBe(production);
    // Cloudflare serves no preview for it: the alias host has nothing.
    const aliasUrl = await emu.workers.openPreview('slipway-durable-preview', 'pr-9');
    expect((await ask(aliasUrl)).status).toBe(404);
  });
});
