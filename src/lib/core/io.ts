import type { Runner } from './exec.js';

/**
 * The ports through which src/lib talks to whatever runs it: the Actions runner in the entries
 * (src/actions/shared/runner.ts, backed by @actions/core), a console in the rehearsal and benches, a
 * scripted fake in unit tests. Nothing in src/lib imports @actions/core or reads process.env itself.
 */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  /** Output inside a collapsible group. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Never print this value: the runner masks it from logs. */
  secret(value: string): void;
}

/** The process environment as logic sees it: passed in, never read from process.env. */
export type Env = Record<string, string | undefined>;

/**
 * Whether the run has debug logging on: a re-run with "Enable debug logging" sets RUNNER_DEBUG,
 * which "is set only if debug logging is enabled, and always has the value of 1" (GitHub Docs,
 * "Variables reference", default environment variables). The tools the kit starts then say more
 * (wrangler's debug log, the engine client's debug output) and their runs are shown.
 */
export function debugLogging(env: Env): boolean {
  return env.RUNNER_DEBUG === '1';
}

/**
 * A cache that outlives the runner: GitHub's Actions cache (@actions/cache) on a runner that has the
 * service, absent elsewhere. One path per entry. Saving a key that already exists is not an error
 * (another job saved the same content first).
 */
export interface CacheService {
  /** Restores `path`; the key that matched (exact, else the newest with a prefix), or undefined. */
  restore(path: string, key: string, prefixes?: string[]): Promise<string | undefined>;
  save(path: string, key: string): Promise<void>;
}

/** A container an action made, and how to remove it at once: a signal handler cannot wait. */
export interface OwnedContainer {
  name: string;
  removeNow(): void;
}

/**
 * One GitHub REST call: Octokit's `request` on the runner (GITHUB_API_URL points it at a local server
 * in tests), a scripted fake in unit tests. Rejects with an Error carrying the HTTP `status`.
 */
export type GitHubRequest = (route: string, params: Record<string, unknown>) => Promise<{ data: unknown }>;

/** What a request through the Fetch port may carry. */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  /** JSON or form text (the Cloudflare API), or bytes (a registry blob). */
  body?: string | Uint8Array;
  /** manual: a 3xx comes back as it is, so the caller decides which headers follow it (a registry). */
  redirect?: 'follow' | 'manual';
  signal?: AbortSignal;
}

/** What the callers read of a response. */
export interface FetchResponse {
  status: number;
  /** Case-insensitive, as the platform's Headers: Location, Docker-Content-Digest, WWW-Authenticate. */
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  /** The body as bytes while they arrive (a registry blob, hashed as it is written); null when none. */
  body: AsyncIterable<Uint8Array> | null;
}

/**
 * One HTTP request: the platform's fetch on the runner, a scripted fake or a local server in unit
 * tests. What the Cloudflare API client and the registry stage store need of it.
 */
export type Fetch = (url: string, init: FetchInit) => Promise<FetchResponse>;

/** What every action's logic is given. */
export interface Deps {
  run: Runner;
  log: Log;
  env: Env;
  /** The Actions cache, when this job has the service. */
  cache?: CacheService;
  now: () => Date;
  /**
   * Told of the container the action owns while it exists (undefined once it is removed), so that
   * cancellation removes it and a post step can find it.
   */
  own?: (container: OwnedContainer | undefined) => void;
  /**
   * Registers a cleanup for cancellation (SIGINT/SIGTERM from the runner) while the thing it
   * cleans up exists: a file holding a secret, a derived config, a registry login. `what` names it
   * in the failure line ("the secrets file" → "the secrets file was removed"). Returns the function that unregisters it once it is cleaned up normally.
   */
  onCancel?: (what: string, cleanup: () => void | Promise<void>) => () => void;
  /** The GitHub API, for the actions that report to it. */
  github?: GitHubRequest;
  /**
   * HTTP: the Cloudflare API calls wrangler has no command for (container rollouts), the registry
   * stage store (the distribution API).
   */
  fetch?: Fetch;
  /** Waits (polling a rollout); a fake clock in unit tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** deps.sleep, or real time when the caller gave none (polling, backoff, a gradual step's bake). */
export function sleeper(deps: Pick<Deps, 'sleep'>): (ms: number) => Promise<void> {
  return deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
}

/** An output's value before the runner turns it into a string. */
export type OutputValue = string | number | boolean;

/**
 * What every action's logic returns: its outputs (keyed as the entry's OUTPUTS names them), the job
 * summary, and one line when the step must fail. Outputs and summary are set even on failure, so a
 * later step (rollback, report) can read what happened.
 */
export interface ActionResult<O extends { [K in keyof O]: OutputValue }> {
  outputs: O;
  summary: string;
  failure?: string;
}
