import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { condition, interpolate, type ExprContext, type Value } from './expressions.js';
import { createFileCommandFiles, parseFileCommands } from './files.js';

export interface CompositeStep {
  id?: string;
  name?: string;
  if?: string | boolean;
  shell?: string;
  run?: string;
  uses?: string;
  env?: Record<string, string | number | boolean>;
  'working-directory'?: string;
  'continue-on-error'?: boolean;
}

export interface CompositeAction {
  name: string;
  inputs?: Record<string, { default?: string | number | boolean; required?: boolean }>;
  outputs?: Record<string, { value: string }>;
  runs: { using: string; steps: CompositeStep[] };
}

export interface StepResult {
  id: string;
  name: string;
  outcome: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
  seconds: number;
}

export interface CompositeRun {
  code: number;
  outputs: Record<string, string>;
  steps: StepResult[];
  summary: string;
}

export interface CompositeOptions {
  /** The environment the job runs with (process.env by default); INPUT_* variables are dropped. */
  env?: Record<string, string | undefined>;
  /** The github context (event_name, sha, ref, …). */
  github?: Record<string, Value>;
  /** Each line a step prints, as it arrives. */
  onLine?: (step: string, line: string) => void;
  /** A step starting, and finishing with its outcome. */
  onStep?: (step: string, phase: 'start' | StepResult['outcome'], seconds?: number) => void;
}

function runBash(
  script: string,
  env: Record<string, string>,
  cwd: string,
  onLine: (line: string) => void,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { env, cwd });
    let pending = '';
    const feed = (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      lines.forEach(onLine);
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('close', (code) => {
      if (pending) onLine(pending);
      resolve(code ?? 1);
    });
  });
}

/**
 * Runs a composite action.yml on this machine the way the runner does: inputs with their defaults,
 * each `run` step in bash (`-eo pipefail`) with its `env:` interpolated, `if:` conditions with the
 * status functions, step outputs through GITHUB_OUTPUT, GITHUB_ENV carried to later steps, one job
 * summary file, and the action's outputs evaluated at the end. Only `run` steps are supported.
 */
export async function runComposite(
  actionDir: string,
  inputs: Record<string, string>,
  opts: CompositeOptions = {},
): Promise<CompositeRun> {
  const action = parse(readFileSync(join(actionDir, 'action.yml'), 'utf8')) as CompositeAction;
  if (action.runs.using !== 'composite') throw new Error(`${actionDir}/action.yml is not a composite action`);
  const given: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    const v = inputs[name] ?? (spec.default !== undefined ? String(spec.default) : '');
    if (spec.required && v === '') throw new Error(`Input required and not supplied: ${name}`);
    given[name] = v;
  }
  for (const name of Object.keys(inputs))
    if (!(name in given)) throw new Error(`Unexpected input "${name}": ${action.name} has no such input`);

  const dir = mkdtempSync(join(tmpdir(), 'slipway-composite-'));
  const files = createFileCommandFiles(dir);
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env ?? process.env))
    if (v !== undefined && !k.startsWith('INPUT_')) base[k] = v;
  const carried: Record<string, string> = {};
  const steps: Record<string, Value> = {};
  const results: StepResult[] = [];
  const status = { failed: false };
  const ctx = (): ExprContext => ({
    contexts: {
      inputs: given,
      steps,
      github: opts.github ?? {},
      env: { ...base, ...carried },
      runner: { temp: base.RUNNER_TEMP ?? dir, os: 'Linux' },
    },
    status,
  });
  try {
    for (const [i, step] of action.runs.steps.entries()) {
      const id = step.id ?? `__step${i}`;
      const name = step.name ?? step.id ?? `step ${i + 1}`;
      if (!condition(step.if, ctx())) {
        const r: StepResult = { id, name, outcome: 'skipped', outputs: {}, seconds: 0 };
        results.push(r);
        steps[id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
        opts.onStep?.(name, 'skipped', 0);
        continue;
      }
      if (!step.run)
        throw new Error(`step "${name}": only run steps are supported locally (uses: ${step.uses})`);
      opts.onStep?.(name, 'start');
      const output = join(dir, `output-${i}`);
      writeFileSync(output, '');
      const stepEnv: Record<string, string> = {};
      for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = interpolate(String(v), ctx());
      const env = {
        ...base,
        ...carried,
        ...files,
        GITHUB_OUTPUT: output,
        GITHUB_ACTION_PATH: actionDir,
        GITHUB_ACTIONS: 'true',
        ...stepEnv,
      };
      const start = Date.now();
      const code = await runBash(
        interpolate(step.run, ctx()),
        env,
        step['working-directory'] ? interpolate(step['working-directory'], ctx()) : process.cwd(),
        (line) => opts.onLine?.(name, line),
      );
      const seconds = (Date.now() - start) / 1000;
      Object.assign(carried, parseFileCommands(readFileSync(files.GITHUB_ENV, 'utf8')));
      const outputs = parseFileCommands(readFileSync(output, 'utf8'));
      const outcome = code === 0 ? 'success' : 'failure';
      if (outcome === 'failure' && !step['continue-on-error']) status.failed = true;
      steps[id] = {
        outputs,
        outcome,
        conclusion: outcome === 'failure' && step['continue-on-error'] ? 'success' : outcome,
      };
      const r: StepResult = { id, name, outcome, outputs, seconds };
      results.push(r);
      opts.onStep?.(name, outcome, seconds);
    }
    const outputs: Record<string, string> = {};
    for (const [name, spec] of Object.entries(action.outputs ?? {}))
      outputs[name] = interpolate(spec.value, ctx());
    return {
      code: status.failed ? 1 : 0,
      outputs,
      steps: results,
      summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
