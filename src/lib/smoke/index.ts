import { backoffDelay } from '../core/backoff.js';
import { UserError } from '../core/errors.js';
import type { ActionResult, Deps, Log } from '../core/io.js';
import { probe, type Attempt, type Expectations } from './probe.js';
import { smokeSummary } from './summary.js';

export type { Attempt } from './probe.js';
export { DEFAULT_HEALTH_MODE, HEALTH_MODES, defaultHealthPath, type HealthMode } from '../health/mode.js';

export interface SmokeOptions extends Expectations {
  url: string;
  path: string;
  timeoutMs: number;
  attemptTimeoutMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxBodyBytes: number;
  consecutiveSuccesses: number;
  headers: Array<[string, string]>;
  /** A version id (the worker name is taken from the URL) or a full `<worker>="<id>"` value. */
  versionOverride?: string;
}

/** smoke-test's outputs, keyed as its OUTPUTS name them. */
export interface SmokeOutputs {
  healthy: boolean;
  /** How many attempts were made. */
  attempts: number;
  elapsedSeconds: number;
  /** The health status last seen: "ok" for a healthy answer naming none; '' when none was. */
  status: string;
  /** The last health document (json, extended), as JSON ('' when none was read: always in basic). */
  health: string;
}

export type SmokeResult = ActionResult<SmokeOutputs> & { attempts: Attempt[] };

/** Waiting and jitter, replaceable in tests (the clock is deps.now). */
export interface SmokeTiming {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** The state of one smoke test: what to ask, until when, and what came back so far. */
interface Poll {
  options: SmokeOptions;
  deps: Deps;
  sleep: (ms: number) => Promise<void>;
  random?: () => number;
  target: URL;
  headers: Headers;
  start: number;
  deadline: number;
  attempts: Attempt[];
  /** Consecutive successes so far. */
  streak: number;
  /** Retries so far: the backoff's exponent. */
  retries: number;
}

/** The `Cloudflare-Workers-Version-Overrides` value: `<worker>="<version>"`. */
export function versionOverrideHeader(url: URL, value: string): string {
  if (value.includes('=')) return value;
  const worker = url.hostname.endsWith('.workers.dev') ? url.hostname.split('.')[0] : undefined;
  if (!worker)
    throw new UserError(
      `Input "version-override" is a bare version id, but ${url.hostname} is not a workers.dev URL to take the Worker name from: give <worker>="<version-id>".`,
    );
  return `${worker}="${value}"`;
}

/** A scheme, then an authority with an "@" in it (`https://user:pw@host`, `https:user@host`). */
const USERINFO = /^\s*[a-z][a-z0-9+.-]*:[/\\]*[^/\\?#]*@/i;

/** The URL to ask and the headers to send (values masked); bad input throws before any request. */
function prepareRequest(options: SmokeOptions, log: Log): { target: URL; headers: Headers } {
  // Credentials in a URL end up in every log line and summary that names it: refuse them, unshown,
  // before any message quotes the URL (one that does not parse may hold them too).
  const credentials =
    'Input "url" holds credentials (user:password@): they are not sent; pass a token in "headers" (masked) instead.';
  if (USERINFO.test(options.url)) throw new UserError(credentials);
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new UserError(
      `Input "url" is "${options.url}": give an absolute http(s) URL such as https://app.example.workers.dev.`,
    );
  }
  if (base.username || base.password) throw new UserError(credentials);
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new UserError(`Input "url" is "${options.url}": only http and https URLs can be smoke-tested.`);
  // A path such as //evil.example/x resolves to another host, which would get the masked headers
  // (and //user:password@ the same host would put credentials in the URL).
  if (/^[/\\]{2}/.test(options.path) || new URL(options.path || '/', base).origin !== base.origin)
    throw new UserError(
      `Input "path" leaves ${base.origin} (a path starting with // names another host): give a path such as /health/extended.`,
    );
  const headers = new Headers({ accept: 'application/json', 'user-agent': 'slipway-smoke-test' });
  for (const [name, value] of options.headers) {
    log.secret(value);
    headers.set(name, value);
  }
  if (options.versionOverride)
    headers.set('Cloudflare-Workers-Version-Overrides', versionOverrideHeader(base, options.versionOverride));
  return { target: new URL(options.path || '/', base), headers };
}

/**
 * smoke-test: ask the deployed version's health (basic, json or extended) until it is healthy, by
 * the expected version, or the deadline passes. Retries what a deploy in progress looks like
 * (connection errors, timeouts, 5xx, 404/408/429, another version answering, a status or capability
 * not ready yet); fails at once on what retrying cannot fix (other 4xx, a foreign redirect, a body
 * that is not the JSON (json) or the extended-health document (extended), a required tool that failed).
 */
export async function smokeTest(
  options: SmokeOptions,
  deps: Deps,
  timing: SmokeTiming = {},
): Promise<SmokeResult> {
  const { target, headers } = prepareRequest(options, deps.log);
  const start = deps.now().getTime();
  const poll: Poll = {
    options,
    deps,
    sleep: timing.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
    random: timing.random,
    target,
    headers,
    start,
    deadline: start + options.timeoutMs,
    attempts: [],
    streak: 0,
    retries: 0,
  };
  deps.log.info(
    `GET ${target.href} (health: ${options.health})${options.expectVersion ? ` expecting version ${options.expectVersion}` : ''}${options.expectImage ? ` on image ${options.expectImage}` : ''} (deadline ${options.timeoutMs / 1000}s)`,
  );
  const unproven = unprovenVersion(options);
  // An image asked for explicitly and not checkable is a warning; the pipeline always passes a version.
  if (unproven && options.expectImage) deps.log.warning(unproven);
  else if (unproven) deps.log.info(unproven);
  const failure = await pollUntilHealthy(poll);
  return smokeResult(poll, failure, unproven);
}

/**
 * basic or json with no version proof (version-header, version-path) and a version or image to
 * expect: the answers cannot show which version serves them. Said in the summary, never checked by
 * anything invented.
 */
export function unprovenVersion(options: SmokeOptions): string | undefined {
  const { expectVersion, expectImage, health, proof } = options;
  if (health === 'extended' || proof?.header || proof?.pointer || (!expectVersion && !expectImage))
    return undefined;
  const expected = [
    expectVersion && `version ${expectVersion} (expect-version)`,
    expectImage && `image ${expectImage} (expect-image)`,
  ].filter(Boolean);
  return [
    `Version not proven by the service: with health ${health} and no version-header${health === 'json' ? ' or version-path' : ''}, its answers do not say which version serves them, so they were not compared with the expected ${expected.join(' or ')}.`,
    expectVersion
      ? `The Worker version deployed is ${expectVersion}; that it is the one answering is not shown.`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}

const now = (poll: Poll) => poll.deps.now().getTime();

/** Attempts until enough consecutive successes (undefined), a failure, or the deadline (why). */
async function pollUntilHealthy(poll: Poll): Promise<string | undefined> {
  const { options, target } = poll;
  for (let n = 1; ; n++) {
    const attempt = await takeAttempt(poll, n);
    if (attempt.outcome === 'fail')
      return `smoke-test failed on attempt ${n}: ${attempt.reason} (GET ${target.href}).`;
    poll.streak = attempt.outcome === 'ok' ? poll.streak + 1 : 0;
    if (poll.streak >= options.consecutiveSuccesses) return undefined;
    const remaining = poll.deadline - now(poll);
    if (remaining <= 0) return timedOut(poll, n);
    await poll.sleep(nextDelay(poll, attempt, remaining));
    // An attempt with next to no time left can only time out: the last answer stands.
    if (poll.deadline - now(poll) < 50) return timedOut(poll, n);
  }
}

/** One attempt, recorded and logged. */
async function takeAttempt(poll: Poll, n: number): Promise<Attempt> {
  const { options, deps } = poll;
  const at = (now(poll) - poll.start) / 1000;
  const request = {
    target: poll.target,
    headers: poll.headers,
    timeoutMs: Math.max(1, Math.min(options.attemptTimeoutMs, poll.deadline - now(poll))),
    attemptTimeoutMs: options.attemptTimeoutMs,
    maxBodyBytes: options.maxBodyBytes,
  };
  const attempt: Attempt = { n, at, ...(await probe(request, options)) };
  poll.attempts.push(attempt);
  deps.log.info(
    `#${n} +${at.toFixed(1)}s ${attempt.code || 'no answer'}${attempt.version ? ` version ${attempt.version}` : ''}${attempt.healthStatus ? ` ${attempt.healthStatus}` : ''} → ${attempt.outcome}${attempt.reason ? `: ${attempt.reason}` : ''}`,
  );
  return attempt;
}

/** After a success, the initial delay (the next must follow soon); after a retry, backoff with jitter. */
function nextDelay(poll: Poll, attempt: Attempt, remainingMs: number): number {
  const { options } = poll;
  if (attempt.outcome === 'ok') return Math.min(options.initialDelayMs, remainingMs);
  return backoffDelay(
    poll.retries++,
    { initialMs: options.initialDelayMs, maxMs: options.maxDelayMs, remainingMs },
    poll.random,
  );
}

function timedOut(poll: Poll, n: number): string {
  const { options, attempts } = poll;
  // The last answer says more than a last attempt the deadline cut short.
  const told =
    [...attempts].reverse().find((seen) => seen.code !== 0 && seen.outcome !== 'ok') ?? attempts.at(-1)!;
  const last =
    told.outcome === 'ok'
      ? `${poll.streak} of ${options.consecutiveSuccesses} consecutive successes`
      : told.reason;
  return `smoke-test: not healthy within ${options.timeoutMs / 1000}s (${n} attempts); last: ${last} (GET ${poll.target.href}).`;
}

function smokeResult(poll: Poll, failure: string | undefined, unproven: string | undefined): SmokeResult {
  const { attempts } = poll;
  const elapsedSeconds = Math.round((now(poll) - poll.start) / 100) / 10;
  const last = [...attempts].reverse().find((seen) => seen.doc !== undefined);
  return {
    outputs: {
      healthy: !failure,
      attempts: attempts.length,
      elapsedSeconds,
      status: last?.healthStatus || (failure ? '' : 'ok'),
      health: last?.doc !== undefined ? JSON.stringify(last.doc) : '',
    },
    summary: smokeSummary({
      attempts,
      elapsedSeconds,
      href: poll.target.href,
      health: poll.options.health,
      expectVersion: poll.options.expectVersion,
      expectImage: poll.options.expectImage,
      unproven,
      failure,
    }),
    failure,
    attempts,
  };
}
