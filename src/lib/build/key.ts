import { createHash } from 'node:crypto';
import {
  argDeclarations,
  expandVars,
  findStage,
  mountOptions,
  type Dockerfile,
  type Instruction,
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
  const thursday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const day = thursday.getUTCDay() || 7;
  thursday.setUTCDate(thursday.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((thursday.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
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
  for (const arg of df.globalArgs) {
    vars[arg.name] =
      buildArgs[arg.name] ?? (arg.value === undefined ? undefined : expandVars(arg.value, vars));
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
  const dependency: Dependency = (ref) => {
    const found = findStage(ctx.df, ref, stage.index);
    return found ? { stage: stageFingerprint(ctx, found, memo) } : { image: ref };
  };
  const { vars, args } = stageArgs(ctx, stage, globals);
  const steps = stage.instructions.map((instruction) => stepFingerprint(ctx, instruction, vars, dependency));
  const fingerprint = {
    base: dependency(expandVars(stage.from, globals)),
    fromFlags: stage.fromInstruction.flags.map(([name, value]) => `${name}=${expandVars(value, globals)}`),
    args,
    steps,
  };
  memo.set(stage.index, fingerprint);
  return fingerprint;
}

/** What a reference stands for: an earlier stage's fingerprint, or an image by name. */
type Dependency = (ref: string) => { stage: unknown } | { image: string };

/** ARGs in scope: declared in the stage; a declaration without a default inherits the global value. */
function stageArgs(
  ctx: KeyContext,
  stage: Stage,
  globals: Record<string, string | undefined>,
): { vars: Record<string, string | undefined>; args: Record<string, string | null> } {
  const vars: Record<string, string | undefined> = {};
  const args: Record<string, string | null> = {};
  for (const declaration of argDeclarations(stage.instructions)) {
    const value =
      ctx.buildArgs[declaration.name] ??
      (declaration.value !== undefined ? expandVars(declaration.value, vars) : globals[declaration.name]);
    vars[declaration.name] = value;
    args[declaration.name] = value ?? null;
  }
  return { vars, args };
}

/**
 * One instruction's part of the fingerprint: its text, the context files a COPY/ADD or bind mount
 * reads, and the stages or images it copies or mounts from.
 */
function stepFingerprint(
  ctx: KeyContext,
  instruction: Instruction,
  vars: Record<string, string | undefined>,
  dependency: Dependency,
): Record<string, unknown> {
  const step: Record<string, unknown> = { text: instruction.text };
  const from = instruction.flags.find(([name]) => name === 'from')?.[1];
  if ((instruction.keyword === 'COPY' || instruction.keyword === 'ADD') && instruction.args.length > 1) {
    const sources = instruction.args.slice(0, -1).map((source) => expandVars(source, vars));
    if (from) step.from = dependency(expandVars(from, vars));
    else step.files = ctx.files.hash(sources.filter(isContextSource));
  }
  for (const [name, value] of instruction.flags) {
    if (name !== 'mount') continue;
    const mount = mountOptions(expandVars(value, vars));
    if ((mount.type ?? 'bind') !== 'bind') continue;
    if (mount.from) step.mountFrom = [...((step.mountFrom as unknown[]) ?? []), dependency(mount.from)];
    else step.mountFiles = [...((step.mountFiles as string[]) ?? []), ctx.files.hash([mount.source ?? '.'])];
  }
  return step;
}

/** A COPY/ADD source read from the context (not a URL or a git remote). */
function isContextSource(source: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('git@');
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
