import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Listr } from 'listr2';
import { CloudflareEmulator } from '../../emulator/server.js';
import { ActionsCacheService } from '../../tools/actions-cache/server.js';
import { runComposite, type CompositeRun } from '../../tools/local-runner/composite.js';
import { hostedRunner } from '../../tools/local-runner/hosted.js';
import { DOCKER, REGISTRY, removeImageTags } from '../../test/harness/docker.js';
import { UserError } from '../lib/core/errors.js';
import { findProject, rootInputs, type RehearsalProject } from './project.js';
import { renderMarkdown } from './render.js';
import { verifyProduction, type Served } from './rehearse-verify.js';

/**
 * `slipway rehearse`: the whole pipeline (the root action.yml, its steps and bundles as a runner
 * runs them) on a project, against this machine's engine, the Cloudflare emulator, a local Actions
 * cache service and the real wrangler. It deploys v1 and v2 (each its own image: each version is
 * its own commit, so its labels differ, and a slipway.json `version-arg` carries the version into
 * the image). With --break=image, v3's image passes boot-test but answers unhealthy in production
 * (an emulator fault scoped to every image but v2's); with --break=worker, v3's Worker answers 503
 * on v2's image. Either fails its smoke test and is rolled back automatically, and the command ends
 * by checking that production serves v2's Worker on v2's image.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOKEN = 'rehearsal-token-not-a-secret';
const ACCOUNT = '0123456789abcdef0123456789abcdef';

export type Break = 'image' | 'worker';

export interface RehearsalOptions {
  project: RehearsalProject;
  breakIt?: Break;
  /** gradual: v2 and v3 go out in steps (10, 50, 100) gated on health, a bad v3 restored by deploy itself. */
  strategy?: 'immediate' | 'gradual';
  /** Where the full log goes. */
  logFile: string;
  /** Colour and live progress (a terminal without NO_COLOR). */
  color: boolean;
  out: (text: string) => void;
}

/** The rehearsal's services: the emulator and the Actions cache, and how to stop them. */
interface Services {
  emu: CloudflareEmulator;
  api: string;
  url: string;
  runner: ReturnType<typeof hostedRunner>;
  temp: string;
  stop: () => Promise<void>;
}

function parseBreak(value: string | undefined): Break | undefined {
  if (value === undefined) return undefined;
  if (value === 'image' || value === 'worker') return value;
  throw new UserError(`--break=${value}: use --break=image or --break=worker.`);
}

/** `slipway rehearse [--dir d] [--service s] [--config f] [--env e] [--with name=value] [--break=image|worker]`. */
export async function rehearseCommand(args: string[], out: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: 'string', default: '.' },
      service: { type: 'string' },
      config: { type: 'string' },
      env: { type: 'string' },
      with: { type: 'string', multiple: true },
      break: { type: 'string' },
      strategy: { type: 'string' },
    },
  });
  const breakIt = parseBreak(values.break);
  if (values.strategy && values.strategy !== 'immediate' && values.strategy !== 'gradual')
    throw new UserError(`--strategy=${values.strategy}: use --strategy=immediate or --strategy=gradual.`);
  const strategy = values.strategy as RehearsalOptions['strategy'];
  const project = findProject({ ...values, with: values.with ?? [] }, rootInputs(ROOT));
  const logDir = join(resolve(values.dir), '.slipway');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, 'rehearsal.log');
  writeFileSync(logFile, '');
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  return rehearse({ project, breakIt, strategy, logFile, color, out });
}

async function startServices(o: RehearsalOptions): Promise<Services> {
  const temp = mkdtempSync(join(tmpdir(), 'slipway-rehearsal-'));
  const emu = new CloudflareEmulator({
    docker: DOCKER,
    log: (m) => appendFileSync(o.logFile, `[emulator] ${m}\n`),
  });
  // GitHub's Actions cache, as a local service: the stage cache and the size memo persist in it
  // across the versions as they do across runs on GitHub's runners.
  const cache = new ActionsCacheService();
  const stop = async () => {
    await emu.stop().catch(() => undefined);
    await cache.stop().catch(() => undefined);
    rmSync(temp, { recursive: true, force: true });
    // What deploy pushed to the emulator's registry goes with it; the local build stays (a cache).
    removeImageTags(new RegExp(`(^|/)${imageName(o.project)}:slipway-[0-9a-f]{12}$`));
  };
  try {
    const api = await emu.start();
    const url = await emu.workers.open(o.project.worker);
    await cache.start();
    return { emu, api, url, runner: hostedRunner({ cache }), temp, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

const imageName = (project: RehearsalProject) => `slipway-rehearsal/${project.service}`;

/** A commit sha of its own for each rehearsed version (the image's revision label and tags). */
const versionSha = (n: number) => createHash('sha1').update(`slipway rehearsal v${n}`).digest('hex');

/** The root action's inputs for version n (imageOf: the version whose image it ships). */
function versionInputs(o: RehearsalOptions, s: Services, n: number, imageOf: number, broken: boolean) {
  const { project } = o;
  const versionArg = project.versionArg ? `${project.versionArg}=rehearsal-v${imageOf}` : '';
  // The extended document names the image's version; basic and json read it from version-header.
  const expectImage =
    project.versionArg && project.inputs.health === 'extended' ? `rehearsal-v${imageOf}` : '';
  return {
    'cache-store': 'auto',
    ...project.inputs,
    'build-args': [project.inputs['build-args'], versionArg].filter(Boolean).join('\n'),
    image: imageName(project),
    // Only loopback is a network target on these machines; a laptop's host network works as well.
    network: 'host',
    'boot-network': 'host',
    'api-token': TOKEN,
    'account-id': ACCOUNT,
    'smoke-url': s.url,
    message: `rehearsal v${n}`,
    ...(expectImage ? { 'expect-image': expectImage } : {}),
    'smoke-timeout': broken ? '5s' : (project.inputs['smoke-timeout'] ?? '60s'),
    ...(o.strategy === 'gradual'
      ? { strategy: 'gradual', 'gradual-steps': '10,50,100', 'step-wait': '2s' }
      : {}),
  };
}

function pipelineEnv(s: Services): Record<string, string | undefined> {
  return {
    ...process.env,
    RUNNER_TEMP: s.temp,
    CLOUDFLARE_API_BASE_URL: s.api,
    CLOUDFLARE_CONTAINER_REGISTRY: REGISTRY,
    WRANGLER_CI_OVERRIDE_NETWORK_MODE_HOST: 'true',
    SLIPWAY_DOCKER: DOCKER,
    // The same source builds the same image: the created label is fixed (a runner uses the pushed
    // commit's time); each version's commit sha tells the versions apart.
    SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH ?? '1700000000',
  };
}

const mark = (phase: string) => (phase === 'success' ? '✓' : phase === 'skipped' ? '·' : '✗');

/**
 * The runner's callbacks as progress under the version's task: each step as it starts and ends,
 * with the errors and warnings it raised; every line goes to the log file.
 */
function progress(o: RehearsalOptions, task: { output: string }) {
  const lines: string[] = [];
  // A terminal redraws the whole list; line-by-line output gets each finished line once.
  const show = (current?: string) =>
    (task.output = o.color
      ? [...lines, ...(current ? [current] : [])].join('\n')
      : (current ?? lines.at(-1)!));
  return {
    onStep: (step: string, phase: string, seconds?: number) => {
      if (phase === 'start') return o.color && show(`▶ ${step} …`);
      lines.push(`${mark(phase)} ${step}${phase === 'skipped' ? '' : ` ${seconds?.toFixed(1)}s`}`);
      show();
    },
    onLine: (step: string, line: string, command: boolean) => {
      appendFileSync(o.logFile, `[${step}] ${line}\n`);
      const m = command ? /^::(error|warning)[^:]*::(.*)$/.exec(line) : null;
      if (!m) return;
      lines.push(`  ${m[1]}: ${m[2]!.replace(/%0A/g, ' ').replace(/%25/g, '%')}`);
      show();
    },
  };
}

/** Runs the pipeline for version n with live progress (listr2): one task, each step a line under it. */
async function runVersion(o: RehearsalOptions, s: Services, n: number, broken: boolean, imageOf = n) {
  const title = `v${n}${broken ? ` (broken ${o.breakIt}: watch the rollback)` : ''}`;
  let run: CompositeRun | undefined;
  const started = Date.now();
  await new Listr(
    [
      {
        title,
        task: async (_ctx, task) => {
          run = await runComposite(ROOT, versionInputs(o, s, n, imageOf, broken), {
            env: pipelineEnv(s),
            ...s.runner,
            github: {
              event_name: 'workflow_dispatch',
              ref: 'refs/heads/main',
              sha: versionSha(imageOf),
              token: s.runner.token,
            },
            ...progress(o, task),
          });
          task.title = `${title}: exit ${run.code}, ${((Date.now() - started) / 1000).toFixed(1)}s`;
        },
        // Every finished step stays listed under the version (listr2's default renderer).
        rendererOptions: { persistentOutput: true, outputBar: Infinity },
      },
    ],
    // Live progress on a terminal; without one (or with NO_COLOR), listr2's line-by-line renderer.
    {
      renderer: 'default',
      fallbackRenderer: 'simple',
      fallbackRendererCondition: !o.color,
      exitOnError: false,
    },
  ).run();
  // The job summary as GitHub would show it, beside the log (a picture of one: docs/job-summary.png).
  writeFileSync(join(dirname(o.logFile), `rehearsal-v${n}.md`), run!.summary);
  o.out(renderMarkdown(run!.summary, o.color).trimEnd().replace(/^/gm, '    '));
  return run!;
}

/** Faults that make v3 fail in production only: its image (every image but v2's), or its Worker. */
async function breakV3(o: RehearsalOptions, s: Services, good: Served): Promise<void> {
  const admin = s.api.replace('/client/v4', '');
  const escaped = good.image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const healthPath =
    o.project.inputs['health-path'] || (o.project.inputs.health === 'extended' ? '/health/extended' : '/');
  const fault =
    o.breakIt === 'image'
      ? ['container-faults', { kind: 'unhealthy', regex: `^(?!${escaped}$)`, path: `^${healthPath}$` }]
      : [
          'worker-faults',
          { script: o.project.worker, kind: 'status', status: 503, notVersion: good.version },
        ];
  const res = await fetch(`${admin}/__admin/${fault[0] as string}`, {
    method: 'POST',
    body: JSON.stringify(fault[1]),
  });
  if (!res.ok) throw new Error(`the emulator refused the fault: ${await res.text()}`);
}

/** What production serves now: the Worker version and the container application's image. */
function served(o: RehearsalOptions, s: Services): Served {
  const version = s.emu.workers.list()[o.project.worker]?.version ?? '';
  const app = s.emu.containers.applications.find((candidate) => candidate.name.startsWith(o.project.worker));
  return { version, image: app?.configuration.image ?? '' };
}

/** v1, v2, a broken v3 when asked; then whether production serves v2. */
export async function rehearse(o: RehearsalOptions): Promise<number> {
  const s = await startServices(o);
  process.once('SIGINT', () => void s.stop().then(() => process.exit(130)));
  try {
    o.out(
      `Slipway rehearsal of ${o.project.service} (${o.project.worker}): the emulator at ${s.api}, the Worker at ${s.url}; full log ${o.logFile}`,
    );
    for (const n of [1, 2]) {
      const run = await runVersion(o, s, n, false);
      if (run.code !== 0) throw new Error(`v${n} did not deploy (exit ${run.code})`);
    }
    const good = served(o, s);
    if (o.breakIt) {
      await breakV3(o, s, good);
      const v3 = await runVersion(o, s, 3, true, o.breakIt === 'image' ? 3 : 2);
      if (v3.code === 0) throw new Error('v3 was broken but the pipeline passed');
      // Immediate: the pipeline's rollback step undoes the deploy. Gradual: deploy restores production itself.
      if (o.strategy !== 'gradual' && v3.outputs['rolled-back'] !== 'true')
        throw new Error('v3 failed but was not rolled back');
    }
    const verdict = await verifyProduction(o.project, s.url, good, served(o, s));
    o.out(`\n${verdict.ok ? '✓' : '✗'} ${verdict.line}`);
    return verdict.ok ? 0 : 1;
  } catch (err) {
    o.out(`✗ rehearsal failed: ${(err as Error).message} (log: ${o.logFile})`);
    return 1;
  } finally {
    await s.stop();
  }
}
