import { posix } from 'node:path';
import { UserError } from '../core/errors.js';
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
  for (const c of df.comments) {
    const text = c.text.trim();
    if (!PREFIX.test(text)) continue;
    const where = `${file}:${c.line + 1}`;
    const fields: Record<string, string> = {};
    for (const tok of text.replace(PREFIX, '').trim().split(/\s+/).filter(Boolean)) {
      const eq = tok.indexOf('=');
      const k = eq < 0 ? tok : tok.slice(0, eq);
      if (!['stage', 'outputs', 'refresh'].includes(k) || eq < 0) {
        throw new UserError(
          `${where}: "${tok}" in a slipway:cache directive: write stage=NAME outputs=DIR [refresh=monthly|weekly|never].`,
        );
      }
      fields[k] = tok.slice(eq + 1);
    }
    if (!fields.stage || !fields.outputs) {
      throw new UserError(
        `${where}: a slipway:cache directive needs stage=NAME and outputs=DIR (e.g. "# slipway:cache stage=builder outputs=/out").`,
      );
    }
    const refresh = (fields.refresh ?? 'monthly').toLowerCase();
    if (!['monthly', 'weekly', 'never'].includes(refresh)) {
      throw new UserError(`${where}: refresh=${fields.refresh} is not monthly, weekly or never.`);
    }
    const outputs = posix.normalize(fields.outputs).replace(/\/+$/, '');
    if (!outputs.startsWith('/') || outputs === '') {
      throw new UserError(
        `${where}: outputs=${fields.outputs} must be an absolute directory other than / (e.g. outputs=/out).`,
      );
    }
    if (out.some((d) => d.stage === fields.stage!.toLowerCase())) {
      throw new UserError(`${where}: stage ${fields.stage} has two slipway:cache directives: keep one.`);
    }
    out.push({ stage: fields.stage.toLowerCase(), outputs, refresh: refresh as Refresh, line: c.line + 1 });
  }
  return out;
}

function within(path: string, dir: string): boolean {
  const p = posix.normalize(path.startsWith('/') ? path : `/${path}`);
  return p === dir || p.startsWith(`${dir}/`);
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
  for (const d of directives) {
    const where = `${file}:${d.line}`;
    const stage = findStage(df, d.stage);
    if (!stage || stage.name !== d.stage) {
      const names =
        df.stages
          .filter((s) => s.name)
          .map((s) => s.name)
          .join(', ') || 'none are named';
      throw new UserError(
        `${where}: slipway:cache names stage "${d.stage}", which is not a stage of ${file} (named stages: ${names}).`,
      );
    }
    let consumers = 0;
    for (const later of df.stages.slice(stage.index + 1)) {
      if (findStage(df, later.from, later.index) === stage) {
        throw new UserError(
          `${file}:${later.fromInstruction.startLine + 1}: stage ${later.name ?? later.index} is built FROM ${d.stage}, which slipway:cache replaces by its outputs: COPY --from=${d.stage} ${d.outputs} instead, or drop the directive.`,
        );
      }
      for (const ins of later.instructions) {
        for (const [k, v] of ins.flags) {
          const ref = k === 'from' ? v : k === 'mount' ? mountOptions(v).from : undefined;
          if (!ref || findStage(df, ref, later.index) !== stage) continue;
          consumers++;
          const paths = k === 'from' ? ins.args.slice(0, -1) : [mountOptions(v).source ?? '/'];
          const outside = paths.find((p) => !within(p, d.outputs));
          if (outside !== undefined) {
            throw new UserError(
              `${file}:${ins.startLine + 1}: ${ins.keyword} takes ${outside} from ${d.stage}, outside its cached outputs ${d.outputs}: write it under ${d.outputs} in that stage, or widen outputs=.`,
            );
          }
        }
      }
    }
    if (consumers === 0) {
      throw new UserError(
        `${where}: no later stage takes anything from ${d.stage} with COPY --from=${d.stage}: the stage cache stores what other stages copy out of a builder; add the COPY or drop the directive.`,
      );
    }
    stages.set(d.stage, stage);
  }
  return stages;
}
