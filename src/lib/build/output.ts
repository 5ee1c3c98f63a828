import { lastLine } from '../core/text.js';

/** What a build's output says: how many of its steps came from the cache, and why it failed. */

export interface StepCount {
  cached: number;
  total: number;
}

/** Steps that do work: the same set on every builder (see countCachedSteps). */
const WORK = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

/**
 * Cached build steps over all steps, read from a build's output. Only steps that do work are
 * counted (RUN, COPY, ADD, WORKDIR): the same set on every builder. FROM, BuildKit's internal steps
 * and metadata (LABEL, ENV, CMD…; the classic builder runs --label as LABEL steps that never cache
 * because the created label changes) are not.
 * - BuildKit (plain progress): `#7 [stage 2/3] RUN …` and later `#7 CACHED`
 * - classic builder: `Step 2/5 : RUN …` followed by ` ---> Using cache`
 * - buildah (podman): `STEP 2/5: RUN …` followed by `--> Using cache …`
 */
export function countCachedSteps(output: string): StepCount {
  const steps = new Set<string>();
  const cached = new Set<string>();
  let current: string | undefined;
  let classicSteps = 0;
  for (const line of output.split(/\r?\n/)) {
    const buildkitStep = /^#(\d+) \[[^\]]*\d+\/\d+\] (\S+)/.exec(line);
    if (buildkitStep) {
      if (WORK.has(buildkitStep[2]!.toUpperCase())) steps.add(`bk${buildkitStep[1]}`);
      continue;
    }
    const buildkitCached = /^#(\d+) CACHED\s*$/.exec(line);
    if (buildkitCached) {
      if (steps.has(`bk${buildkitCached[1]}`)) cached.add(`bk${buildkitCached[1]}`);
      continue;
    }
    const classicStep = /^(?:Step|STEP) \d+\/\d+ ?: ?(\S+)/.exec(line);
    if (classicStep) {
      current = WORK.has(classicStep[1]!.toUpperCase()) ? `c${classicSteps++}` : undefined;
      if (current) steps.add(current);
      continue;
    }
    if (current && /^\s*-+> Using cache/.test(line)) cached.add(current);
  }
  return { cached: cached.size, total: steps.size };
}

/** Cached over total steps, to three decimals; 0 when there were no steps. */
export function ratio(count: StepCount): number {
  return count.total === 0 ? 0 : Math.round((count.cached / count.total) * 1000) / 1000;
}

/**
 * The line of a failed build's output that says what failed: the last line mentioning an error
 * (BuildKit ends with a summary of the failing step), else the last line; without BuildKit's `#N `.
 */
export function failingLine(output: string): string {
  const line =
    output
      .split('\n')
      .reverse()
      .find((candidate) => /error/i.test(candidate)) ?? lastLine(output);
  return line.trim().replace(/^#\d+ /, '');
}

/** Seconds since a performance.now() reading, to a tenth. */
export function secondsSince(started: number): number {
  return Math.round((performance.now() - started) / 100) / 10;
}
