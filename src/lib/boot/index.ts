import { randomBytes } from 'node:crypto';
import { backoffDelay, noJitter } from '../core/backoff.js';
import { debugLogging, type ActionResult, type Deps } from '../core/io.js';
import { plural } from '../core/text.js';
import { detectEngine } from '../engine/engine.js';
import { ownedContainer } from '../engine/owned.js';
import { judgeHealth, type HealthAnswer, type HealthVerdict } from '../health/judge.js';
import type { HealthMode } from '../health/mode.js';
import {
  elapsed,
  exitedMessage,
  lastLogs,
  quoteLogs,
  requireImage,
  settleNetwork,
  shouldMask,
  showLogs,
  startContainer,
  type Boot,
} from './container.js';
import { describeLimits, type BootLimits } from './limits.js';
import { acceptedSummary, failedSummary } from './summary.js';

export { BOOT_LABEL, runArgs, shouldMask } from './container.js';
export { bootLimits, describeLimits, DEFAULT_MEMORY, type BootLimits, type LimitSource } from './limits.js';
export { DEFAULT_HEALTH_MODE, HEALTH_MODES, defaultHealthPath, type HealthMode } from '../health/mode.js';

export interface BootTestOptions {
  image: string;
  port: number;
  /** What an answer must be: basic (any 2xx), json (a JSON object) or extended (the document). */
  health: HealthMode;
  healthPath: string;
  expectStatus: string[];
  env: Array<[string, string]>;
  /** Like env, but every value is masked however short or plain (env masks only what can be a secret). */
  secretEnv: Array<[string, string]>;
  /** docker's --memory: the memory input, else the instance type's, else 4g (see bootLimits). */
  memory: string;
  /** docker's --cpus: the cpus input, else the instance type's; none without either. */
  cpus?: string;
  /** The instance type whose limits these are, when one was given. */
  instanceType?: BootLimits['instanceType'];
  /** Where memory and cpus came from, for the summary and the log. */
  limitsFrom?: BootLimits['limitsFrom'];
  pidsLimit: number;
  readOnly: boolean;
  user?: string;
  /**
   * host: probe 127.0.0.1:<port> on the host's network; auto: the engine's bridge when it has one,
   * else host; otherwise that network, with the port published on loopback.
   */
  network: string;
  timeoutSeconds: number;
}

/** boot-test's outputs, keyed as its OUTPUTS name them. */
export interface BootOutputs {
  /** Seconds from start to the accepted answer; '' when none was accepted. */
  bootSeconds: number | '';
  /** The accepted (else the last) health document as JSON; '' when none was read (always in basic). */
  health: string;
  /** The status accepted (else the last one seen): "ok" for an accepted answer naming none; '' when none was. */
  status: string;
}

export type BootResult = ActionResult<BootOutputs> & { attempts: number; url: string };

/** What the polls have seen so far. */
interface Seen {
  attempts: number;
  /** The last answer, in words: the timeout message quotes it. */
  last: string;
  status: string;
  doc?: unknown;
}

/** Backoff between polls: 100 ms doubling to 1 s, never past the deadline. */
export function pollDelay(attempt: number, remainingMs = Infinity): number {
  return backoffDelay(attempt - 1, { initialMs: 100, maxMs: 1000, remainingMs }, noJitter);
}

/**
 * Boot's words for a verdict: the HTTP code, the status and what is accepted (the timeout quotes the
 * last), or what makes the document invalid (the failure says it).
 */
export function bootReason(verdict: HealthVerdict, code: number, expectStatus: string[]): string {
  if (verdict.problems)
    return `the health document does not match the extended-health schema: ${verdict.problems.join('; ')}`;
  if (verdict.outcome === 'fail') return verdict.reason ?? 'the answer is not a health document';
  if (code < 200 || code >= 300) return `HTTP ${code}`;
  if (verdict.outcome === 'ok') return `status ${verdict.status || code}`;
  return `status ${verdict.status} (accepted: ${expectStatus.join(', ')})`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts the image as production will and waits for its health. A container that exits fails at
 * once with its exit code and last log lines; a timeout says what was tried and what came back; an
 * answer that is not the extended-health document fails naming the field. The container (and its
 * anonymous /data volume) is always removed. An image the engine does not have throws: nothing ran.
 */
export async function bootTest(options: BootTestOptions, deps: Deps): Promise<BootResult> {
  const engine = await detectEngine(deps.run, deps.env, { probeBuildx: false });
  for (const [, value] of options.env) if (shouldMask(value)) deps.log.secret(value);
  for (const [, value] of options.secretEnv) if (value) deps.log.secret(value);
  const settled = {
    ...options,
    env: [...options.env, ...options.secretEnv],
    network: await settleNetwork(engine.bin, options.network, deps),
  };
  await requireImage(engine.bin, settled.image, deps);
  const name = `slipway-boot-${randomBytes(4).toString('hex')}`;
  const boot: Boot = { options: settled, deps, bin: engine.bin, name, started: deps.now().getTime() };
  deps.own?.(ownedContainer(engine.bin, name));
  try {
    return await startAndWait(boot);
  } finally {
    await deps.run(engine.bin, ['rm', '-f', '-v', name], { silent: true });
    deps.own?.(undefined);
  }
}

async function startAndWait(boot: Boot): Promise<BootResult> {
  const { options, deps } = boot;
  const started = await startContainer(boot);
  if ('failure' in started) {
    const seen = { attempts: 0, last: 'not started', status: '' };
    return failed(boot, '', seen, { what: 'could not start', message: started.failure });
  }
  const wanted =
    options.health === 'basic' ? 'any 2xx' : `${options.health} health, ${options.expectStatus.join(' or ')}`;
  deps.log.info(
    `Booting ${options.image} as ${boot.name} (${options.readOnly ? 'read-only, ' : ''}${describeLimits(options)}, pids ${options.pidsLimit}, no capabilities); polling ${started.url} for ${wanted}.`,
  );
  const result = await waitForHealth(boot, started.url);
  // With debug logging on, the container's whole log is printed however the boot ended.
  if (debugLogging(deps.env) && !boot.logsShown) await showLogs(boot, await lastLogs(boot));
  return result;
}

/** Polls until an accepted answer, the container's exit, an invalid document or the deadline. */
async function waitForHealth(boot: Boot, url: string): Promise<BootResult> {
  const { options, deps } = boot;
  const deadline = boot.started + options.timeoutSeconds * 1000;
  const seen: Seen = { attempts: 0, last: 'no answer yet', status: '' };
  for (;;) {
    seen.attempts++;
    const exited = await exitedMessage(boot, url);
    if (exited) return failed(boot, url, seen, { what: 'the container exited', message: exited });
    const outcome = await pollOnce(boot, url, deadline, seen);
    if (outcome === 'ok') return accepted(boot, url, seen);
    if (outcome === 'fail') {
      const message = `${options.image} answered ${url}, but ${seen.last}.`;
      return failed(boot, url, seen, { what: 'invalid health document', message });
    }
    const remainingMs = deadline - deps.now().getTime();
    if (remainingMs <= 0) {
      const message = `No accepted answer from ${url} within ${options.timeoutSeconds} s (${seen.attempts} attempts; last: ${seen.last}): check that the image listens on port ${options.port} and serves ${options.healthPath}. Last log lines: ${quoteLogs(await lastLogs(boot))}`;
      return failed(boot, url, seen, {
        what: `no accepted answer within ${options.timeoutSeconds} s`,
        message,
      });
    }
    await sleep(pollDelay(seen.attempts, remainingMs));
  }
}

/** One GET of the health URL, judged; what it saw goes into `seen`. */
async function pollOnce(
  boot: Boot,
  url: string,
  deadline: number,
  seen: Seen,
): Promise<HealthVerdict['outcome']> {
  const timeoutMs = Math.max(200, Math.min(2000, deadline - boot.deps.now().getTime()));
  let answer: HealthAnswer;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    answer = { code: response.status, text: await response.text() };
  } catch (err) {
    const error = err as Error & { cause?: { code?: string } };
    seen.last =
      error.cause?.code ??
      (error.name === 'TimeoutError' ? 'no answer within the attempt timeout' : error.message);
    return 'retry';
  }
  const verdict = judgeHealth(answer, { acceptStatus: boot.options.expectStatus, mode: boot.options.health });
  if (verdict.doc !== undefined) seen.doc = verdict.doc;
  if (verdict.status || verdict.outcome === 'ok') seen.status = verdict.status || 'ok';
  seen.last = bootReason(verdict, answer.code, boot.options.expectStatus);
  return verdict.outcome;
}

/** The health document as JSON; '' when none was read (basic reads none). */
const healthOutput = (seen: Seen) => (seen.doc === undefined ? '' : JSON.stringify(seen.doc));

function accepted(boot: Boot, url: string, seen: Seen): BootResult {
  const bootSeconds = Math.round(elapsed(boot) * 100) / 100;
  const { options } = boot;
  boot.deps.log.info(
    `${options.image} answered ${seen.last} after ${bootSeconds} s (${plural(seen.attempts, 'attempt')}).`,
  );
  return {
    outputs: { bootSeconds, health: healthOutput(seen), status: seen.status },
    summary: acceptedSummary(options, {
      seconds: bootSeconds,
      attempts: seen.attempts,
      status: seen.status,
      body: seen.doc,
    }),
    attempts: seen.attempts,
    url,
  };
}

function failed(boot: Boot, url: string, seen: Seen, failure: { what: string; message: string }): BootResult {
  return {
    outputs: { bootSeconds: '', health: healthOutput(seen), status: seen.status },
    summary: failedSummary(boot.options, { ...failure, attempts: seen.attempts, last: seen.last }),
    failure: failure.message,
    attempts: seen.attempts,
    url,
  };
}

/**
 * The post step's cleanup: removes a container a cancelled or crashed main step left behind (its
 * name kept in the step's state). Returns whether there was one to remove.
 */
export async function removeLeftContainer(name: string, deps: Deps): Promise<boolean> {
  if (!name) return false;
  const engine = await detectEngine(deps.run, deps.env, { probeBuildx: false });
  await deps.run(engine.bin, ['rm', '-f', '-v', name], { silent: true });
  deps.log.info(`Removed the boot-test container ${name} left by the main step.`);
  return true;
}
