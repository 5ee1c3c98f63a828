import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Dockerfile, Stage } from './dockerfile.js';
import type { DockerClient } from '../engine/client.js';
import { lastLine } from '../core/text.js';
import { describeError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import type { Log } from '../core/io.js';
import type { CacheDirective } from './directives.js';
import { stageKey, type KeyContext } from './key.js';
import type { StageStore } from './store.js';

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
    for (let l = stage.fromInstruction.startLine; l <= last; l++) lines[l] = '';
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
  stages: Array<{ stage: Stage; directive: CacheDirective }>;
  /** The user's Dockerfile and build settings, for building a stage on a miss. */
  file: string;
  context: string;
  buildArgs: Array<[string, string]>;
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

/**
 * For each cached stage: restore its outputs from the store (hit), or build the stage, export its
 * outputs and store them (miss). Either way the stage is then stood in for by a small image holding
 * just those outputs, so the main build never runs it and cold and warm builds copy the same bytes.
 * Store faults and corrupt entries warn and fall back to building; they never fail the build.
 */
export async function prepareCachedStages(p: StageCacheParams): Promise<StageCacheResult> {
  const result: StageCacheResult = { reports: [], replacements: new Map(), output: '', images: [] };
  for (const { stage, directive } of p.stages) {
    const name = stage.name!;
    const t0 = performance.now();
    const { key, bucket } = stageKey(p.keyContext, stage, directive, p.now);
    const short = key.slice(-12);
    const standIn = `slipway-stage/${name}:${short}`;
    const report: StageReport = { stage: name, key, bucket, result: 'miss', bytes: 0, seconds: 0 };

    let archive: string | undefined;
    try {
      archive = await p.store.restore(key);
    } catch (err) {
      p.log.warning(
        `Stage cache: could not read ${p.store.location} for ${name} (${describeError(err)}); building it uncached.`,
      );
    }
    if (archive) {
      try {
        report.bytes = await importOutputs(
          p,
          archive,
          directive.outputs,
          standIn,
          join(p.tmp, `${name}-restore`),
        );
        report.result = 'hit';
        p.log.info(
          `Stage cache hit for ${name}: restored ${directive.outputs} from ${p.store.location}; the stage will not run.`,
        );
      } catch (err) {
        p.log.warning(
          `Stage cache entry for ${name} is unusable (${describeError(err)}); dropping it and rebuilding the stage.`,
        );
        await p.store.evict(key).catch(() => undefined);
        archive = undefined;
      }
    }

    if (!archive) {
      p.log.info(`Stage cache miss for ${name} (key ${key}): building the stage.`);
      const built = `slipway-stage-build/${name}:${short}`;
      result.images.push(built);
      const b = await p.client.build({
        context: p.context,
        file: p.file,
        target: name,
        buildArgs: p.buildArgs,
        labels: [],
        tags: [built],
        platforms: p.platforms,
        network: p.network,
      });
      result.output += `${b.output}\n`;
      if (b.code !== 0) throw new StageBuildError(name, b.output);
      const fresh = join(p.tmp, `${key}.tar.gz`);
      try {
        report.bytes = await p.client.exportPath(built, directive.outputs, fresh);
      } catch (err) {
        report.result = 'uncached';
        report.note = `could not export ${directive.outputs}: ${describeError(err)}`;
        p.log.warning(`Stage cache: ${name} ${report.note}; the build goes on without the cache.`);
      }
      if (report.result === 'miss') {
        try {
          await p.store.save(key, fresh);
        } catch (err) {
          report.note = `not stored: ${describeError(err)}`;
          p.log.warning(
            `Stage cache: could not store ${name} in ${p.store.location} (${describeError(err)}); the build goes on.`,
          );
        }
        await importOutputs(p, fresh, directive.outputs, standIn, join(p.tmp, `${name}-import`));
      }
    }
    if (report.result !== 'uncached') {
      result.replacements.set(stage.index, standIn);
      result.images.push(standIn);
    }
    report.seconds = Math.round((performance.now() - t0) / 100) / 10;
    result.reports.push(report);
  }
  return result;
}

/** Unpacks an archive of outputs and builds `FROM scratch` + those outputs as the stand-in image. */
async function importOutputs(
  p: StageCacheParams,
  archive: string,
  outputs: string,
  image: string,
  dir: string,
): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const x = await p.run('tar', ['-xzf', archive, '-C', dir], { silent: true });
  if (x.code !== 0) throw new Error(`tar could not unpack it: ${lastLine(x.stderr)}`);
  const top = basename(outputs);
  writeFileSync(join(dir, 'Dockerfile'), `FROM scratch\nCOPY ${JSON.stringify([top, `${outputs}/`])}\n`);
  const b = await p.client.build(
    {
      context: dir,
      file: join(dir, 'Dockerfile'),
      buildArgs: [],
      labels: [],
      tags: [image],
      platforms: p.platforms,
      network: p.network,
    },
    { silent: true },
  );
  if (b.code !== 0) throw new Error(`could not build the stand-in image: ${lastLine(b.output)}`);
  return statSync(archive).size;
}
