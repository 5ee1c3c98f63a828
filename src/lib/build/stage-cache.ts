import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Dockerfile } from './dockerfile.js';
import type { CachedStage } from './plan.js';
import type { DockerClient } from '../engine/client.js';
import { lastLine } from '../core/text.js';
import { describeError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import type { Log } from '../core/io.js';
import type { CacheDirective } from './directives.js';
import { stageKey, type KeyContext } from './key.js';
import { CorruptEntryError, type StageStore } from './store.js';
import { secondsSince } from './output.js';

export interface StageReport {
  stage: string;
  key: string;
  bucket: string;
  /** hit: restored from the store, the stage did not run; miss: built and stored; uncached: built, not stored. */
  result: 'hit' | 'miss' | 'uncached';
  /** Size of the stored archive of the stage's outputs. */
  bytes: number;
  seconds: number;
  note?: string;
  /** false: built but not stored (a store fault, or a read-only store on a pull request). */
  stored?: boolean;
  /** The registry store: bytes pulled on a hit, pushed on a miss, and the entry's manifest digest. */
  pulled?: number;
  pushed?: number;
  manifest?: string;
}

/** A failed build of a cached stage (a real build failure, not a cache fault). */
export class StageBuildError extends Error {
  constructor(
    readonly stage: string,
    readonly output: string,
  ) {
    super(`Building stage ${stage} failed: ${lastLine(output)}`);
  }
}

/**
 * Replaces stages by images: each replaced stage's FROM line becomes `FROM <image> AS <name>` and
 * its other instruction lines are blanked, so line numbers in the build's messages still match.
 */
export function replaceStages(df: Dockerfile, replacements: Map<number, string>): string {
  const lines = [...df.lines];
  for (const [index, image] of replacements) {
    const stage = df.stages[index]!;
    const last = stage.instructions.at(-1)?.endLine ?? stage.fromInstruction.endLine;
    for (let line = stage.fromInstruction.startLine; line <= last; line++) lines[line] = '';
    lines[stage.fromInstruction.startLine] = `FROM ${image} AS ${stage.name ?? `stage-${index}`}`;
  }
  return lines.join('\n');
}

export interface StageCacheParams {
  client: DockerClient;
  run: Runner;
  log: Log;
  store: StageStore;
  keyContext: KeyContext;
  /** The cached stages this build needs, with their directives. */
  stages: CachedStage[];
  /** The user's Dockerfile and build settings, for building a stage on a miss. */
  file: string;
  context: string;
  buildArgs: Array<[string, string]>;
  /** BuildKit secrets as [id, file], for stages that mount them. */
  secrets: Array<[string, string]>;
  network?: string;
  platforms: string[];
  tmp: string;
  now: Date;
}

export interface StageCacheResult {
  reports: StageReport[];
  /** Stage index → image that stands in for it. */
  replacements: Map<number, string>;
  /** Build output of stages built on a miss. */
  output: string;
  /** Temporary images to remove after the build. */
  images: string[];
}

export function emptyStageCache(): StageCacheResult {
  return { reports: [], replacements: new Map(), output: '', images: [] };
}

/** One cached stage on its way: its store key and the image that will stand in for it. */
interface StageWork {
  name: string;
  directive: CacheDirective;
  key: string;
  standIn: string;
  report: StageReport;
}

/**
 * For each cached stage: restore its outputs from the store (hit), or build the stage, export its
 * outputs and store them (miss). Either way the stage is then stood in for by a small image holding
 * just those outputs, so the main build never runs it and cold and warm builds copy the same bytes.
 * Store faults and corrupt entries warn and fall back to building; they never fail the build.
 * `into` is filled as each stage is done, so that when a stage fails to build (StageBuildError) it
 * still holds the output so far and every temporary image to remove.
 */
export async function prepareCachedStages(
  params: StageCacheParams,
  into: StageCacheResult = emptyStageCache(),
): Promise<StageCacheResult> {
  for (const { stage, directive } of params.stages) {
    const started = performance.now();
    const name = stage.name!;
    const { key, bucket } = stageKey(params.keyContext, stage, directive, params.now);
    const report: StageReport = { stage: name, key, bucket, result: 'miss', bytes: 0, seconds: 0 };
    const work: StageWork = {
      name,
      directive,
      key,
      standIn: `slipway-stage/${name}:${key.slice(-12)}`,
      report,
    };
    if (!(await restoreStage(params, work))) await buildStage(params, work, into);
    if (report.result !== 'uncached') {
      into.replacements.set(stage.index, work.standIn);
      into.images.push(work.standIn);
    }
    report.seconds = secondsSince(started);
    into.reports.push(report);
  }
  return into;
}

/** A hit: the stored outputs become the stand-in image. False on a miss, or on an unusable entry (dropped). */
async function restoreStage(params: StageCacheParams, work: StageWork): Promise<boolean> {
  const archive = await readStore(params, work);
  if (!archive) return false;
  const { name, directive, report } = work;
  try {
    const dir = join(params.tmp, `${name}-restore`);
    report.bytes = await importOutputs(params, archive, directive.outputs, work.standIn, dir);
    report.result = 'hit';
    params.log.info(
      `Stage cache hit for ${name}: restored ${directive.outputs} from ${params.store.location}; the stage will not run.`,
    );
    return true;
  } catch (err) {
    params.log.warning(
      `Stage cache entry for ${name} is unusable (${describeError(err)}); dropping it and rebuilding the stage.`,
    );
    await params.store.evict(work.key).catch(() => undefined);
    return false;
  }
}

/**
 * The stored archive for the stage, or undefined on a miss, a store fault or an entry that fails its
 * check (each of which warns).
 */
async function readStore(params: StageCacheParams, work: StageWork): Promise<string | undefined> {
  const { store, log } = params;
  try {
    const archive = await store.restore(work.key);
    Object.assign(work.report, store.transfer?.(work.key));
    return archive;
  } catch (err) {
    log.warning(
      err instanceof CorruptEntryError
        ? `Stage cache entry for ${work.name} from ${store.location} does not match its digest (${err.message}): building the stage.`
        : `Stage cache: could not read ${store.location} for ${work.name} (${describeError(err)}); building it uncached.`,
    );
    return undefined;
  }
}

/**
 * A miss: builds the stage, exports its outputs, stores them and makes the stand-in image of them.
 * A failed build throws StageBuildError; an export or store fault only warns.
 */
async function buildStage(params: StageCacheParams, work: StageWork, into: StageCacheResult): Promise<void> {
  const { name, key, directive } = work;
  params.log.info(`Stage cache miss for ${name} (key ${key}): building the stage.`);
  const image = `slipway-stage-build/${name}:${key.slice(-12)}`;
  into.images.push(image);
  const built = await params.client.build({
    context: params.context,
    file: params.file,
    target: name,
    buildArgs: params.buildArgs,
    secrets: params.secrets,
    labels: [],
    tags: [image],
    platforms: params.platforms,
    network: params.network,
  });
  into.output += `${built.output}\n`;
  if (built.code !== 0) throw new StageBuildError(name, built.output);
  const archive = join(params.tmp, `${key}.tar.gz`);
  if (!(await exportStage(params, work, image, archive))) return;
  await storeStage(params, work, archive);
  await importOutputs(params, archive, directive.outputs, work.standIn, join(params.tmp, `${name}-import`));
}

/** Writes the stage's outputs to an archive; false (the stage goes uncached) when it cannot. */
async function exportStage(
  params: StageCacheParams,
  work: StageWork,
  image: string,
  archive: string,
): Promise<boolean> {
  const { report } = work;
  try {
    report.bytes = await params.client.exportPath(image, work.directive.outputs, archive);
    return true;
  } catch (err) {
    report.result = 'uncached';
    report.note = `could not export ${work.directive.outputs}: ${describeError(err)}`;
    params.log.warning(`Stage cache: ${work.name} ${report.note}; the build goes on without the cache.`);
    return false;
  }
}

/**
 * Saves the archive in the store; a fault is noted and warned about, never fatal. A read-only store
 * (a pull request's registry) is not written, and the log and the report say why.
 */
async function storeStage(params: StageCacheParams, work: StageWork, archive: string): Promise<void> {
  const { store, log } = params;
  if (store.readOnly) {
    Object.assign(work.report, { stored: false, note: store.readOnly });
    log.info(`Stage cache: ${work.name} is not pushed to ${store.location}: ${store.readOnly}.`);
    return;
  }
  try {
    await store.save(work.key, archive, work.name);
    Object.assign(work.report, { stored: true }, store.transfer?.(work.key));
  } catch (err) {
    Object.assign(work.report, { stored: false, note: describeError(err) });
    log.warning(
      `Stage cache: could not store ${work.name} in ${store.location} (${describeError(err)}); the build goes on.`,
    );
  }
}

/** Unpacks an archive of outputs and builds `FROM scratch` + those outputs as the stand-in image. */
async function importOutputs(
  params: StageCacheParams,
  archive: string,
  outputs: string,
  image: string,
  dir: string,
): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const unpacked = await params.run('tar', ['-xzf', archive, '-C', dir], { silent: true });
  if (unpacked.code !== 0) throw new Error(`tar could not unpack it: ${lastLine(unpacked.stderr)}`);
  const top = basename(outputs);
  writeFileSync(join(dir, 'Dockerfile'), `FROM scratch\nCOPY ${JSON.stringify([top, `${outputs}/`])}\n`);
  const built = await params.client.build(
    {
      context: dir,
      file: join(dir, 'Dockerfile'),
      buildArgs: [],
      labels: [],
      tags: [image],
      platforms: params.platforms,
      network: params.network,
    },
    { silent: true },
  );
  if (built.code !== 0) throw new Error(`could not build the stand-in image: ${lastLine(built.output)}`);
  return statSync(archive).size;
}
