import {
  foldLines,
  oneLineInputs,
  parseBoolean,
  parseDuration,
  parseOptionValue,
} from '../../lib/core/inputs.js';
import type { RollbackOptions, RollbackOutputs } from '../../lib/deploy/rollback.js';
import { CONNECTION_INPUTS, readConnection } from '../shared/connection.js';
import type { OutputNames } from '../shared/runner.js';

/** Input names, exactly as in actions/rollback/action.yml (a test holds them equal). */
export const INPUTS = {
  ...CONNECTION_INPUTS,
  toVersion: 'to-version',
  expectedLive: 'expected-live',
  reason: 'reason',
  force: 'force',
  previousState: 'previous-state',
  deployedState: 'deployed-state',
  rolloutTimeout: 'rollout-timeout',
} as const;

/** Output names, exactly as in action.yml, by the keys the lib returns them under. */
export const OUTPUTS = {
  rolledBack: 'rolled-back',
  fromVersion: 'from-version',
  toVersion: 'to-version',
  images: 'images',
} as const satisfies OutputNames<RollbackOutputs>;

export function readInputs(raw: (name: string) => string): RollbackOptions {
  const get = oneLineInputs(raw, [INPUTS.reason, INPUTS.previousState, INPUTS.deployedState]);
  return {
    ...readConnection(get),
    // wrangler gets them as `--config <path>` and `--env <name>`.
    config: parseOptionValue(INPUTS.config, get(INPUTS.config)) || undefined,
    environment: parseOptionValue(INPUTS.environment, get(INPUTS.environment)) || undefined,
    toVersion: get(INPUTS.toVersion).trim(),
    expectedLive: get(INPUTS.expectedLive).trim(),
    // One line: the reason is logged and becomes the deployment message, and a line break in it
    // would start a new log line the runner could read as a workflow command.
    reason: foldLines(get(INPUTS.reason)),
    force: parseBoolean(INPUTS.force, get(INPUTS.force), false),
    previousState: get(INPUTS.previousState),
    deployedState: get(INPUTS.deployedState),
    rolloutTimeoutMs: parseDuration(INPUTS.rolloutTimeout, get(INPUTS.rolloutTimeout), 600) * 1000,
  };
}
