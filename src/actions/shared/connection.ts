import type { Connection } from '../../lib/wrangler/session.js';

/** The connection inputs deploy and rollback share, exactly as in their action.yml files. */
export const CONNECTION_INPUTS = {
  apiToken: 'api-token',
  accountId: 'account-id',
  workingDirectory: 'working-directory',
  config: 'config',
  environment: 'environment',
  wranglerVersion: 'wrangler-version',
} as const;

export function readConnection(get: (name: string) => string): Connection {
  const names = CONNECTION_INPUTS;
  return {
    apiToken: get(names.apiToken).trim(),
    accountId: get(names.accountId).trim(),
    workingDirectory: get(names.workingDirectory) || '.',
    config: get(names.config).trim() || undefined,
    environment: get(names.environment).trim() || undefined,
    wranglerVersion: get(names.wranglerVersion).trim(),
  };
}
