import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../emulator/server.js';
import type { WorkerFault } from '../../emulator/workers.js';
import { ROOT } from '../harness/runner.js';
import { wrangler } from '../harness/wrangler.js';

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
