import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../emulator/server.js';
import type { WorkerFault } from '../../emulator/workers.js';
import { ROOT } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN, wrangler } from '../harness/wrangler.js';

const WORKER = 'slipway-fixture';
const OVERRIDES = 'Cloudflare-Workers-Version-Overrides';
const VERSION_KEY = 'Cloudflare-Workers-Version-Key';

/**
 * Gradual deployments on the emulator's served Workers, driven by the real wrangler CLI: a 60/40
 * split answers from both versions in proportion, the override header reaches the version it names,
 * a version key sticks to one version, and a version that leaves the deployment stops running.
 */
describe('Cloudflare gradual deployments on the emulator: split traffic, overrides, affinity', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  let url: string;
  let v1: string;
  let v2: string;
  let v3: string;
  const run = (...args: string[]) => wrangler(api, dir, args);
  const admin = (path: string, init?: RequestInit) => fetch(`${api.replace('/client/v4', '')}${path}`, init);
  /** The version that answered (the fixture returns its version metadata id), or the status. */
  const served = async (headers: Record<string, string> = {}) => {
    const res = await fetch(url, { headers });
    if (res.status !== 200) return `status ${res.status}`;
    return ((await res.json()) as { version: string }).version;
  };
  const tally = async (count: number, headers: Record<string, string> = {}) => {
    const counts: Record<string, number> = {};
    for (let request = 0; request < count; request++) {
      const version = await served(headers);
      counts[version] = (counts[version] ?? 0) + 1;
    }
    return counts;
  };
  const setMessage = (message: string) => {
    const config = join(dir, 'wrangler.jsonc');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(/"MESSAGE": "[^"]*"/, `"MESSAGE": "${message}"`),
    );
  };
  const upload = async (message: string) => {
    setMessage(message);
    const result = await run('versions', 'upload', '--message', message);
    expect(result.code, result.output).toBe(0);
    return String(result.entries.find((entry) => entry.type === 'version-upload')?.version_id);
  };
  const deployVersions = async (...specs: string[]) => {
    const result = await run('versions', 'deploy', ...specs, '--yes');
    expect(result.code, result.output).toBe(0);
  };
  const workers = async () =>
    (
      (await (await admin('/__admin/workers')).json()) as Record<
        string,
        { versions: unknown; running: string[] }
      >
    )[WORKER]!;

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-traffic-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
    const first = await run('deploy', '--message', 'v1');
    expect(first.code, first.output).toBe(0);
    v1 = String(first.entries.find((entry) => entry.type === 'deploy')?.version_id);
    url = emu.workers.url(WORKER)!;
    v2 = await upload('v2');
    v3 = await upload('v3 (uploaded, never deployed)');
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('before the split, every request goes to the only deployed version', async () => {
    expect(await tally(10)).toEqual({ [v1]: 10 });
  });

  it('wrangler versions deploy <v1>@60 <v2>@40: both versions answer, 60/40 over 100 requests', async () => {
    await deployVersions(`${v1}@60`, `${v2}@40`);
    // (wrangler's version-deploy output entry serialises its traffic Map as {}: read the deployment.)
    expect(emu.state.script(WORKER)!.deployments[0]!.versions).toEqual([
      { version_id: v1, percentage: 60 },
      { version_id: v2, percentage: 40 },
    ]);
    const counts = await tally(100);
    expect(Object.keys(counts).sort()).toEqual([v1, v2].sort());
    expect(Math.abs(counts[v1]! - 60), JSON.stringify(counts)).toBeLessThanOrEqual(3);
    expect(Math.abs(counts[v2]! - 40), JSON.stringify(counts)).toBeLessThanOrEqual(3);
    const worker = await workers();
    expect(worker.versions).toEqual(
      expect.arrayContaining([
        { version_id: v1, percentage: 60 },
        { version_id: v2, percentage: 40 },
      ]),
    );
    expect(worker.running.sort()).toEqual([v1, v2].sort());
    expect(emu.unknown).toEqual([]);
  });

  it('the override header reaches the version it names, every time', async () => {
    expect(await tally(20, { [OVERRIDES]: `${WORKER}="${v2}"` })).toEqual({ [v2]: 20 });
    expect(await tally(20, { [OVERRIDES]: `other-worker="${v2}", ${WORKER}="${v1}"` })).toEqual({ [v1]: 20 });
  });

  it('an override that is not applied (another Worker, a version not deployed, not a Dictionary) routes by share', async () => {
    for (const header of [
      `other-worker="${v2}"`,
      `${WORKER}="${v3}"`,
      `${WORKER}="${v2}",`,
      `${WORKER}=${v2}`,
    ]) {
      const counts = await tally(20, { [OVERRIDES]: header });
      expect(Object.keys(counts).sort(), header).toEqual([v1, v2].sort());
    }
  });

  it('a version key keeps a client on one version; different keys spread over both', async () => {
    const keyed = await tally(10, { [VERSION_KEY]: 'user-42' });
    expect(Object.values(keyed)).toEqual([10]);
    const spread = new Set<string>();
    for (let user = 0; user < 20; user++) spread.add(await served({ [VERSION_KEY]: `user-${user}` }));
    expect([...spread].sort()).toEqual([v1, v2].sort());
  });

  it('a fault on one version hits only the requests that version serves', async () => {
    const fault: WorkerFault = { script: WORKER, version: v2, kind: 'status', status: 503 };
    await admin('/__admin/worker-faults', { method: 'POST', body: JSON.stringify(fault) });
    try {
      expect(await tally(5, { [OVERRIDES]: `${WORKER}="${v2}"` })).toEqual({ 'status 503': 5 });
      expect(await tally(5, { [OVERRIDES]: `${WORKER}="${v1}"` })).toEqual({ [v1]: 5 });
    } finally {
      await admin('/__admin/worker-faults', { method: 'DELETE' });
    }
  });

  it('a version at 0% gets no traffic but answers an override (the smoke test before a rollout)', async () => {
    await deployVersions(`${v1}@100`, `${v3}@0`);
    expect(await tally(20)).toEqual({ [v1]: 20 });
    expect(await tally(5, { [OVERRIDES]: `${WORKER}="${v3}"` })).toEqual({ [v3]: 5 });
    // v2 left the deployment: its Miniflare is stopped, and an override naming it is not applied.
    expect((await workers()).running.sort()).toEqual([v1, v3].sort());
    expect(await tally(5, { [OVERRIDES]: `${WORKER}="${v2}"` })).toEqual({ [v1]: 5 });
  });

  it('deploying one version at 100% leaves only it running', async () => {
    await deployVersions(`${v2}@100`);
    expect((await workers()).running).toEqual([]);
    expect(await tally(10, { [OVERRIDES]: `${WORKER}="${v1}"` })).toEqual({ [v2]: 10 });
    expect((await workers()).running).toEqual([v2]);
    expect(emu.unknown).toEqual([]);
  });
});

type Split = Array<{ version_id: string; percentage: number }>;
/** What these tests read of the API's results (a version, the deployments). */
interface ApiResult {
  metadata: { has_preview: boolean };
  annotations: Record<string, string>;
  deployments: Array<{ strategy: string; annotations: Record<string, string>; versions: Split }>;
}
interface AnalyticsRow {
  sum: { requests: number; errors: number };
  dimensions: { scriptName: string; scriptVersion: string; datetime: string };
}
type AnalyticsData = { viewer: { accounts: Array<{ workersInvocationsAdaptive: AnalyticsRow[] }> } };

/**
 * Workers analytics on the emulator: a 90/10 split made with the real wrangler, requests to both
 * versions, an `exception` fault on the new version, and per-version requests and errors read back
 * over POST /client/v4/graphql with the query Cloudflare documents (querying-workers-metrics.mdx)
 * plus the scriptVersion dimension. Also: the deployments API's limits, the deployment history, and
 * the version upload's has_preview and preview alias as wrangler reads them.
 */
describe('Cloudflare Workers analytics on the emulator: per-version requests and errors over GraphQL', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  let url: string;
  let v1: string;
  let v2: string;
  let since: string;
  const run = (...args: string[]) => wrangler(api, dir, args);
  const admin = (path: string, init?: RequestInit) => fetch(`${api.replace('/client/v4', '')}${path}`, init);
  const auth = { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}/accounts/${TEST_ACCOUNT}${path}`, {
      method,
      headers: auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { success: boolean; errors: Array<{ code: number }>; result: ApiResult },
    };
  };
  const graphql = async (
    query: string,
    variables: Record<string, unknown>,
    headers: Record<string, string> = auth,
  ) => {
    const res = await fetch(`${api}/graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { data: AnalyticsData; errors: Array<{ message: string }> | null },
    };
  };
  /** What each request was answered by: the version (200), or the status and Cloudflare's error code. */
  const tally = async (count: number, headers: Record<string, string> = {}) => {
    const counts: Record<string, number> = {};
    for (let request = 0; request < count; request++) {
      const res = await fetch(url, { headers });
      const text = await res.text();
      const key =
        res.status === 200
          ? (JSON.parse(text) as { version: string }).version
          : `${res.status} ${/Error 1101/.test(text) ? '1101' : ''}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  };
  /** The documented query: quantiles (CPU time) left out, as the emulator does not measure it; scriptVersion added. */
  const DOCUMENTED = `query GetWorkersAnalytics($accountTag: string, $datetimeStart: string, $datetimeEnd: string, $scriptName: string) {
    viewer {
      accounts(filter: {accountTag: $accountTag}) {
        workersInvocationsAdaptive(limit: 100, filter: {
          scriptName: $scriptName,
          datetime_geq: $datetimeStart,
          datetime_leq: $datetimeEnd
        }) {
          sum {
            subrequests
            requests
            errors
          }
          dimensions{
            datetime
            scriptName
            scriptVersion
            status
          }
        }
      }
    }
  }`;
  /** The rows summed per version. */
  const perVersion = async () => {
    const answer = await graphql(DOCUMENTED, {
      accountTag: TEST_ACCOUNT,
      datetimeStart: since,
      datetimeEnd: new Date().toISOString(),
      scriptName: WORKER,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.errors).toBeNull();
    const totals: Record<string, { requests: number; errors: number }> = {};
    for (const row of answer.body.data.viewer.accounts[0]!.workersInvocationsAdaptive) {
      const total = (totals[row.dimensions.scriptVersion] ??= { requests: 0, errors: 0 });
      total.requests += row.sum.requests;
      total.errors += row.sum.errors;
      expect(row.dimensions.scriptName).toBe(WORKER);
      expect(row.dimensions.datetime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    return totals;
  };

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-analytics-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
    const first = await run('deploy', '--message', 'v1');
    expect(first.code, first.output).toBe(0);
    v1 = String(first.entries.find((entry) => entry.type === 'deploy')?.version_id);
    url = emu.workers.url(WORKER)!;
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('versions upload --preview-alias: has_preview true, so wrangler prints and writes both preview URLs; the alias is kept', async () => {
    const uploaded = await run('versions', 'upload', '--message', 'v2', '--preview-alias', 'pr-7');
    expect(uploaded.code, uploaded.output).toBe(0);
    const entry = uploaded.entries.find((each) => each.type === 'version-upload')!;
    v2 = String(entry.version_id);
    // workers_dev is true in the fixture and it sets no preview_urls: previews follow workers.dev.
    expect(entry.preview_url).toBe(`https://${v2.slice(0, 8)}-${WORKER}.slipway-test.workers.dev`);
    expect(entry.preview_alias_url).toBe(`https://pr-7-${WORKER}.slipway-test.workers.dev`);
    expect(uploaded.output).toContain(
      `Version Preview Alias URL: https://pr-7-${WORKER}.slipway-test.workers.dev`,
    );
    const version = await call('GET', `/workers/scripts/${WORKER}/versions/${v2}`);
    expect(version.body.result.metadata.has_preview).toBe(true);
    expect(version.body.result.annotations).toMatchObject({
      'workers/message': 'v2',
      'workers/alias': 'pr-7',
    });
  });

  it('wrangler versions deploy <v1>@90 <v2>@10 works; 3 versions are refused, by wrangler and by the API', async () => {
    since = new Date().toISOString();
    const deployed = await run(
      'versions',
      'deploy',
      `${v1}@90`,
      `${v2}@10`,
      '--yes',
      '--message',
      'canary 10%',
    );
    expect(deployed.code, deployed.output).toBe(0);
    const spare = await run('versions', 'upload', '--message', 'spare (never deployed)');
    const v2b = String(spare.entries.find((entry) => entry.type === 'version-upload')?.version_id);
    const posts = () =>
      emu.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/deployments')).length;
    const postsBefore = posts();
    const three = await run('versions', 'deploy', `${v1}@80`, `${v2}@10`, `${v2b}@10`, '--yes');
    expect(three.code).toBe(1);
    expect(three.output).toContain('You must select at most 2 versions to deploy.');
    expect(posts()).toBe(postsBefore);
    const refused = await call('POST', `/workers/scripts/${WORKER}/deployments`, {
      strategy: 'percentage',
      versions: [
        { version_id: v1, percentage: 80 },
        { version_id: v2, percentage: 10 },
        { version_id: v2b, percentage: 10 },
      ],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toMatchObject({
      code: 10021,
      message: 'a deployment must have 1 or 2 versions',
    });
    expect(emu.state.script(WORKER)!.deployments[0]!.versions).toEqual([
      { version_id: v1, percentage: 90 },
      { version_id: v2, percentage: 10 },
    ]);
  });

  it('N requests, then an exception fault on the new version: GraphQL gives each version its requests and errors', async () => {
    const before = await tally(100);
    expect(Object.keys(before).sort()).toEqual([v1, v2].sort());
    // Half of v2's requests throw from here on; a 503 v1 answers itself is a success.
    const faults: WorkerFault[] = [
      { script: WORKER, version: v2, kind: 'exception', percent: 50 },
      { script: WORKER, version: v1, kind: 'status', status: 503, times: 3 },
    ];
    for (const fault of faults) {
      const added = await admin('/__admin/worker-faults', { method: 'POST', body: JSON.stringify(fault) });
      expect(added.status).toBe(200);
    }
    try {
      const after = await tally(100);
      const threw = after['500 1101'] ?? 0;
      expect(threw).toBeGreaterThan(0);
      const v2After = threw + (after[v2] ?? 0);
      expect(threw).toBe(Math.floor(v2After / 2));
      expect(after['503 ']).toBe(3);
      expect(await perVersion()).toEqual({
        [v1]: { requests: before[v1]! + after[v1]! + 3, errors: 0 },
        [v2]: { requests: before[v2]! + v2After, errors: threw },
      });
    } finally {
      await admin('/__admin/worker-faults', { method: 'DELETE' });
    }
  });

  it("the kit's own query (one version, string variables) and Cloudflare's error answers", async () => {
    const kit = `query SlipwayVersionErrors($accountTag: string, $scriptName: string, $scriptVersion: string, $datetimeStart: string, $datetimeEnd: string) {
      viewer { accounts(filter: {accountTag: $accountTag}) {
        workersInvocationsAdaptive(limit: 100, filter: {scriptName: $scriptName, scriptVersion: $scriptVersion, datetime_geq: $datetimeStart, datetime_leq: $datetimeEnd}) {
          sum { requests errors } dimensions { scriptVersion } } } } }`;
    const variables = {
      accountTag: TEST_ACCOUNT,
      scriptName: WORKER,
      scriptVersion: v2,
      datetimeStart: since,
      datetimeEnd: new Date().toISOString(),
    };
    const answer = await graphql(kit, variables);
    expect(answer.body.data.viewer.accounts[0]!.workersInvocationsAdaptive).toEqual([
      { sum: (await perVersion())[v2], dimensions: { scriptVersion: v2 } },
    ]);
    // The documented query verbatim asks for quantiles (CPU time), which the emulator does not measure.
    const verbatim = await graphql(
      DOCUMENTED.replace('dimensions{', 'quantiles { cpuTimeP50 cpuTimeP99 } dimensions{'),
      variables,
    );
    expect(verbatim.status).toBe(400);
    expect(verbatim.body).toMatchObject({ data: null, errors: [{ message: 'unknown field "quantiles"' }] });
    const anonymous = await graphql(kit, variables, { 'content-type': 'application/json' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ data: null, errors: [{ message: 'Unauthorized' }] });
  });

  it('the deployment history reads back newest first: 10 → 50 → 100', async () => {
    for (const specs of [[`${v1}@50`, `${v2}@50`], [`${v2}@100`]]) {
      const deployed = await run('versions', 'deploy', ...specs, '--yes');
      expect(deployed.code, deployed.output).toBe(0);
    }
    const listed = await call('GET', `/workers/scripts/${WORKER}/deployments`);
    const shareOfV2 = listed.body.result.deployments
      .slice(0, 3)
      .map((deployment) => deployment.versions.find((entry) => entry.version_id === v2)?.percentage);
    expect(shareOfV2).toEqual([100, 50, 10]);
    expect(listed.body.result.deployments[2]).toMatchObject({
      strategy: 'percentage',
      annotations: { 'workers/message': 'canary 10%' },
    });
  });

  it("a Worker's own uncaught exception is answered with the 1101 page and counted as an error", async () => {
    writeFileSync(
      join(dir, 'src/index.js'),
      `export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === '/throw') throw new Error('v3 is broken');
    return Response.json({ version: env.CF_VERSION_METADATA?.id ?? null, message: env.MESSAGE });
  },
};
`,
    );
    const uploaded = await run('versions', 'upload', '--message', 'v3 throws');
    expect(uploaded.code, uploaded.output).toBe(0);
    const v3 = String(uploaded.entries.find((entry) => entry.type === 'version-upload')?.version_id);
    expect((await run('versions', 'deploy', `${v2}@100`, `${v3}@0`, '--yes')).code).toBe(0);
    const override = { [OVERRIDES]: `${WORKER}="${v3}"` };
    const thrown = await fetch(`${url}/throw`, { headers: override });
    expect(thrown.status).toBe(500);
    expect(thrown.headers.get('content-type')).toMatch(/text\/html/);
    expect(await thrown.text()).toMatch(/Error 1101[\s\S]*Worker threw exception/);
    expect(await tally(2, override)).toEqual({ [v3]: 2 });
    expect((await perVersion())[v3]).toEqual({ requests: 3, errors: 1 });
    expect(emu.unknown).toEqual([]);
  });
});
