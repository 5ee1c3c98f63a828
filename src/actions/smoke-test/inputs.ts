import { UserError } from '../../lib/core/errors.js';
import {
  oneLineInputs,
  parseChoice,
  parseDuration,
  parseList,
  parseNumber,
  parsePath,
} from '../../lib/core/inputs.js';
import { parseSize } from '../../lib/core/bytes.js';
import {
  DEFAULT_HEALTH_MODE,
  HEALTH_MODES,
  defaultHealthPath,
  type HealthMode,
  type SmokeOptions,
  type SmokeOutputs,
} from '../../lib/smoke/index.js';
import { parseVersionProof } from '../shared/health.js';
import type { OutputNames } from '../shared/runner.js';

/** Input names, exactly as in actions/smoke-test/action.yml (a test holds them equal). */
export const INPUTS = {
  url: 'url',
  health: 'health',
  path: 'path',
  versionHeader: 'version-header',
  versionPath: 'version-path',
  expectVersion: 'expect-version',
  expectImage: 'expect-image',
  acceptStatus: 'accept-status',
  requireCapabilities: 'require-capabilities',
  requireTools: 'require-tools',
  timeout: 'timeout',
  attemptTimeout: 'attempt-timeout',
  initialDelay: 'initial-delay',
  maxDelay: 'max-delay',
  headers: 'headers',
  versionOverride: 'version-override',
  maxBodyBytes: 'max-body-bytes',
  consecutiveSuccesses: 'consecutive-successes',
} as const;

export const OUTPUTS = {
  healthy: 'healthy',
  attempts: 'attempts',
  elapsedSeconds: 'elapsed-seconds',
  status: 'status',
  health: 'health',
} as const satisfies OutputNames<SmokeOutputs>;

const STATUSES = ['healthy', 'degraded', 'unhealthy'];

/** `Name: value` lines; the values are masked by the action. */
export function parseHeaders(value: string): Array<[string, string]> {
  return value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((line, i) => {
      const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
      if (!match)
        throw new UserError(
          `Input "headers" line ${i + 1} is not "Name: value" (values are not shown: they are masked).`,
        );
      return [match[1]!, match[2]!];
    });
}

/** Inputs only the extended document answers; refused in basic and json mode (nothing to check). */
function requireExtended(health: HealthMode, name: string, values: string[]): string[] {
  if (values.length && health !== 'extended')
    throw new UserError(
      `Input "${name}" needs health: extended (a ${health} answer names no capabilities or tools).`,
    );
  return values;
}

/** The inputs that are lists, one item (or a few, comma-separated) per line. */
const MULTI_LINE = [INPUTS.headers, INPUTS.acceptStatus, INPUTS.requireCapabilities, INPUTS.requireTools];

/** What an answer is held to: the mode, the path (by mode when empty), the version proof, the statuses. */
function readHealth(get: (name: string) => string) {
  const health = parseChoice(INPUTS.health, get(INPUTS.health), HEALTH_MODES, DEFAULT_HEALTH_MODE);
  const path = parsePath(INPUTS.path, get(INPUTS.path), defaultHealthPath(health));
  const proof = parseVersionProof(health, get(INPUTS.versionHeader).trim(), get(INPUTS.versionPath).trim());
  const acceptStatus = parseList(get(INPUTS.acceptStatus) || 'healthy,degraded', { commas: true });
  // The extended document's statuses are these three; a json body may name its own ("pass", "UP").
  const bad = health === 'extended' ? acceptStatus.filter((s) => !STATUSES.includes(s)) : [];
  if (bad.length)
    throw new UserError(
      `Input "accept-status" has ${bad.join(', ')}: use ${STATUSES.join(', ')} (comma-separated).`,
    );
  const list = (name: string) => requireExtended(health, name, parseList(get(name), { commas: true }));
  return {
    health,
    path,
    proof,
    acceptStatus,
    requireCapabilities: list(INPUTS.requireCapabilities),
    requireTools: list(INPUTS.requireTools),
  };
}

export function readInputs(raw: (name: string) => string): SmokeOptions {
  const get = oneLineInputs(raw, MULTI_LINE);
  const url = get(INPUTS.url).trim();
  if (!url)
    throw new UserError(
      'Input "url" is required: the deployed URL (e.g. the deploy step\'s deployment-url output).',
    );
  const health = readHealth(get);
  const maxBody = get(INPUTS.maxBodyBytes).trim();
  const timeoutMs = parseDuration(INPUTS.timeout, get(INPUTS.timeout), 120) * 1000;
  const initialDelayMs = parseDuration(INPUTS.initialDelay, get(INPUTS.initialDelay), 0.2) * 1000;
  const maxDelayMs = parseDuration(INPUTS.maxDelay, get(INPUTS.maxDelay), 1) * 1000;
  if (maxDelayMs < initialDelayMs)
    throw new UserError(
      `Input "max-delay" (${maxDelayMs / 1000}s) is below "initial-delay" (${initialDelayMs / 1000}s): raise max-delay.`,
    );
  return {
    url,
    ...health,
    expectVersion: get(INPUTS.expectVersion).trim() || undefined,
    expectImage: get(INPUTS.expectImage).trim() || undefined,
    timeoutMs,
    attemptTimeoutMs: parseDuration(INPUTS.attemptTimeout, get(INPUTS.attemptTimeout), 10) * 1000,
    initialDelayMs,
    maxDelayMs,
    headers: parseHeaders(get(INPUTS.headers)),
    versionOverride: get(INPUTS.versionOverride).trim() || undefined,
    maxBodyBytes: maxBody ? parseSize(INPUTS.maxBodyBytes, maxBody) : 1024 * 1024,
    consecutiveSuccesses: parseNumber(
      INPUTS.consecutiveSuccesses,
      get(INPUTS.consecutiveSuccesses),
      1,
      1,
      100,
      true,
    ),
  };
}
