import { randomBytes } from 'node:crypto';
import * as actionsExec from '@actions/exec';

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: Buffer | string;
  /** Do not echo the command's output to the log (it is still captured). */
  silent?: boolean;
  /** Called with each line of stdout and stderr as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Variables that belong to the step alone, never to a program it starts: its inputs (INPUT_*, the
 * secrets among them), its saved state (STATE_*), and the Actions runtime token, service URLs and
 * OIDC request token the runner gives a JavaScript action. A tool that needs one of them (buildx's
 * gha cache) is handed it explicitly through RunOptions.env.
 */
const STEP_ONLY_PREFIXES = ['INPUT_', 'STATE_'];
export const RUNTIME_VARIABLES = [
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RUNTIME_URL',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_URL',
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
];

/** The environment a child process gets: this process's without the step-only variables, plus `extra`. */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    const stepOnly =
      STEP_ONLY_PREFIXES.some((prefix) => name.toUpperCase().startsWith(prefix)) ||
      RUNTIME_VARIABLES.includes(name);
    if (value !== undefined && !stepOnly) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}

/** How src/lib runs programs: a port, so one implementation serves the runner, tests and benches. */
export type Runner = (command: string, args: string[], options?: RunOptions) => Promise<RunResult>;

/**
 * The runner's own exec (@actions/exec): echoes output unless silent, never throws on exit codes.
 * What it echoes is a tool's (docker, wrangler, a Dockerfile's RUN, a container's log): untrusted,
 * so it is fenced with `::stop-commands::<random token>` and `::<token>::`, and a line such as
 * `::set-output …` or `::error::` in it is shown, never obeyed (actions/runner ActionCommandManager).
 */
export const execRunner: Runner = async (command, args, options = {}) => {
  if (options.silent) return exec(command, args, options);
  const token = randomBytes(16).toString('hex');
  process.stdout.write(`::stop-commands::${token}\n`);
  openFences.add(token);
  try {
    return await exec(command, args, options);
  } finally {
    endFence(token);
  }
};

/** The stop-commands tokens of the tool runs echoing now. */
const openFences = new Set<string>();

function endFence(token: string): void {
  if (openFences.delete(token)) process.stdout.write(`::${token}::\n`);
}

/**
 * Ends every open fence: a step cancelled while a tool echoes must still have its failure line
 * obeyed (inside a fence, `::error::` is only shown).
 */
export function endOpenFences(): void {
  for (const token of [...openFences]) endFence(token);
}

const exec: Runner = async (command, args, options = {}) => {
  const env = childEnv(options.env);
  const result = await actionsExec.getExecOutput(command, args, {
    env,
    cwd: options.cwd,
    input: typeof options.input === 'string' ? Buffer.from(options.input) : options.input,
    silent: options.silent ?? false,
    ignoreReturnCode: true,
    listeners: options.onLine
      ? {
          stdline: (l: string) => options.onLine?.(l, 'stdout'),
          errline: (l: string) => options.onLine?.(l, 'stderr'),
        }
      : undefined,
  });
  return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
};
