import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { resolveUses, loadManifest, type ActionSources, type LoadedAction, type Step } from './actions.js';
import { OutputFilter } from './commands.js';
import { condition, interpolate, truthy, evaluate, type ExprContext, type Value } from './expressions.js';
import { createFileCommandFiles, parseFileCommands, type FileCommandFiles } from './files.js';
import { runProcess, scriptExtension, shellCommand } from './process.js';

export type { Step as CompositeStep } from './actions.js';

export interface StepResult {
  id: string;
  name: string;
  outcome: 'success' | 'failure' | 'skipped' | 'cancelled';
  outputs: Record<string, string>;
  seconds: number;
}

export interface CompositeRun {
  /** 0 when every step passed (or failed with continue-on-error), 1 otherwise. */
  code: number;
  cancelled: boolean;
  outputs: Record<string, string>;
  /** The action's own steps, in order. */
  steps: StepResult[];
  /** The post steps of the JavaScript actions it used, in the order they ran (last registered first). */
  posts: StepResult[];
  /** The job summary, masked. */
  summary: string;
  /** Every line the log shows, masked, as `step: line`. */
  log: string[];
}

/**
 * The Actions service values the runner gives JavaScript action steps (actions/runner
 * src/Runner.Worker/Handlers/NodeScriptActionHandler.cs adds them to the node process's
 * environment); a composite's `run:` step gets only the id-token pair (ScriptHandler), never the
 * runtime token or the cache URLs (actions/runner issue 3046).
 */
export const RUNTIME_VARIABLES = [
  'ACTIONS_RUNTIME_URL',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_CACHE_URL',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
] as const;
export type RuntimeServices = Partial<Record<(typeof RUNTIME_VARIABLES)[number], string>>;

export interface CompositeOptions {
  /** The job's environment (process.env by default); INPUT_* and the runtime values are dropped. */
  env?: Record<string, string | undefined>;
  /** The github context (event_name, sha, ref, token, …). */
  github?: Record<string, Value>;
  /** What JavaScript action steps get from the runner; the token is masked. */
  runtime?: RuntimeServices;
  /** Values the runner masks from the start (secrets the workflow passes in). */
  secrets?: string[];
  /** GITHUB_WORKSPACE: where `./` actions are found and steps run (the current directory by default). */
  workspace?: string;
  /** Copies of remote actions (`owner/repo` → directory), standing in for the runner's download. */
  remoteActions?: ActionSources['remote'];
  /** The node binary for each `runs.using` (node20, node24); this process's node by default. */
  node?: Record<string, string>;
  /** Cancels the job, as the Cancel button does. */
  signal?: AbortSignal;
  /** Each line a step prints, masked, as it arrives; `command`: the runner obeys it (not fenced). */
  onLine?: (step: string, line: string, command: boolean) => void;
  /** A step starting, and finishing with its outcome. */
  onStep?: (step: string, phase: 'start' | StepResult['outcome'], seconds?: number) => void;
}

/** One job: what every step of every action in it shares. */
interface Job {
  options: CompositeOptions;
  sources: ActionSources;
  /** Scratch: per-step file-command files and scripts. */
  dir: string;
  runnerTemp: string;
  baseEnv: Record<string, string>;
  /** What steps wrote to GITHUB_ENV: every later step gets it. */
  carriedEnv: Record<string, string>;
  /** What steps wrote to GITHUB_PATH, newest first: prepended to PATH for later steps. */
  paths: string[];
  filter: OutputFilter;
  /** The job's status, which post steps read: a top-level step failed, or the job was cancelled. */
  failed: boolean;
  posts: PostStep[];
  summary: string[];
  log: string[];
  stepCount: number;
}

/** One running action (the root, or a composite it uses): its inputs, steps so far and status. */
interface Scope {
  action: LoadedAction;
  inputs: Record<string, string>;
  /** The `env:` of the step that used this action: its steps inherit it. */
  env: Record<string, string>;
  steps: Record<string, Value>;
  failed: boolean;
  /** An `if:` could not be evaluated: the composite runs none of its remaining steps. */
  halted?: boolean;
}

interface PostStep {
  name: string;
  action: LoadedAction;
  condition: string;
  env: Record<string, string>;
  state: Record<string, string>;
}

/**
 * Runs a composite action.yml on this machine as the runner runs a workflow step that uses it:
 * inputs with their defaults (expressions evaluated), `run:` steps in their shell and `uses:` steps
 * (local and given remote JavaScript and composite actions), `if:` conditions through GitHub's
 * expression engine with the status-function wrapping, file commands, masking, the post steps of
 * the JavaScript actions used, and cancellation through `signal`.
 */
export async function runComposite(
  actionDir: string,
  inputs: Record<string, string>,
  options: CompositeOptions = {},
): Promise<CompositeRun> {
  const action: LoadedAction = { dir: actionDir, manifest: loadManifest(actionDir), reference: actionDir };
  if (action.manifest.runs.using !== 'composite')
    throw new Error(`${actionDir}/action.yml is not a composite action`);
  const job = newJob(options);
  try {
    const scope: Scope = { action, inputs: {}, env: {}, steps: {}, failed: false };
    scope.inputs = resolveInputs(action, inputs, context(job, scope));
    const steps: StepResult[] = [];
    for (const [index, step] of (action.manifest.runs.steps ?? []).entries()) {
      if (scope.halted) break;
      steps.push(await runStep(job, scope, step, index));
    }
    job.failed = scope.failed;
    const posts = await runPosts(job, scope);
    return {
      code: job.failed || cancelled(job) ? 1 : 0,
      cancelled: cancelled(job),
      outputs: actionOutputs(job, scope),
      steps,
      posts,
      summary: job.summary.join(''),
      log: job.log,
    };
  } finally {
    rmSync(job.dir, { recursive: true, force: true });
  }
}

/**
 * The github context's values every step gets as GITHUB_<KEY> (GITHUB_SHA, GITHUB_REF, …): the
 * runner's allow-list (actions/runner src/Runner.Worker/GitHubContext.cs, _contextEnvAllowlist and
 * GetRuntimeEnvironmentVariables: strings as they are, booleans as C#'s True/False). The token is
 * not on it.
 */
const CONTEXT_ENV_ALLOWLIST = new Set(
  (
    'action_path action_ref action_repository action actor actor_id api_url base_ref env event_name ' +
    'event_path graphql_url head_ref job output path ref_name ref_protected ref_type ref repository ' +
    'repository_id repository_owner repository_owner_id retention_days run_attempt run_id run_number ' +
    'server_url sha state step_summary triggering_actor workflow workflow_ref workflow_sha workspace'
  ).split(' '),
);

export function contextVariables(github: Record<string, Value>): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(github)) {
    if (!CONTEXT_ENV_ALLOWLIST.has(key.toLowerCase())) continue;
    if (typeof value === 'string') variables[`GITHUB_${key.toUpperCase()}`] = value;
    else if (typeof value === 'boolean') variables[`GITHUB_${key.toUpperCase()}`] = value ? 'True' : 'False';
  }
  return variables;
}

function newJob(options: CompositeOptions): Job {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-job-'));
  const baseEnv = jobEnv(options.env ?? process.env);
  const runnerTemp = baseEnv.RUNNER_TEMP ?? join(dir, 'temp');
  mkdirSync(runnerTemp, { recursive: true });
  const workspace = baseEnv.GITHUB_WORKSPACE ?? options.workspace ?? process.cwd();
  Object.assign(baseEnv, contextVariables(options.github ?? {}), {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    RUNNER_TEMP: runnerTemp,
    GITHUB_WORKSPACE: workspace,
  });
  const secrets = [...(options.secrets ?? []), ...[options.runtime?.ACTIONS_RUNTIME_TOKEN ?? '']];
  return {
    options,
    sources: { workspace, remote: options.remoteActions },
    dir,
    runnerTemp,
    baseEnv,
    carriedEnv: {},
    paths: [],
    filter: new OutputFilter(secrets.filter(Boolean)),
    failed: false,
    posts: [],
    summary: [],
    log: [],
    stepCount: 0,
  };
}

const cancelled = (job: Job) => Boolean(job.options.signal?.aborted);

/**
 * The signal a step's process listens to: a step that starts after the job was cancelled (an
 * always() or cancelled() step) runs to its end, as the runner lets it.
 */
const liveSignal = (job: Job) => (cancelled(job) ? undefined : job.options.signal);

/** The job's environment: the caller's, without INPUT_* and without what only JavaScript actions get. */
function jobEnv(env: Record<string, string | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (
      value !== undefined &&
      !name.startsWith('INPUT_') &&
      !(RUNTIME_VARIABLES as readonly string[]).includes(name)
    )
      kept[name] = value;
  return kept;
}

/** What expressions in a scope see: inputs, its steps so far, github, env, runner, job. */
function context(job: Job, scope: Scope, status = { failed: scope.failed }): ExprContext {
  return {
    contexts: {
      inputs: scope.inputs,
      steps: scope.steps,
      github: {
        ...(job.options.github ?? {}),
        action_path: scope.action.dir,
        workspace: job.sources.workspace,
      },
      env: { ...job.baseEnv, ...job.carriedEnv, ...scope.env },
      runner: { temp: job.runnerTemp, os: 'Linux', arch: 'X64' },
      job: { status: cancelled(job) ? 'cancelled' : job.failed || scope.failed ? 'failure' : 'success' },
      strategy: {},
      matrix: {},
    },
    status: { ...status, cancelled: cancelled(job) },
  };
}

/**
 * Every declared input, given or defaulted (a default may hold an expression, e.g.
 * `${{ github.token }}`); a missing required input or an unknown one is refused.
 */
function resolveInputs(
  action: LoadedAction,
  given: Record<string, string>,
  ctx: ExprContext,
): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.manifest.inputs ?? {})) {
    const value = given[name] ?? (spec.default !== undefined ? interpolate(String(spec.default), ctx) : '');
    if (spec.required && value === '') throw new Error(`Input required and not supplied: ${name}`);
    resolved[name] = value;
  }
  for (const name of Object.keys(given))
    if (!(name in resolved))
      throw new Error(`Unexpected input "${name}": ${action.manifest.name} has no such input`);
  return resolved;
}

async function runStep(job: Job, scope: Scope, step: Step, index: number): Promise<StepResult> {
  const id = step.id ?? `__step${index}`;
  const name = step.name ?? step.id ?? step.uses ?? `step ${index + 1}`;
  const started = Date.now();
  const finish = (outcome: StepResult['outcome'], outputs: Record<string, string>) =>
    recordStep(job, scope, step, { id, name, outcome, outputs, seconds: (Date.now() - started) / 1000 });
  let runs: boolean;
  try {
    runs = condition(step.if, context(job, scope));
  } catch (error) {
    // An `if:` that cannot be evaluated fails the step and ends the composite: not even its
    // always() steps run (actions/runner CompositeActionHandler.RunStepsAsync breaks out of its loop).
    say(job, name, `##[error]${(error as Error).message}`);
    scope.halted = true;
    return finish('failure', {});
  }
  if (!runs) return finish('skipped', {});
  job.options.onStep?.(name, 'start');
  try {
    const ran =
      step.run !== undefined
        ? await runScript(job, scope, step, name)
        : await runUses(job, scope, step, name);
    return finish(ran.outcome, ran.outputs);
  } catch (error) {
    say(job, name, `##[error]${(error as Error).message}`);
    return finish('failure', {});
  }
}

/** Puts a finished step in the steps context and the scope's status; continue-on-error may be an expression. */
function recordStep(job: Job, scope: Scope, step: Step, result: StepResult): StepResult {
  let continueOnError = false;
  if (result.outcome === 'failure' && step['continue-on-error'] !== undefined) {
    const value = step['continue-on-error'];
    continueOnError =
      typeof value === 'boolean' ? value : truthy(evaluate(ifInner(value), context(job, scope)));
  }
  if (result.outcome === 'failure' && !continueOnError) scope.failed = true;
  const conclusion = result.outcome === 'failure' && continueOnError ? 'success' : result.outcome;
  scope.steps[result.id] = { outputs: result.outputs, outcome: result.outcome, conclusion };
  job.options.onStep?.(result.name, result.outcome, result.seconds);
  return result;
}

const ifInner = (text: string) => text.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');

function say(job: Job, step: string, raw: string): void {
  const line = job.filter.line(raw);
  if (line === undefined) return;
  job.log.push(`${step}: ${line.text}`);
  job.options.onLine?.(step, line.text, line.command);
}

/** A `run:` step: its script in a file under RUNNER_TEMP, started in its shell. */
async function runScript(job: Job, scope: Scope, step: Step, name: string) {
  if (!step.shell) throw new Error(`step "${name}": a composite action's run step needs shell:`);
  const ctx = context(job, scope);
  const script = join(job.runnerTemp, `${randomUUID()}${scriptExtension(step.shell)}`);
  writeFileSync(script, interpolate(step.run!, ctx));
  const shell = shellCommand(step.shell, script);
  const workdir = step['working-directory'] ? interpolate(step['working-directory'], ctx) : '.';
  const files = stepFiles(job);
  // The one runtime value a run: step gets: the OIDC token request (ScriptHandler.RunAsync, when
  // the job may request an id token).
  const env = { ...stepEnv(job, scope, step, files), ...idTokenEnv(job) };
  try {
    const code = await runProcess(shell.command, shell.args, {
      env,
      cwd: isAbsolute(workdir) ? workdir : join(job.sources.workspace, workdir),
      signal: liveSignal(job),
      onLine: (line) => say(job, name, line),
    });
    return { outcome: outcomeOf(job, code), outputs: takeFileCommands(job, files).outputs };
  } finally {
    rmSync(script, { force: true });
  }
}

function idTokenEnv(job: Job): Record<string, string> {
  const { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: token } =
    job.options.runtime ?? {};
  return url && token ? { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: token } : {};
}

function outcomeOf(job: Job, code: number): StepResult['outcome'] {
  if (code === 0) return 'success';
  return cancelled(job) ? 'cancelled' : 'failure';
}

/** Fresh file-command files for one step, as the runner makes for each. */
function stepFiles(job: Job): FileCommandFiles {
  const dir = join(job.dir, `step-${job.stepCount++}`);
  mkdirSync(dir);
  return createFileCommandFiles(dir);
}

/**
 * A step's environment: the job's, GITHUB_ENV so far, the env of the step that used this action,
 * the step's own `env:` (evaluated), its file-command files, and PATH with GITHUB_PATH's additions.
 */
function stepEnv(job: Job, scope: Scope, step: Step, files: FileCommandFiles): Record<string, string> {
  const ctx = context(job, scope);
  const own: Record<string, string> = {};
  for (const [name, value] of Object.entries(step.env ?? {})) own[name] = interpolate(String(value), ctx);
  // GITHUB_ACTION_PATH is the composite's own directory for each of its steps, a JavaScript action
  // it uses included (actions/runner CompositeActionHandler.RunAsync sets github.action_path).
  const env: Record<string, string> = {
    ...job.baseEnv,
    ...job.carriedEnv,
    ...scope.env,
    ...own,
    ...files,
    GITHUB_ACTION_PATH: scope.action.dir,
  };
  if (job.paths.length) env.PATH = [...job.paths, env.PATH ?? ''].join(delimiter);
  return env;
}

/** After a step: GITHUB_ENV and GITHUB_PATH carry on, the summary is kept (masked), outputs and state returned. */
function takeFileCommands(job: Job, files: FileCommandFiles) {
  const read = (file: string) => readFileSync(file, 'utf8');
  Object.assign(job.carriedEnv, parseFileCommands(read(files.GITHUB_ENV)));
  const added = read(files.GITHUB_PATH).split('\n').filter(Boolean).reverse();
  job.paths.unshift(...added);
  job.summary.push(job.filter.mask(read(files.GITHUB_STEP_SUMMARY)));
  return {
    outputs: parseFileCommands(read(files.GITHUB_OUTPUT)),
    state: parseFileCommands(read(files.GITHUB_STATE)),
  };
}

/** A `uses:` step: a JavaScript action in its node, or a composite action's steps in a scope of their own. */
async function runUses(job: Job, scope: Scope, step: Step, name: string) {
  if (!step.uses) throw new Error(`step "${name}" has neither run nor uses`);
  const action = resolveUses(step.uses, job.sources);
  const ctx = context(job, scope);
  const given: Record<string, string> = {};
  for (const [input, value] of Object.entries(step.with ?? {}))
    given[input] = interpolate(String(value), ctx);
  const using = action.manifest.runs.using;
  if (using === 'composite') return runNested(job, scope, step, action, given);
  if (!/^node\d+$/.test(using))
    throw new Error(`uses: ${step.uses}: runs.using ${using} is not supported here`);
  return runNode(job, scope, step, name, action, given);
}

async function runNested(
  job: Job,
  parent: Scope,
  step: Step,
  action: LoadedAction,
  given: Record<string, string>,
) {
  const ctx = context(job, parent);
  const env: Record<string, string> = { ...parent.env };
  for (const [name, value] of Object.entries(step.env ?? {})) env[name] = interpolate(String(value), ctx);
  const scope: Scope = { action, inputs: {}, env, steps: {}, failed: false };
  scope.inputs = resolveInputs(action, given, context(job, scope));
  for (const [index, child] of (action.manifest.runs.steps ?? []).entries()) {
    if (scope.halted) break;
    await runStep(job, scope, child, index);
  }
  const outcome: StepResult['outcome'] = scope.failed ? 'failure' : cancelled(job) ? 'cancelled' : 'success';
  return { outcome, outputs: actionOutputs(job, scope) };
}

/**
 * A JavaScript action: `node main` with INPUT_<NAME> for each declared input and the runtime values
 * (NodeScriptActionHandler); its post step, if any, is queued with the state it saved.
 */
async function runNode(
  job: Job,
  scope: Scope,
  step: Step,
  name: string,
  action: LoadedAction,
  given: Record<string, string>,
) {
  const inputs = nodeInputs(job, scope, action, given, name);
  const files = stepFiles(job);
  const env = { ...stepEnv(job, scope, step, files), ...inputs, ...actionEnv(job, action) };
  const code = await runNodeScript(job, name, action, action.manifest.runs.main!, env);
  const taken = takeFileCommands(job, files);
  if (action.manifest.runs.post) {
    const condition = action.manifest.runs['post-if'] ?? 'always()';
    job.posts.push({
      name: `Post ${name}`,
      action,
      condition,
      env: { ...stepEnv(job, scope, step, files), ...inputs },
      state: taken.state,
    });
  }
  return { outcome: outcomeOf(job, code), outputs: taken.outputs };
}

/** INPUT_<NAME> (upper-cased, spaces to _) for every declared input; unknown `with:` keys warn, as the runner does. */
function nodeInputs(
  job: Job,
  scope: Scope,
  action: LoadedAction,
  given: Record<string, string>,
  name: string,
) {
  const declared = action.manifest.inputs ?? {};
  const unknown = Object.keys(given).filter((input) => !(input in declared));
  if (unknown.length)
    say(
      job,
      name,
      `##[warning]Unexpected input(s) '${unknown.join("', '")}', valid inputs are ['${Object.keys(declared).join("', '")}']`,
    );
  const ctx = context(job, scope);
  const env: Record<string, string> = {};
  for (const [input, spec] of Object.entries(declared)) {
    const value = given[input] ?? (spec.default !== undefined ? interpolate(String(spec.default), ctx) : '');
    env[`INPUT_${input.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  return env;
}

/** What the runner adds for a JavaScript action's process: the runtime values and the action's own path. */
function actionEnv(job: Job, action: LoadedAction): Record<string, string> {
  const runtime: Record<string, string> = {};
  for (const [name, value] of Object.entries(job.options.runtime ?? {})) if (value) runtime[name] = value;
  const remote = /^([^/@]+\/[^/@]+)(?:\/[^@]*)?@(.+)$/.exec(action.reference);
  // GITHUB_ACTION_REPOSITORY and _REF name a remote action; a local one has none (ActionRunner.RunAsync).
  return remote
    ? { ...runtime, GITHUB_ACTION_REPOSITORY: remote[1]!, GITHUB_ACTION_REF: remote[2]! }
    : runtime;
}

function runNodeScript(
  job: Job,
  name: string,
  action: LoadedAction,
  entry: string,
  env: Record<string, string>,
) {
  const node = job.options.node?.[action.manifest.runs.using] ?? process.execPath;
  return runProcess(node, [join(action.dir, entry)], {
    env,
    cwd: job.sources.workspace,
    signal: liveSignal(job),
    onLine: (line) => say(job, name, line),
  });
}

/**
 * The post steps, last registered first, each if its `post-if` (default always()) holds for the
 * job's status (actions/runner: post steps run after the job's steps, in reverse order). They run
 * to the end even in a cancelled job: they are its cleanup.
 */
async function runPosts(job: Job, root: Scope): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const post of [...job.posts].reverse()) {
    const started = Date.now();
    const ctx = context(job, root, { failed: job.failed });
    if (!condition(post.condition, ctx)) {
      results.push({ id: post.name, name: post.name, outcome: 'skipped', outputs: {}, seconds: 0 });
      continue;
    }
    const files = stepFiles(job);
    const state = Object.fromEntries(
      Object.entries(post.state).map(([key, value]) => [`STATE_${key}`, value]),
    );
    const env = { ...post.env, ...files, ...state, ...actionEnv(job, post.action) };
    job.options.onStep?.(post.name, 'start');
    const code = await runNodeScript(job, post.name, post.action, post.action.manifest.runs.post!, env);
    takeFileCommands(job, files);
    const outcome = code === 0 ? 'success' : 'failure';
    if (outcome === 'failure') job.failed = true;
    const result: StepResult = {
      id: post.name,
      name: post.name,
      outcome,
      outputs: {},
      seconds: (Date.now() - started) / 1000,
    };
    job.options.onStep?.(post.name, outcome, result.seconds);
    results.push(result);
  }
  return results;
}

/** The action's outputs, evaluated once every step has run. */
function actionOutputs(job: Job, scope: Scope): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(scope.action.manifest.outputs ?? {}))
    outputs[name] = interpolate(spec.value ?? '', context(job, scope));
  return outputs;
}
