import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ContextFiles } from './context.js';
import { parseDirectives, validateDirectives } from './directives.js';
import { prepareCachedStages, replaceStages, StageBuildError, type StageReport } from './stage-cache.js';
import type { StoreChoice } from '../core/cache.js';
import { chooseStore } from './store.js';
import { parseDockerfile, reachableStages, targetStage } from './dockerfile.js';
import {
  countCachedSteps,
  describeBuilder,
  ghaScope,
  ratio,
  type CacheSpec,
} from '../engine/build-command.js';
import { DockerClient } from '../engine/client.js';
import { lastLine } from '../core/text.js';
import { detectEngine, type Engine } from '../engine/engine.js';
import { UserError } from '../core/errors.js';
import type { Deps } from '../core/io.js';
import { formatBytes } from '../core/bytes.js';
import { cell, formatSeconds, table } from '../core/markdown.js';
import { fullReferences, ociLabels, planTags, validateImageName, type RunContext } from './tags.js';

export type CacheMode = 'auto' | 'stage' | 'gha' | 'registry' | 'none';
export const CACHE_MODES: readonly CacheMode[] = ['auto', 'stage', 'gha', 'registry', 'none'];

export interface BuildImageOptions {
  context: string;
  /** Empty: <context>/Dockerfile. */
  file: string;
  target?: string;
  buildArgs: Array<[string, string]>;
  image: string;
  extraTags: string[];
  push: boolean;
  platforms: string[];
  labels: Array<[string, string]>;
  cache: CacheMode;
  cacheStore: StoreChoice;
  cacheDir: string;
  network?: string;
  run: RunContext;
}

export interface BuildImageResult {
  image: string;
  imageId: string;
  tags: string[];
  digest?: string;
  cacheHitRatio: number;
  stageCache: StageReport[];
  durationSeconds: number;
  engine: Engine;
  summary: string;
}

/**
 * What the cache mode means on this engine: the stage cache, and the buildx cache backends with
 * their scopes (per image and branch; the default branch's scope is read too). Pure.
 */
export function planCache(
  mode: CacheMode,
  engine: Pick<Engine, 'buildx'>,
  env: Record<string, string | undefined>,
  image: string,
  run: RunContext,
): { useStage: boolean; spec: CacheSpec; warnings: string[] } {
  const spec: CacheSpec = {};
  const warnings: string[] = [];
  if ((mode === 'gha' || mode === 'registry') && !engine.buildx) {
    throw new UserError(
      `cache: ${mode} needs docker buildx: add docker/setup-buildx-action before this step, or use cache: stage.`,
    );
  }
  if (mode === 'gha' || (mode === 'auto' && engine.buildx)) {
    if (!(env.ACTIONS_CACHE_URL || env.ACTIONS_RESULTS_URL) || !env.ACTIONS_RUNTIME_TOKEN) {
      warnings.push(
        'The gha build cache needs ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL (or ACTIONS_CACHE_URL), which this step cannot see: buildx would drop the cache silently, so it is not used. Run on a GitHub-hosted runner, or expose them (crazy-max/ghaction-github-runtime).',
      );
    } else {
      const branch = run.ref.startsWith('refs/heads/')
        ? run.ref.slice(11)
        : run.prNumber
          ? `pr-${run.prNumber}`
          : 'local';
      const readScopes = run.defaultBranch ? [ghaScope(image, run.defaultBranch)] : [];
      spec.gha = { scope: ghaScope(image, branch), readScopes };
    }
  }
  if (mode === 'registry') spec.registry = { ref: `${image}:buildcache` };
  return { useStage: mode === 'auto' || mode === 'stage', spec, warnings };
}

/**
 * build-image: parse and check everything first (nothing is built or stored for bad input), then
 * restore or build the cached stages, build the image, push it when asked, and report.
 */
export async function buildImage(o: BuildImageOptions, deps: Deps): Promise<BuildImageResult> {
  const started = performance.now();
  const now = deps.now();
  const context = resolve(o.context || '.');
  if (!existsSync(context) || !statSync(context).isDirectory()) {
    throw new UserError(
      `Build context "${o.context}" is not a directory: set "context" to the folder your Dockerfile builds from.`,
    );
  }
  const file = resolve(o.file ? o.file : join(context, 'Dockerfile'));
  if (!existsSync(file)) {
    throw new UserError(`No Dockerfile at ${file}: add one, or set "file" to its path.`);
  }
  const df = parseDockerfile(readFileSync(file, 'utf8'), o.file || 'Dockerfile');
  const directives = parseDirectives(df, o.file || 'Dockerfile');
  validateDirectives(df, directives, o.file || 'Dockerfile');
  const target = targetStage(df, o.target, o.file || 'Dockerfile');
  const image = validateImageName(o.image);
  const plan = planTags(o.run);
  const refs = fullReferences(image, plan.tags, o.extraTags);
  const userLabels = new Set(o.labels.map(([k]) => k));
  const labels = [...ociLabels(o.run, plan.version, now).filter(([k]) => !userLabels.has(k)), ...o.labels];

  const engine = await detectEngine(deps.run, deps.env);
  deps.log.info(
    `Engine: ${engine.kind} ${engine.clientVersion} (server ${engine.serverVersion}), building with ${describeBuilder(engine)}.`,
  );
  const { useStage, spec: cacheSpec, warnings } = planCache(o.cache, engine, deps.env, image, o.run);
  warnings.forEach((w) => deps.log.warning(w));

  const client = new DockerClient(engine, deps.run, deps.log);
  const tmp = mkdtempSync(join(deps.env.RUNNER_TEMP || tmpdir(), 'slipway-build-'));
  const cleanupImages: string[] = [];
  try {
    let buildFile = file;
    let stageReports: StageReport[] = [];
    let stageOutput = '';
    const reachable = new Set(reachableStages(df, target).map((s) => s.index));
    const cached = directives
      .map((d) => ({ directive: d, stage: df.stages.find((s) => s.name === d.stage)! }))
      .filter((c) => reachable.has(c.stage.index));
    if (useStage && cached.length) {
      const store = chooseStore(o.cacheStore, o.cacheDir, deps.cache, deps.env);
      const keyContext = {
        df,
        buildArgs: Object.fromEntries(o.buildArgs),
        files: new ContextFiles(context),
        platforms: o.platforms,
      };
      const sc = await deps.log
        .group(`Stage cache (${store.location})`, () =>
          prepareCachedStages({
            client,
            run: deps.run,
            log: deps.log,
            store,
            keyContext,
            stages: cached,
            file,
            context,
            buildArgs: o.buildArgs,
            network: o.network,
            platforms: o.platforms,
            tmp,
            now,
          }),
        )
        .catch((err: unknown) => {
          if (err instanceof StageBuildError)
            throw new UserError(`${err.message} (the build output above has the details).`);
          throw err;
        });
      cleanupImages.push(...sc.images);
      stageReports = sc.reports;
      stageOutput = sc.output;
      if (sc.replacements.size) {
        buildFile = join(tmp, 'Dockerfile');
        writeFileSync(buildFile, replaceStages(df, sc.replacements));
      }
    } else if (!useStage && directives.length) {
      deps.log.info(`cache: ${o.cache}: the slipway:cache directives are not used.`);
    }

    const iidfile = join(tmp, 'iid');
    const metadataFile = join(tmp, 'metadata.json');
    const built = await deps.log.group(`docker build ${refs[0]}`, () =>
      client.build({
        context,
        file: buildFile,
        target: o.target || undefined,
        buildArgs: o.buildArgs,
        labels,
        tags: refs,
        platforms: o.platforms,
        network: o.network,
        iidfile,
        push: o.push,
        metadataFile,
        cache: cacheSpec,
      }),
    );
    if (built.code !== 0) {
      const err =
        built.output
          .split('\n')
          .reverse()
          .find((l) => /error/i.test(l)) ?? lastLine(built.output);
      throw new UserError(
        `The image build failed (exit ${built.code}): ${err.trim().replace(/^#\d+ /, '')} (full output in the "docker build" group above).`,
      );
    }
    const imageId = existsSync(iidfile)
      ? readFileSync(iidfile, 'utf8').trim()
      : ((await client.inspect(refs[0]!, '{{.Id}}')) ?? '');

    let digest: string | undefined;
    if (o.push) {
      if (engine.builder === 'buildx' && existsSync(metadataFile)) {
        digest = (JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, string>)[
          'containerimage.digest'
        ];
      } else {
        await deps.log.group(`push ${refs.join(', ')}`, async () => {
          for (const r of refs) await client.push(r);
        });
        const repoDigests = JSON.parse(
          (await client.inspect(refs[0]!, '{{json .RepoDigests}}')) ?? '[]',
        ) as string[];
        digest = repoDigests.find((d) => d.startsWith(`${image}@`))?.split('@')[1];
      }
    }

    const steps = countCachedSteps(`${stageOutput}\n${built.output}`);
    const result: BuildImageResult = {
      image: refs[0]!,
      imageId,
      tags: refs,
      digest,
      cacheHitRatio: ratio(steps),
      stageCache: stageReports,
      durationSeconds: Math.round((performance.now() - started) / 100) / 10,
      engine,
      summary: '',
    };
    result.summary = buildSummary(result, steps, o.push);
    return result;
  } finally {
    await client.removeImages(cleanupImages).catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function buildSummary(
  r: BuildImageResult,
  steps: { cached: number; total: number },
  pushed: boolean,
): string {
  const pct = steps.total ? ` (${Math.round((steps.cached / steps.total) * 100)}%)` : '';
  const out = [
    `### build-image: \`${r.image}\``,
    '',
    table(
      ['', ''],
      [
        ['Image ID', `\`${r.imageId.replace(/^sha256:/, '').slice(0, 12)}\``],
        ['Builder', describeBuilder(r.engine)],
        ['Cached steps', `${steps.cached} / ${steps.total}${pct}`],
        ['Duration', formatSeconds(r.durationSeconds)],
        ['Pushed', pushed ? (r.digest ? `\`${r.digest}\`` : 'yes') : 'no'],
      ],
    ),
    '',
  ];
  if (r.stageCache.length) {
    out.push(
      '#### Stage cache',
      '',
      table(
        ['Stage', 'Result', 'Key', 'Artifact', 'Time'],
        r.stageCache.map((s) => [
          `\`${s.stage}\``,
          { hit: '✅ hit', miss: '⬜ miss (stored)', uncached: '⚠️ not cached' }[s.result] +
            (s.note ? `: ${cell(s.note)}` : ''),
          `\`${s.key}\``,
          formatBytes(s.bytes),
          formatSeconds(s.seconds),
        ]),
      ),
      '',
    );
  }
  out.push('#### Tags', '', ...r.tags.map((t) => `- \`${t}\``), '');
  return out.join('\n');
}
