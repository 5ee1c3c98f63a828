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
  const I = CONNECTION_INPUTS;
  return {
    apiToken: get(I.apiToken).trim(),
    accountId: get(I.accountId).trim(),
    workingDirectory: get(I.workingDirectory) || '.',
    config: get(I.config).trim() || undefined,
    environment: get(I.environment).trim() || undefined,
    wranglerVersion: get(I.wranglerVersion).trim(),
  };
}
