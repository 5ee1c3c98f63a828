import { randomBytes } from 'node:crypto';
import { relative, resolve, sep } from 'node:path';
import * as cache from '@actions/cache';
import * as core from '@actions/core';
import { describeError, UserError } from '../../lib/core/errors.js';
import { endOpenFences, execRunner } from '../../lib/core/exec.js';
import type {
  ActionResult,
  CacheService,
  Deps,
  Log,
  OutputValue,
  OwnedContainer,
} from '../../lib/core/io.js';
import { runContextFrom, type RunContext } from '../../lib/build/tags.js';
import { readEventPayload } from './event.js';

/** The lib's log port on the Actions runner. */
export const runnerLog: Log = {
  info: (m) => info(m),
  warning: (m) => core.warning(m),
  debug: (m) => core.debug(m),
  group: (name, fn) => core.group(name, fn),
  secret: (v) => core.setSecret(v),
};

/**
 * An info message that holds a line the runner would take for a workflow command (a container's log
 * line, a health body, a tool's message: `::set-output …`, `::error::…`) is fenced with
 * `::stop-commands::<random token>`, so it is shown and never obeyed (actions/runner
 * ActionCommandManager); the kit's own commands go through @actions/core, never through info.
 */
function info(message: string): void {
  if (!/^\s*::/m.test(message)) return core.info(message);
  const token = randomBytes(16).toString('hex');
  core.info(`::stop-commands::${token}`);
  core.info(message);
  core.info(`::${token}::`);
}

/**
 * How long one Actions cache call may take (SLIPWAY_CACHE_TIMEOUT, seconds; 10 minutes by default).
 * @actions/cache puts no limit on an upload (uploadCacheArchiveSDK passes no timeout) and waits 3
 * minutes per try for a silent service: a slow cache must cost a warning, not the job's time.
 */
function cacheTimeoutMs(): number {
  const seconds = Number(process.env.SLIPWAY_CACHE_TIMEOUT || 600);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 600) * 1000;
}

/** Set when a cache call was given up on: its requests may still hold the process open. */
let abandonedCacheWork = false;

function withDeadline<T>(what: string, work: Promise<T>): Promise<T> {
  const ms = cacheTimeoutMs();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandonedCacheWork = true;
      reject(new Error(`the Actions cache did not ${what} within ${ms / 1000}s (SLIPWAY_CACHE_TIMEOUT)`));
    }, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The Actions cache port (@actions/cache), when this job has the service (GitHub-hosted runners do). */
export function actionsCache(): CacheService | undefined {
  if (!cache.isFeatureAvailable()) return undefined;
  return {
    restore: (path, key, prefixes = []) => withDeadline('restore', cache.restoreCache([path], key, prefixes)),
    save: (path, key) =>
      withDeadline(
        'save',
        cache.saveCache([path], key).then(
          () => undefined,
          (err: unknown) => {
            // Another job saved the same key first: that entry is as good as ours.
            if (err instanceof Error && err.name === 'ReserveCacheError') return;
            throw err;
          },
        ),
      ),
  };
}

/** The ports every action's logic gets on the runner; `own` is added by actions that make containers. */
export function runnerDeps(extra: Partial<Deps> = {}): Deps {
  return {
    run: execRunner,
    log: runnerLog,
    env: process.env,
    cache: actionsCache(),
    now: () => new Date(),
    fetch: (url, init) => fetch(url, init),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    ...extra,
  };
}

/** An action's output names by the keys its logic returns them under (its OUTPUTS constant). */
export type OutputNames<O> = { readonly [K in keyof O]: string };

/**
 * Hands a result to the runner: every output (as a string), the job summary, and the failure, if
 * any, as the step's one error line. Outputs and summary are written even when the step fails.
 */
export async function publish<O extends { [K in keyof O]: OutputValue }>(
  result: ActionResult<O>,
  names: OutputNames<O>,
): Promise<void> {
  // An output the result leaves out (an optional one) is empty, as an output no step set is.
  for (const key of Object.keys(names) as Array<keyof O>)
    core.setOutput(names[key], String(result.outputs[key] ?? ''));
  // A job summary that cannot be written (no GITHUB_STEP_SUMMARY) costs a warning: failing the step
  // for it after a deploy went live would roll a good deploy back.
  if (result.summary)
    await core.summary
      .addRaw(result.summary, true)
      .write()
      .catch((err: unknown) => core.warning(`The job summary was not written: ${describeError(err)}`));
  if (result.failure) core.setFailed(result.failure);
}

/**
 * What the run is (event, ref, sha, default branch, PR number) from the runner's env and event. The
 * event decides tags (the pull request's, the default branch's), so a corrupt event file fails the
 * step with one line (readEventPayload) rather than tagging by a guess. Not @actions/github's
 * `context`: importing that module parses the file while the bundle loads (see ./event.ts).
 */
export function runContext(): RunContext {
  return runContextFrom(process.env, readEventPayload());
}

/** Runs an entry: any error becomes one failed line, never a stack trace. */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    core.debug(err instanceof Error && err.stack ? err.stack : String(err));
    failWith(err);
  }
  // A cache call given up on may still hold sockets open; the work that matters is done (as
  // actions/cache's restore exits early for the same reason).
  if (abandonedCacheWork) process.exit();
}

/** What a cancelled step removes, named as the failure line says it ("the secrets file"). */
const cancelCleanups = new Map<symbol, { what: string; cleanup: () => void | Promise<void> }>();
let cancelledStep = 'the step';
let cancelHandlersInstalled = false;
/** How long the cleanups may take together: the runner sends SIGTERM 7.5 s after SIGINT. */
const CANCEL_CLEANUP_MS = 5000;

/**
 * Fails the step with the error's one line; a problem at a line of a file (a Dockerfile, a
 * directive) is annotated there, so GitHub shows it on the file in the pull request (the runner's
 * `::error file=…,line=…::`, with the path relative to the workspace as annotations need).
 */
function failWith(err: unknown): void {
  const location = err instanceof UserError ? err.location : undefined;
  if (!location) return core.setFailed(describeError(err));
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
  const file = relative(workspace, resolve(location.file)).split(sep).join('/');
  core.error(describeError(err), { file, startLine: location.line });
  process.exitCode = 1;
}

/**
 * Cancellation: the runner sends SIGINT, then SIGTERM 7.5 s later, then kills the process tree
 * (actions/runner ProcessInvoker.CancelAndKillProcessTree). At the first signal every registered
 * cleanup runs, together and within 5 s; the step then fails with one line naming what was
 * cleaned up and what could not be.
 */
export function cancellable(step: string): Pick<Deps, 'onCancel'> {
  cancelledStep = step;
  installCancelHandlers();
  return {
    onCancel: (what, cleanup) => {
      const key = Symbol(what);
      cancelCleanups.set(key, { what, cleanup });
      return () => void cancelCleanups.delete(key);
    },
  };
}

function installCancelHandlers(): void {
  if (cancelHandlersInstalled) return;
  cancelHandlersInstalled = true;
  let cancelling = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancelling) return; // SIGTERM while the SIGINT cleanups run
    cancelling = true;
    void cleanUpAfterCancel().then((line) => {
      endOpenFences();
      core.setFailed(`${cancelledStep} cancelled (${signal})${line}.`);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Runs every registered cleanup; "; X and Y were removed; could not remove Z" for the failure line. */
async function cleanUpAfterCancel(): Promise<string> {
  const entries = [...cancelCleanups.values()];
  const settled = entries.map((entry) =>
    Promise.resolve()
      .then(entry.cleanup)
      .then(
        () => true,
        () => false,
      ),
  );
  const deadline = new Promise<boolean[]>((resolve) =>
    setTimeout(() => resolve(entries.map(() => false)), CANCEL_CLEANUP_MS).unref(),
  );
  const ok = await Promise.race([Promise.all(settled), deadline]);
  const done = entries.filter((_, i) => ok[i]).map((entry) => entry.what);
  const failed = entries.filter((_, i) => !ok[i]).map((entry) => entry.what);
  return (
    (done.length ? `; ${done.join(', ')} ${done.length > 1 ? 'were' : 'was'} removed` : '') +
    (failed.length ? `; could not remove ${failed.join(', ')}` : '')
  );
}

/**
 * A container must not outlive a cancelled step: returns the tracker to call with the container
 * while it exists (undefined once it is gone); on a signal it is removed (see `cancellable`).
 */
export function removeOnCancel(what: string): (c: OwnedContainer | undefined) => void {
  const { onCancel } = cancellable(what);
  let forget: (() => void) | undefined;
  return (c) => {
    forget?.();
    forget = c ? onCancel!(`its container ${c.name}`, () => c.removeNow()) : undefined;
  };
}
