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
    const feed = (chunk: Buffer) => {
      pending += chunk.toString();
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

/** One run of a composite action: what its steps and expressions see, and what they have done. */
interface Job {
  actionDir: string;
  /** The run's scratch directory: file-command files and each step's output file. */
  dir: string;
  files: ReturnType<typeof createFileCommandFiles>;
  inputs: Record<string, string>;
  /** The job's environment (INPUT_* dropped). */
  baseEnv: Record<string, string>;
  /** What steps wrote to GITHUB_ENV: every later step gets it. */
  carriedEnv: Record<string, string>;
  /** The `steps` context: each run step's outputs, outcome and conclusion, by id. */
  stepContexts: Record<string, Value>;
  /** What success() and failure() read: a step failed (without continue-on-error). */
  status: { failed: boolean };
  options: CompositeOptions;
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
  options: CompositeOptions = {},
): Promise<CompositeRun> {
  const action = loadAction(actionDir);
  const givenInputs = resolveInputs(action, inputs);
  const dir = mkdtempSync(join(tmpdir(), 'slipway-composite-'));
  try {
    const job: Job = {
      actionDir,
      dir,
      files: createFileCommandFiles(dir),
      inputs: givenInputs,
      baseEnv: jobEnv(options.env ?? process.env),
      carriedEnv: {},
      stepContexts: {},
      status: { failed: false },
      options,
    };
    const results: StepResult[] = [];
    for (const [index, step] of action.runs.steps.entries()) results.push(await runStep(job, step, index));
    return {
      code: job.status.failed ? 1 : 0,
      outputs: actionOutputs(action, job),
      steps: results,
      summary: readFileSync(job.files.GITHUB_STEP_SUMMARY, 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function loadAction(actionDir: string): CompositeAction {
  const action = parse(readFileSync(join(actionDir, 'action.yml'), 'utf8')) as CompositeAction;
  if (action.runs.using !== 'composite') throw new Error(`${actionDir}/action.yml is not a composite action`);
  return action;
}

/** Every declared input, given or defaulted; a missing required input or an unknown one is refused. */
function resolveInputs(action: CompositeAction, inputs: Record<string, string>): Record<string, string> {
  const given: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    const value = inputs[name] ?? (spec.default !== undefined ? String(spec.default) : '');
    if (spec.required && value === '') throw new Error(`Input required and not supplied: ${name}`);
    given[name] = value;
  }
  for (const name of Object.keys(inputs))
    if (!(name in given)) throw new Error(`Unexpected input "${name}": ${action.name} has no such input`);
  return given;
}

/** The job's environment: the caller's, without INPUT_* (a composite's steps get inputs only by expression). */
function jobEnv(env: Record<string, string | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && !name.startsWith('INPUT_')) kept[name] = value;
  return kept;
}

/** What expressions see now: inputs, steps so far, github, env (with GITHUB_ENV so far), runner. */
function expressionContext(job: Job): ExprContext {
  return {
    contexts: {
      inputs: job.inputs,
      steps: job.stepContexts,
      github: job.options.github ?? {},
      env: { ...job.baseEnv, ...job.carriedEnv },
      runner: { temp: job.baseEnv.RUNNER_TEMP ?? job.dir, os: 'Linux' },
    },
    status: job.status,
  };
}

async function runStep(job: Job, step: CompositeStep, index: number): Promise<StepResult> {
  const id = step.id ?? `__step${index}`;
  const name = step.name ?? step.id ?? `step ${index + 1}`;
  if (!condition(step.if, expressionContext(job))) {
    job.stepContexts[id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
    job.options.onStep?.(name, 'skipped', 0);
    return { id, name, outcome: 'skipped', outputs: {}, seconds: 0 };
  }
  if (!step.run) throw new Error(`step "${name}": only run steps are supported locally (uses: ${step.uses})`);
  job.options.onStep?.(name, 'start');
  const outputFile = join(job.dir, `output-${index}`);
  writeFileSync(outputFile, '');
  const env = stepEnv(job, step, outputFile);
  const started = Date.now();
  const code = await runBash(
    interpolate(step.run, expressionContext(job)),
    env,
    step['working-directory']
      ? interpolate(step['working-directory'], expressionContext(job))
      : process.cwd(),
    (line) => job.options.onLine?.(name, line),
  );
  const seconds = (Date.now() - started) / 1000;
  Object.assign(job.carriedEnv, parseFileCommands(readFileSync(job.files.GITHUB_ENV, 'utf8')));
  const outputs = parseFileCommands(readFileSync(outputFile, 'utf8'));
  const outcome = code === 0 ? 'success' : 'failure';
  const continueOnError = Boolean(step['continue-on-error']);
  if (outcome === 'failure' && !continueOnError) job.status.failed = true;
  job.stepContexts[id] = {
    outputs,
    outcome,
    conclusion: outcome === 'failure' && continueOnError ? 'success' : outcome,
  };
  job.options.onStep?.(name, outcome, seconds);
  return { id, name, outcome, outputs, seconds };
}

/** A run step's environment: the job's, GITHUB_ENV so far, the file commands, then its own `env:`. */
function stepEnv(job: Job, step: CompositeStep, outputFile: string): Record<string, string> {
  const own: Record<string, string> = {};
  for (const [name, value] of Object.entries(step.env ?? {}))
    own[name] = interpolate(String(value), expressionContext(job));
  return {
    ...job.baseEnv,
    ...job.carriedEnv,
    ...job.files,
    GITHUB_OUTPUT: outputFile,
    GITHUB_ACTION_PATH: job.actionDir,
    GITHUB_ACTIONS: 'true',
    ...own,
  };
}

/** The action's outputs, evaluated once every step has run. */
function actionOutputs(action: CompositeAction, job: Job): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.outputs ?? {}))
    outputs[name] = interpolate(spec.value, expressionContext(job));
  return outputs;
}
