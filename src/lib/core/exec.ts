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
 * What a program the kit starts may see of the step's environment: an allow-list per tool, never the
 * whole environment. The step's own variables (its inputs, INPUT_*, the secrets among them; its
 * state, STATE_*; the Actions runtime token, service URLs and OIDC request token the runner gives
 * a JavaScript action) are never on it, nor is anything else the job set (a job-level secret in
 * `env:`). A tool that needs one of them (buildx's gha cache, wrangler's token) is handed it
 * explicitly through RunOptions.env.
 */
const COMMON = [
  /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TZ|TERM|TMPDIR|TMP|TEMP|CI|NO_COLOR|FORCE_COLOR)$/,
  /^LC_/,
  /^XDG_/,
  /^(HTTPS?_PROXY|NO_PROXY|ALL_PROXY)$/i,
  /^(SSL_CERT_FILE|SSL_CERT_DIR|NODE_EXTRA_CA_CERTS)$/,
  /^(GITHUB_ACTIONS|RUNNER_OS|RUNNER_ARCH|RUNNER_TEMP|RUNNER_TOOL_CACHE|RUNNER_DEBUG)$/,
];
/** docker's and podman's client settings (docker CLI "Environment variables"; podman(1) ENVIRONMENT). */
const ENGINE = [
  /^(DOCKER|BUILDKIT|BUILDX|COMPOSE)_/,
  /^(CONTAINERS|BUILDAH)_/,
  /^(CONTAINER_HOST|CONTAINER_CONNECTION|CONTAINER_SSHKEY|REGISTRY_AUTH_FILE|STORAGE_DRIVER|STORAGE_OPTS)$/,
];
/** wrangler's own settings and Cloudflare's variables (wrangler "System environment variables"); Node's. */
const WRANGLER = [/^(CLOUDFLARE|WRANGLER|CF)_/, /^NODE_(OPTIONS|ENV)$/, /^MINIFLARE_/];
/** npm's configuration (npm "config": npm_config_* and NPM_CONFIG_*). */
const NPM = [/^npm_config_/i, /^NODE_(OPTIONS|ENV)$/];
const GIT = [/^GIT_(CONFIG_|SSH|ASKPASS$|TERMINAL_PROMPT$)/];
/**
 * A docker credential helper the docker config names (build-image's registry stage store asks it
 * for a login): the engine's settings, and what the helpers read: secretservice D-Bus, pass its
 * store and gpg (docker/docker-credential-helpers), ecr-login AWS_*, gcr GOOGLE_/CLOUDSDK_*, the
 * Azure helper AZURE_*.
 */
const CREDENTIAL_HELPER = [
  /^(DBUS_SESSION_BUS_ADDRESS|PASSWORD_STORE_DIR|GNUPGHOME)$/,
  /^(AWS|GOOGLE|CLOUDSDK|AZURE)_/,
];

/** The allow-list for a command, by its name: wrangler runs the engine too (container images). */
function allowedFor(command: string): RegExp[] {
  const tool = command.split('/').pop() ?? command;
  if (/^(docker|podman|buildah)$/.test(tool)) return [...COMMON, ...ENGINE];
  if (tool === 'wrangler') return [...COMMON, ...ENGINE, ...WRANGLER];
  if (tool === 'npm' || tool === 'npx') return [...COMMON, ...NPM];
  if (tool === 'git') return [...COMMON, ...GIT];
  if (tool.startsWith('docker-credential-')) return [...COMMON, ...ENGINE, ...CREDENTIAL_HELPER];
  return COMMON;
}

/** Names the kit must never hand on, even when an allow-list pattern would take them. */
const STEP_ONLY = /^(INPUT_|STATE_)/i;
export const RUNTIME_VARIABLES = [
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RUNTIME_URL',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_URL',
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
];

/**
 * The environment `command` gets: what its allow-list takes of this process's environment, plus
 * `extra` (given explicitly, so always passed).
 */
export function childEnv(
  extra: Record<string, string | undefined> = {},
  command = '',
): Record<string, string> {
  const allowed = allowedFor(command);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || STEP_ONLY.test(name) || RUNTIME_VARIABLES.includes(name)) continue;
    if (allowed.some((pattern) => pattern.test(name))) env[name] = value;
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
  const env = childEnv(options.env, command);
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
