import { posix } from 'node:path';
import { errorAt } from '../core/errors.js';
import { findStage, mountOptions, type Dockerfile, type Stage } from './dockerfile.js';

export type Refresh = 'monthly' | 'weekly' | 'never';

/** `# slipway:cache stage=NAME outputs=DIR refresh=monthly|weekly|never` */
export interface CacheDirective {
  stage: string;
  outputs: string;
  refresh: Refresh;
  /** 1-based line of the comment. */
  line: number;
}

const PREFIX = /^slipway:cache(\s|$)/;

/** Reads the slipway:cache directives of a Dockerfile; malformed ones are errors naming the line. */
export function parseDirectives(df: Dockerfile, file = 'Dockerfile'): CacheDirective[] {
  const out: CacheDirective[] = [];
  for (const comment of df.comments) {
    const text = comment.text.trim();
    if (!PREFIX.test(text)) continue;
    const line = comment.line + 1;
    const directive = readDirective(text.replace(PREFIX, '').trim(), (problem) =>
      errorAt(file, line, problem),
    );
    if (out.some((other) => other.stage === directive.stage))
      throw errorAt(file, line, `stage ${directive.stage} has two slipway:cache directives: keep one.`);
    out.push({ ...directive, line });
  }
  return out;
}

/** One directive's fields, checked; `fail` makes the error for its line. */
function readDirective(fieldsText: string, fail: (problem: string) => Error): Omit<CacheDirective, 'line'> {
  const fields: Record<string, string> = {};
  for (const field of fieldsText.split(/\s+/).filter(Boolean)) {
    const eq = field.indexOf('=');
    const name = eq < 0 ? field : field.slice(0, eq);
    if (!['stage', 'outputs', 'refresh'].includes(name) || eq < 0)
      throw fail(
        `"${field}" in a slipway:cache directive: write stage=NAME outputs=DIR [refresh=monthly|weekly|never].`,
      );
    fields[name] = field.slice(eq + 1);
  }
  if (!fields.stage || !fields.outputs)
    throw fail(
      'a slipway:cache directive needs stage=NAME and outputs=DIR (e.g. "# slipway:cache stage=builder outputs=/out").',
    );
  const refresh = (fields.refresh ?? 'monthly').toLowerCase();
  if (!['monthly', 'weekly', 'never'].includes(refresh))
    throw fail(`refresh=${fields.refresh} is not monthly, weekly or never.`);
  const outputs = posix.normalize(fields.outputs).replace(/\/+$/, '');
  if (!outputs.startsWith('/') || outputs === '')
    throw fail(`outputs=${fields.outputs} must be an absolute directory other than / (e.g. outputs=/out).`);
  return { stage: fields.stage.toLowerCase(), outputs, refresh: refresh as Refresh };
}

function within(path: string, dir: string): boolean {
  const normalized = posix.normalize(path.startsWith('/') ? path : `/${path}`);
  return normalized === dir || normalized.startsWith(`${dir}/`);
}

/**
 * Checks that each directive can be honoured: its stage exists, later stages take its outputs with
 * COPY --from (or RUN --mount from=), never use it as a base, and read nothing outside its outputs.
 */
export function validateDirectives(
  df: Dockerfile,
  directives: CacheDirective[],
  file = 'Dockerfile',
): Map<string, Stage> {
  const stages = new Map<string, Stage>();
  for (const directive of directives) {
    const stage = directiveStage(df, directive, file);
    let consumers = 0;
    for (const later of df.stages.slice(stage.index + 1))
      consumers += takers(df, later, stage, directive, file);
    if (consumers === 0) {
      throw errorAt(
        file,
        directive.line,
        `no later stage takes anything from ${directive.stage} with COPY --from=${directive.stage}: the stage cache stores what other stages copy out of a builder; add the COPY or drop the directive.`,
      );
    }
    stages.set(directive.stage, stage);
  }
  return stages;
}

/** The named stage a directive caches; an error listing the named stages when there is none. */
function directiveStage(df: Dockerfile, directive: CacheDirective, file: string): Stage {
  const stage = findStage(df, directive.stage);
  if (stage && stage.name === directive.stage) return stage;
  const names =
    df.stages
      .filter((candidate) => candidate.name)
      .map((candidate) => candidate.name)
      .join(', ') || 'none are named';
  throw errorAt(
    file,
    directive.line,
    `slipway:cache names stage "${directive.stage}", which is not a stage of ${file} (named stages: ${names}).`,
  );
}

/**
 * How many instructions of a later stage take from the cached stage. Building FROM it, or taking a
 * path outside its cached outputs, is an error: the stage is replaced by just those outputs.
 */
function takers(
  df: Dockerfile,
  later: Stage,
  cached: Stage,
  directive: CacheDirective,
  file: string,
): number {
  const { stage: name, outputs } = directive;
  if (findStage(df, later.from, later.index) === cached) {
    throw errorAt(
      file,
      later.fromInstruction.startLine + 1,
      `stage ${later.name ?? later.index} is built FROM ${name}, which slipway:cache replaces by its outputs: COPY --from=${name} ${outputs} instead, or drop the directive.`,
    );
  }
  let count = 0;
  for (const instruction of later.instructions) {
    for (const [flag, value] of instruction.flags) {
      const ref = flag === 'from' ? value : flag === 'mount' ? mountOptions(value).from : undefined;
      if (!ref || findStage(df, ref, later.index) !== cached) continue;
      count++;
      const paths = flag === 'from' ? instruction.args.slice(0, -1) : [mountOptions(value).source ?? '/'];
      const outside = paths.find((path) => !within(path, outputs));
      if (outside !== undefined) {
        throw errorAt(
          file,
          instruction.startLine + 1,
          `${instruction.keyword} takes ${outside} from ${name}, outside its cached outputs ${outputs}: write it under ${outputs} in that stage, or widen outputs=.`,
        );
      }
    }
  }
  return count;
}
