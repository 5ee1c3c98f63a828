import { parseBoolean } from '../../lib/inputs.js';
import type { RollbackOptions } from '../../lib/rollback.js';

/** Input names, exactly as in actions/rollback/action.yml (a test holds them equal). */
export const INPUTS = {
  apiToken: 'api-token',
  accountId: 'account-id',
  workingDirectory: 'working-directory',
  config: 'config',
  environment: 'environment',
  wranglerVersion: 'wrangler-version',
  toVersion: 'to-version',
  expectedLive: 'expected-live',
  reason: 'reason',
  force: 'force',
} as const;

export const OUTPUTS = {
  rolledBack: 'rolled-back',
  fromVersion: 'from-version',
  toVersion: 'to-version',
} as const;

export function readInputs(get: (name: string) => string): RollbackOptions {
  return {
    apiToken: get(INPUTS.apiToken).trim(),
    accountId: get(INPUTS.accountId).trim(),
    workingDirectory: get(INPUTS.workingDirectory) || '.',
    config: get(INPUTS.config).trim() || undefined,
    environment: get(INPUTS.environment).trim() || undefined,
    wranglerVersion: get(INPUTS.wranglerVersion).trim(),
    toVersion: get(INPUTS.toVersion).trim(),
    expectedLive: get(INPUTS.expectedLive).trim(),
    reason: get(INPUTS.reason),
    force: parseBoolean(INPUTS.force, get(INPUTS.force), false),
  };
}
