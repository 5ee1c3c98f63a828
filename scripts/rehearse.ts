// The local rehearsal: the whole pipeline (the root action.yml, its steps and bundles as a runner
// runs them) on deploy/, against this machine's Docker engine, the Cloudflare emulator and the real
// wrangler. It deploys v1 and v2 (each its own image, told apart by IMAGE_VERSION). With
// --break=image, v3's image passes boot-test but is unhealthy in production (an emulator fault
// scoped to that image); with --break=worker (or --break), v3's Worker answers unhealthy and its
// image is v2's. Either fails its smoke test and is rolled back automatically: the Worker deployment
// and the container image. It ends by checking that the URL serves v2's Worker on v2's image.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudflareEmulator } from '../emulator/server.js';
import { ActionsCacheService } from '../tools/actions-cache/server.js';
import { runComposite, type CompositeRun } from '../tools/local-runner/composite.js';
import { hostedRunner } from '../tools/local-runner/hosted.js';
import { DOCKER, removeImageTags } from '../test/harness/docker.js';
import { painter } from '../src/cli/main.js';
import { renderMarkdown } from '../src/cli/render.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORKER = 'loa-gateway-rehearsal';
const REGISTRY = '127.0.0.1:5000';
const TOKEN = 'rehearsal-token-not-a-secret';
const ACCOUNT = '0123456789abcdef0123456789abcdef';
const breakArg = process.argv.find((arg) => arg === '--break' || arg.startsWith('--break='));
const breakIt: 'image' | 'worker' | undefined = breakArg
  ? breakArg === '--break' || breakArg === '--break=worker'
    ? 'worker'
    : breakArg === '--break=image'
      ? 'image'
      : (() => {
          throw new Error(`${breakArg}: use --break=image or --break=worker`);
        })()
  : undefined;
const paint = painter(process.stdout, process.env);
const { dim, bold } = paint;
/** A job summary for this terminal (marked-terminal; plain without a TTY or with NO_COLOR). */
const renderSummary = (md: string) =>
  renderMarkdown(md, Boolean(process.stdout.isTTY) && !process.env.NO_COLOR).trimEnd();

/**
 * The root action's inputs and environment for deploy/ against the Cloudflare emulator: the
 * rehearsal's, and the pipeline test's.
 */
export function deployPipeline(o: {
  image: string;
  api: string;
  url: string;
  temp: string;
  token: string;
  account: string;
  docker: string;
}): { inputs: Record<string, string>; env: Record<string, string | undefined> } {
  return {
    inputs: {
      context: join(ROOT, 'deploy'),
      dockerfile: join(ROOT, 'deploy/Dockerfile.core'),
      'build-args': 'NODE_IMAGE=slipway/node:20',
      image: o.image,
      network: 'host',
      'cache-store': 'auto',
      'instance-type': 'standard-1',
      forbid: 'rustc\ncargo\n~/.cargo\ntorch\nsentence_transformers',
      require: 'node\njq\ngit\nrg',
      // The gateway serves the extended-health document: its version.id proves the deployed version.
      health: 'extended',
      'boot-env': 'LOA_DEFERRED_TOOLS=false',
      'boot-network': 'host',
      'working-directory': join(ROOT, 'deploy/cloudflare'),
      environment: 'rehearsal',
      'api-token': o.token,
      'account-id': o.account,
      'smoke-url': o.url,
    },
    env: {
      ...process.env,
      RUNNER_TEMP: o.temp,
      CLOUDFLARE_API_BASE_URL: o.api,
      CLOUDFLARE_CONTAINER_REGISTRY: REGISTRY,
      WRANGLER_CI_OVERRIDE_NETWORK_MODE_HOST: 'true',
      SLIPWAY_DOCKER: o.docker,
      // Every version is built from this one checkout: the created label is its commit's time, so
      // the same source builds the same image (as on a runner, from the pushed commit's timestamp).
      SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH ?? checkoutTime(),
    },
  };
}

/** The checkout's HEAD commit time (seconds), or the epoch outside a git checkout. */
function checkoutTime(): string {
  try {
    return execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim() || '0';
  } catch {
    return '0';
  }
}

/**
 * "stage cache: hit (actions cache)" for each cached stage of a run: the result from build-image's
 * stage-cache output, the store from the log group it opens ("Stage cache (GitHub Actions cache)").
 */
class StageCacheLines {
  private store = '';

  read(step: string, line: string): void {
    const group = /^::group::Stage cache \((.+)\)$/.exec(line);
    if (step === 'build-image' && group)
      this.store = group[1] === 'GitHub Actions cache' ? 'actions cache' : group[1]!;
  }

  lines(run: CompositeRun): string[] {
    const stages = JSON.parse(
      run.steps.find((s) => s.id === 'build')?.outputs['stage-cache'] || '[]',
    ) as Array<{
      stage: string;
      result: string;
    }>;
    return stages.map(
      (s) => `stage cache: ${s.result}${this.store ? ` (${this.store})` : ''}, stage ${s.stage}`,
    );
  }
}

async function main(): Promise<number> {
  const logDir = join(ROOT, '.slipway');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, 'rehearsal.log');
  writeFileSync(logFile, '');
  const temp = mkdtempSync(join(tmpdir(), 'slipway-rehearsal-'));
  const emu = new CloudflareEmulator({
    docker: DOCKER,
    containerEnv: { LOA_DEFERRED_TOOLS: 'false' },
    log: (m) => appendFileSync(logFile, `[emulator] ${m}\n`),
  });
  // GitHub's Actions cache, as a local service: the stage cache and the size memo persist in it
  // across the versions as they do across runs on GitHub's runners.
  const cache = new ActionsCacheService();
  const stopAll = async () => {
    await emu.stop().catch(() => undefined);
    await cache.stop().catch(() => undefined);
    rmSync(temp, { recursive: true, force: true });
    // What was pushed to the emulator's deployments goes with them; the build (dev-local) stays.
    removeImageTags(/(^|\/)slipway-rehearsal\/loa-core:slipway-[0-9a-f]{12}$/);
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    const api = await emu.start();
    const url = await emu.workers.open(WORKER);
    const cacheUrl = await cache.start();
    const runner = hostedRunner({ cache });
    console.log(bold('Slipway rehearsal'));
    console.log(
      dim(
        `Cloudflare emulator ${api}; ${WORKER} will answer at ${url}; Actions cache service ${cacheUrl}; bundles on ${runner.node?.node24}; full log ${logFile}`,
      ),
    );

    const pipeline = deployPipeline({
      image: 'slipway-rehearsal/loa-core',
      api,
      url,
      temp,
      token: TOKEN,
      account: ACCOUNT,
      docker: DOCKER,
    });
    const deployVersion = async (n: number, broken: boolean, imageOf = n): Promise<CompositeRun> => {
      const what =
        breakIt === 'image' ? 'its image is unhealthy in production' : 'its Worker answers unhealthy';
      console.log(`\n${bold(`── v${n}${broken ? ` (${what}: watch the rollback)` : ''}`)}`);
      const started = Date.now();
      const stageCache = new StageCacheLines();
      const r = await runComposite(
        ROOT,
        {
          ...pipeline.inputs,
          message: `rehearsal v${n}`,
          vars: `GATEWAY_ENV=rehearsal-v${n}`,
          'build-args': `${pipeline.inputs['build-args']}\nIMAGE_VERSION=rehearsal-v${imageOf}`,
          'expect-image': `rehearsal-v${imageOf}`,
          'smoke-timeout': broken ? '5s' : '60s',
        },
        {
          env: pipeline.env,
          ...runner,
          github: { event_name: 'workflow_dispatch', ref: 'refs/heads/main', sha: '', token: runner.token },
          onStep: (step, phase, seconds) => {
            if (phase === 'start') process.stdout.write(`  ▶ ${step} …\n`);
            else
              console.log(
                `  ${phase === 'success' ? '✓' : phase === 'skipped' ? '·' : '✗'} ${step} ${dim(phase === 'skipped' ? 'skipped' : `${seconds?.toFixed(1)}s`)}`,
              );
          },
          onLine: (step, line, command) => {
            appendFileSync(logFile, `[${step}] ${line}\n`);
            stageCache.read(step, line);
            const m = command ? /^::(error|warning)[^:]*::(.*)$/.exec(line) : null;
            if (m) console.log(`      ${m[1]}: ${m[2]!.replace(/%0A/g, ' ').replace(/%25/g, '%')}`);
          },
        },
      );
      for (const line of stageCache.lines(r)) console.log(`  ${line}`);
      console.log(renderSummary(r.summary).replace(/^/gm, '    '));
      console.log(dim(`  v${n}: ${((Date.now() - started) / 1000).toFixed(1)}s, exit ${r.code}`));
      return r;
    };

    const v1 = await deployVersion(1, false);
    if (v1.code !== 0) throw new Error('v1 did not deploy');
    const v2 = await deployVersion(2, false);
    if (v2.code !== 0) throw new Error('v2 did not deploy');
    const good = v2.outputs['version-id']!;
    const admin = api.replace('/client/v4', '');
    if (breakIt) {
      if (breakIt === 'image') {
        // Every image but v2's answers unhealthy in production; boot-test (a local run) is untouched.
        const v2Image = emu.containers.applications.find((app) => app.name.startsWith(WORKER))!.configuration
          .image;
        await fetch(`${admin}/__admin/container-faults`, {
          method: 'POST',
          body: JSON.stringify({
            kind: 'unhealthy',
            regex: `^(?!${v2Image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$)`,
          }),
        });
      } else {
        // Every Worker version but v2 answers unhealthy; v3 ships v2's image (no container rollout).
        await fetch(`${admin}/__admin/worker-faults`, {
          method: 'POST',
          body: JSON.stringify({ script: WORKER, kind: 'unhealthy', notVersion: good }),
        });
      }
      const v3 = await deployVersion(3, true, breakIt === 'image' ? 3 : 2);
      if (v3.code === 0) throw new Error('v3 was broken but the pipeline passed');
      if (v3.outputs['rolled-back'] !== 'true') throw new Error('v3 failed but was not rolled back');
    }
    const doc = (await (await fetch(`${url}/health/extended`)).json()) as {
      status: string;
      version: { id: string; image?: string };
    };
    const ok = doc.version.id === good && doc.version.image === 'rehearsal-v2' && doc.status === 'healthy';
    console.log(
      `\n${ok ? '✓' : '✗'} ${url} serves Worker ${doc.version.id} on image ${doc.version.image} (${doc.status})${ok ? `: v2's Worker and v2's image, as it should${breakIt ? ` after rolling back v3 (broken ${breakIt})` : ''}` : `, expected ${good} on rehearsal-v2`}`,
    );
    return ok ? 0 : 1;
  } catch (err) {
    console.error(`✗ rehearsal failed: ${(err as Error).message} (log: ${logFile})`);
    return 1;
  } finally {
    await stopAll();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = await main();
