import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudflareEmulator } from '../emulator/server.js';
import { ROOT, runAction, type ActionRun } from '../test/harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../test/harness/wrangler.js';
import type { Figure } from './build-image.js';

const WORKER = 'slipway-fixture';
/** How long production's traffic is watched after each deploy starts. */
const WINDOW_MS = 25_000;

/** What production's users saw over the window: requests, failures, and the bad version's part. */
interface Seen {
  requests: number;
  failed: number;
  /** Requests the bad version answered (or threw on). */
  bad: number;
  /** From the first to the last request the bad version served, in seconds. */
  badSeconds: number;
}

/** Steady traffic on the Worker's URL for the window: who answered each request and how. */
async function watch(url: string, badVersion: () => string | undefined): Promise<Seen> {
  const seen: Seen = { requests: 0, failed: 0, bad: 0, badSeconds: 0 };
  const start = Date.now();
  let first: number | undefined;
  let last: number | undefined;
  while (Date.now() - start < WINDOW_MS) {
    const res = await fetch(url).catch(() => undefined);
    const body = res?.ok ? ((await res.json()) as { version?: string }) : undefined;
    if (res && !res.ok) await res.arrayBuffer();
    seen.requests++;
    if (!res?.ok) seen.failed++;
    // A thrown exception names no version: it is the bad one's (only it throws).
    const fromBad = body ? body.version === badVersion() : !!badVersion();
    if (fromBad && badVersion()) {
      seen.bad++;
      first ??= Date.now();
      last = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  seen.badSeconds = first === undefined ? 0 : (last! - first) / 1000;
  return seen;
}

/**
 * The same bad version, one that throws on a third of its requests (it passes a smoke test, which
 * retries), shipped twice against the emulator with steady traffic: immediate (the deploy, then the
 * pipeline's smoke test, which passes: nothing rolls it back) and gradual (steps 10, 50, 100 with a
 * 5% error gate, 3 s bake). Figures: how long the bad version served and the share of all requests
 * that failed, over the same window from the deploy's start.
 */
export async function benchGradual(): Promise<Figure[]> {
  const emu = new CloudflareEmulator();
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-gradual-'));
  cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  try {
    const api = await emu.start();
    const url = await emu.workers.open(WORKER);
    const admin = api.replace('/client/v4', '');
    const action = (name: 'deploy' | 'smoke-test', inputs: Record<string, string>) =>
      runAction(
        name,
        name === 'deploy'
          ? { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': dir, ...inputs }
          : inputs,
        { env: { CLOUDFLARE_API_BASE_URL: api } },
      );
    const live = () => emu.state.liveVersion(emu.state.script(WORKER)!)?.id;
    const ship = async (inputs: Record<string, string>, smoke: boolean) => {
      const good = live()!;
      let bad: string | undefined;
      const deployed = (async () => {
        const run: ActionRun = await action('deploy', inputs);
        bad = run.outputs['version-id'];
        if (smoke && run.code === 0)
          await action('smoke-test', {
            url,
            health: 'json',
            'version-path': '/version',
            'expect-version': bad!,
          });
      })();
      // Every version but the good one throws on a third of its requests.
      const fault = { script: WORKER, kind: 'exception', notVersion: good, percent: 34 };
      await fetch(`${admin}/__admin/worker-faults`, { method: 'POST', body: JSON.stringify(fault) });
      const seen = await watch(url, () => bad ?? pendingVersion(emu, good));
      await deployed;
      await fetch(`${admin}/__admin/worker-faults`, { method: 'DELETE' });
      // Back to the good version for the next run.
      if (live() !== good) await action('deploy', { message: 'good again', vars: 'MESSAGE=good' });
      return seen;
    };
    if ((await action('deploy', { message: 'good' })).code !== 0) throw new Error('the first deploy failed');
    const immediate = await ship({ message: 'bad, immediate', vars: 'MESSAGE=bad1' }, true);
    const gradual = await ship(
      {
        message: 'bad, gradual',
        vars: 'MESSAGE=bad2',
        strategy: 'gradual',
        'gradual-steps': '10,50,100',
        'step-wait': '3s',
        'max-error-rate': '5%',
        'min-requests': '3',
        'gate-url': url,
        health: 'json',
        'version-path': '/version',
      },
      false,
    );
    return figures(immediate, gradual);
  } finally {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The newest version of the Worker that is not the good one (the one being deployed), if any. */
function pendingVersion(emu: CloudflareEmulator, good: string): string | undefined {
  const versions = emu.state.script(WORKER)?.versions ?? [];
  const newest = versions.at(-1)?.id;
  return newest && newest !== good ? newest : undefined;
}

function figures(immediate: Seen, gradual: Seen): Figure[] {
  const share = (seen: Seen) => seen.failed / Math.max(1, seen.requests);
  return [
    {
      name: `immediate: the bad version served for (of ${WINDOW_MS / 1000} s watched)`,
      value: immediate.badSeconds,
      unit: 's',
    },
    { name: 'immediate: share of all requests that failed', value: share(immediate), unit: 'ratio' },
    { name: 'gradual: the bad version served for', value: gradual.badSeconds, unit: 's' },
    { name: 'gradual: share of all requests that failed', value: share(gradual), unit: 'ratio' },
    {
      name: 'failed requests, gradual / immediate',
      value: share(gradual) / Math.max(1e-9, share(immediate)),
      unit: 'ratio',
      target: { max: 0.2 },
    },
  ];
}
