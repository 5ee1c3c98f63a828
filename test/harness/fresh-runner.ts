import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployPipeline } from './deploy-pipeline.js';
import type { ActionsCacheService } from '../../tools/actions-cache/server.js';
import { runComposite, type CompositeRun } from '../../tools/local-runner/composite.js';
import { hostedRunner } from '../../tools/local-runner/hosted.js';
import { DOCKER, forgetImages } from './docker.js';
import { ROOT } from './runner.js';

/**
 * Runs on fresh hosted runners, as the Actions cache sees them: RUNNER_TEMP is one path on every
 * run (the cache version hashes the path an entry was saved from), emptied before each; each run
 * gets a new empty local store. Only the cache service remembers. `cleanup` removes it all.
 */
export class FreshRunners {
  readonly runnerTemp: string;
  private readonly dirs: string[] = [];

  constructor(name: string) {
    this.runnerTemp = join(tmpdir(), `slipway-${name}-runner-temp`);
  }

  /** Starts a run: RUNNER_TEMP emptied; returns a new empty directory for its local store. */
  start(): string {
    rmSync(this.runnerTemp, { recursive: true, force: true });
    mkdirSync(this.runnerTemp);
    const store = mkdtempSync(join(tmpdir(), 'slipway-empty-store-'));
    this.dirs.push(store);
    return store;
  }

  cleanup(): void {
    for (const dir of [this.runnerTemp, ...this.dirs.splice(0)])
      rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One check-mode run of an action.yml (the kit's root by default) on deploy/, on a fresh runner (no
 * images of `image`, no build cache), through the local runner as a hosted runner with `cache`.
 * `seconds`: the run itself, without the clean-up before it.
 */
export async function freshCheckRun(o: {
  cache: ActionsCacheService;
  image: string;
  runners: FreshRunners;
  actionDir?: string;
}): Promise<CompositeRun & { lines: string[]; seconds: number }> {
  forgetImages(o.image);
  const store = o.runners.start();
  const runner = hostedRunner({ cache: o.cache });
  const setup = deployPipeline({
    image: o.image,
    api: 'http://127.0.0.1:9/client/v4',
    url: 'http://127.0.0.1:9',
    temp: o.runners.runnerTemp,
    token: '',
    account: '',
    docker: DOCKER,
  });
  const lines: string[] = [];
  const started = performance.now();
  const run = await runComposite(
    o.actionDir ?? ROOT,
    { ...setup.inputs, mode: 'check' },
    {
      env: { ...setup.env, XDG_CACHE_HOME: store, GITHUB_WORKSPACE: ROOT },
      ...runner,
      github: {
        token: runner.token,
        event_name: 'pull_request',
        ref: 'refs/pull/7/merge',
        sha: '0123456789abcdef0123456789abcdef01234567',
      },
      onLine: (step, line) => lines.push(`${step}: ${line}`),
    },
  );
  return { ...run, lines, seconds: (performance.now() - started) / 1000 };
}
