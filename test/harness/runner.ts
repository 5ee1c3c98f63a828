import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileCommandFiles, parseFileCommands } from '../../tools/local-runner/files.js';
import { node24 } from '../../tools/local-runner/hosted.js';
import { CANCEL_GRACE } from '../../tools/local-runner/process.js';

export { parseFileCommands };

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ActionRun {
  code: number;
  outputs: Record<string, string>;
  env: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  log: string;
}

/** The node the bundles run on: Node 24, as GitHub's runners run node24 actions (see .ci/run). */
export const ACTION_NODE = node24();

/**
 * Runs `node dist/<name>/index.js` exactly as the runner does, on Node 24: inputs as INPUT_<NAME> (upper-cased,
 * spaces to "_", hyphens kept), and fresh GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE and
 * GITHUB_STEP_SUMMARY files whose contents come back parsed.
 */
export async function runAction(
  name: string,
  inputs: Record<string, string>,
  opts: {
    cwd?: string;
    env?: Record<string, string | undefined>;
    timeoutMs?: number;
    /** Cancels the step as the runner does: SIGINT, then SIGTERM, then SIGKILL (CANCEL_GRACE). */
    signal?: AbortSignal;
  } = {},
): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), `slipway-runner-${name}-`));
  const files = createFileCommandFiles(dir);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // A clean runner: no inputs or file commands leak in from the test process.
    if (v !== undefined && !k.startsWith('INPUT_') && !k.startsWith('GITHUB_') && !k.startsWith('ACTIONS_'))
      env[k] = v;
  }
  Object.assign(env, { RUNNER_TEMP: dir, GITHUB_ACTIONS: 'true', CI: 'true' }, files);
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;

  const child = spawn(ACTION_NODE, [join(ROOT, 'dist', name, 'index.js')], {
    cwd: opts.cwd ?? ROOT,
    env,
  });
  let stdout = '';
  let stderr = '';
  let log = '';
  child.stdout.on('data', (d: Buffer) => ((stdout += d), (log += d)));
  child.stderr.on('data', (d: Buffer) => ((stderr += d), (log += d)));
  const timers = [setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 540_000)];
  opts.signal?.addEventListener(
    'abort',
    () => {
      child.kill('SIGINT');
      timers.push(setTimeout(() => child.kill('SIGTERM'), CANCEL_GRACE.sigintMs));
      timers.push(setTimeout(() => child.kill('SIGKILL'), CANCEL_GRACE.sigintMs + CANCEL_GRACE.sigtermMs));
    },
    { once: true },
  );
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? 1)));
  for (const timer of timers) clearTimeout(timer);
  const read = (f: string) => readFileSync(f, 'utf8');
  // The runner still obeys the deprecated ::set-output command from stdout; the file wins after.
  const commandOutputs = Object.fromEntries(
    workflowCommands(stdout)
      .filter((c) => c.command === 'set-output')
      .map((c) => [/name=([^,]+)/.exec(c.properties)?.[1] ?? '', unescapeData(c.data)]),
  );
  const result: ActionRun = {
    code,
    outputs: { ...commandOutputs, ...parseFileCommands(read(files.GITHUB_OUTPUT)) },
    env: parseFileCommands(read(files.GITHUB_ENV)),
    state: parseFileCommands(read(files.GITHUB_STATE)),
    summary: read(files.GITHUB_STEP_SUMMARY),
    stdout,
    stderr,
    log,
  };
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/**
 * Everything a run shows a user: outputs, the job summary, and the log without the runner's
 * `::add-mask::` commands (the one place a secret is meant to appear). Leak checks scan this.
 */
export function visibleText(run: ActionRun): string {
  return [JSON.stringify(run.outputs), run.summary, run.log.replace(/::add-mask::.*\n/g, '')].join('\n');
}

/**
 * The lines of stdout the runner would obey as workflow commands: between `::stop-commands::<token>`
 * and `::<token>::` none is (actions/runner ActionCommandManager). Each as its command and data.
 */
export function workflowCommands(
  stdout: string,
): Array<{ command: string; properties: string; data: string }> {
  const commands: Array<{ command: string; properties: string; data: string }> = [];
  let stopToken: string | undefined;
  for (const line of stdout.split('\n')) {
    if (stopToken !== undefined) {
      if (line.trim() === `::${stopToken}::`) stopToken = undefined;
      continue;
    }
    const m = /^::([A-Za-z-]+)( [^:]*)?::(.*)$/.exec(line.trimStart());
    if (!m) continue;
    if (m[1] === 'stop-commands') stopToken = m[3];
    else commands.push({ command: m[1]!, properties: (m[2] ?? '').trim(), data: m[3]! });
  }
  return commands;
}

const unescapeData = (data: string) => data.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');

/** The `::error::` lines of a run the runner would raise as annotations, decoded. */
export function errorLines(run: ActionRun): string[] {
  return workflowCommands(run.stdout)
    .filter((c) => c.command === 'error')
    .map((c) => unescapeData(c.data));
}

/** A throwaway copy of a fixture directory. */
export function copyFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `slipway-fixture-${name}-`));
  cpSync(join(ROOT, 'test', 'fixtures', name), dir, { recursive: true });
  return dir;
}
