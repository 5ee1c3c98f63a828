import { createHash } from 'node:crypto';
import {
  argDeclarations,
  expandVars,
  findStage,
  mountOptions,
  type Dockerfile,
  type Stage,
} from './dockerfile.js';
import type { ContextFiles } from './context.js';
import type { Refresh } from './directives.js';

/** Bump when what a key covers, or what an entry holds, changes: old entries are then never read. */
export const KEY_FORMAT = 1;

/** The refresh bucket a date falls in: "2026-11" (monthly), "2026-W47" (ISO week), or "never". */
export function refreshBucket(refresh: Refresh, now: Date): string {
  if (refresh === 'never') return 'never';
  if (refresh === 'monthly')
    return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  // ISO 8601 week: the week with the year's first Thursday is week 1.
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export interface KeyContext {
  df: Dockerfile;
  buildArgs: Record<string, string>;
  files: ContextFiles;
  platforms: string[];
}

/** Values of the global ARGs (before the first FROM): defaults, overridden by build-args. */
export function globalArgValues(
  df: Dockerfile,
  buildArgs: Record<string, string>,
): Record<string, string | undefined> {
  const vars: Record<string, string | undefined> = {};
  for (const a of df.globalArgs) {
    vars[a.name] = buildArgs[a.name] ?? (a.value === undefined ? undefined : expandVars(a.value, vars));
  }
  return vars;
}

/**
 * Everything a stage's result depends on, as a JSON-able value: its base (an image reference, or the
 * fingerprint of the stage it builds on), its instructions, the values of the ARGs it declares, the
 * context files its COPY/ADD and bind mounts read (after .dockerignore), and the stages it copies
 * from. Nothing of later stages, and no file it does not read.
 */
export function stageFingerprint(ctx: KeyContext, stage: Stage, memo = new Map<number, unknown>()): unknown {
  const known = memo.get(stage.index);
  if (known) return known;
  const globals = globalArgValues(ctx.df, ctx.buildArgs);
  const fromRef = expandVars(stage.from, globals);
  const baseStage = findStage(ctx.df, fromRef, stage.index);
  const dep = (ref: string) => {
    const s = findStage(ctx.df, ref, stage.index);
    return s ? { stage: stageFingerprint(ctx, s, memo) } : { image: ref };
  };

  // ARGs in scope: declared in the stage; a declaration without a default inherits the global value.
  const vars: Record<string, string | undefined> = {};
  const args: Record<string, string | null> = {};
  for (const a of argDeclarations(stage.instructions)) {
    const v = ctx.buildArgs[a.name] ?? (a.value !== undefined ? expandVars(a.value, vars) : globals[a.name]);
    vars[a.name] = v;
    args[a.name] = v ?? null;
  }

  const steps = stage.instructions.map((ins) => {
    const step: Record<string, unknown> = { text: ins.text };
    const from = ins.flags.find(([k]) => k === 'from')?.[1];
    if ((ins.keyword === 'COPY' || ins.keyword === 'ADD') && ins.args.length > 1) {
      const sources = ins.args.slice(0, -1).map((s) => expandVars(s, vars));
      if (from) step.from = dep(expandVars(from, vars));
      else {
        const local = sources.filter((s) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !s.startsWith('git@'));
        step.files = ctx.files.hash(local);
      }
    }
    for (const [k, v] of ins.flags) {
      if (k !== 'mount') continue;
      const m = mountOptions(expandVars(v, vars));
      if ((m.type ?? 'bind') !== 'bind') continue;
      if (m.from) step.mountFrom = [...((step.mountFrom as unknown[]) ?? []), dep(m.from)];
      else step.mountFiles = [...((step.mountFiles as string[]) ?? []), ctx.files.hash([m.source ?? '.'])];
    }
    return step;
  });

  const fromFlags = stage.fromInstruction.flags.map(([k, v]) => `${k}=${expandVars(v, globals)}`);
  const fp = {
    base: baseStage ? { stage: stageFingerprint(ctx, baseStage, memo) } : { image: fromRef },
    fromFlags,
    args,
    steps,
  };
  memo.set(stage.index, fp);
  return fp;
}

/** The store key of a cached stage: readable prefix, then a hash of all it depends on. */
export function stageKey(
  ctx: KeyContext,
  stage: Stage,
  directive: { outputs: string; refresh: Refresh },
  now: Date,
): { key: string; bucket: string } {
  const bucket = refreshBucket(directive.refresh, now);
  const body = JSON.stringify({
    format: KEY_FORMAT,
    stage: stageFingerprint(ctx, stage),
    outputs: directive.outputs,
    platforms: [...ctx.platforms].sort(),
    bucket,
  });
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 40);
  const name = (stage.name ?? String(stage.index)).replace(/[^a-z0-9_.-]/g, '-');
  return { key: `slipway-stage-${name}-${hash}`, bucket };
}
