import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { lastLine } from '../core/text.js';
import { UserError } from '../core/errors.js';
import { debugLogging, type Deps } from '../core/io.js';
import { resolveWrangler, runWrangler, type WranglerRunResult } from './cli.js';
import { deploymentFrom, type VersionShare } from './output.js';

/** The connection inputs deploy and rollback share. */
export interface Connection {
  apiToken: string;
  accountId: string;
  workingDirectory: string;
  config?: string;
  environment?: string;
  wranglerVersion: string;
  /**
   * The project is untrusted (a fork's pull request): the kit's locked wrangler runs, never a
   * node_modules/.bin/wrangler the project commits.
   */
  untrusted?: boolean;
}

export interface WranglerSession {
  cwd: string;
  version: string;
  /** `--config`/`--env` as given: every command of the session targets the same Worker. */
  common: string[];
  run(args: string[], silent?: boolean, extraEnv?: Record<string, string>): Promise<WranglerRunResult>;
  /** The version serving most traffic now; '' when the Worker does not exist yet. */
  live(): Promise<string>;
  /** Every version live now and its share, highest first; [] when the Worker does not exist yet. */
  deployment(): Promise<VersionShare[]>;
  /** The credentials, for the API calls wrangler has no command for. */
  connection: { apiToken: string; accountId: string };
}

/**
 * Checks the connection inputs, masks the token, picks the wrangler to run and returns the commands
 * deploy and rollback share. `needsCredentials` is false only for a dry run.
 */
export async function openWrangler(
  connection: Connection,
  deps: Pick<Deps, 'run' | 'log' | 'env' | 'cache'>,
  needsCredentials = true,
): Promise<WranglerSession> {
  const cwd = checkConnection(connection, needsCredentials);
  deps.log.secret(connection.apiToken);
  const tool = await resolveWrangler(
    deps.run,
    cwd,
    connection.wranglerVersion,
    deps.env.RUNNER_TOOL_CACHE || join(homedir(), '.cache', 'slipway'),
    deps.log,
    deps.cache,
    undefined,
    !connection.untrusted,
  );
  deps.log.info(`wrangler ${tool.version} (${tool.source}).`);
  const common = [
    ...(connection.config ? [`--config=${connection.config}`] : []),
    ...(connection.environment ? [`--env=${connection.environment}`] : []),
  ];
  // The credentials reach wrangler through its environment only, never its command line.
  const env = {
    ...(connection.apiToken ? { CLOUDFLARE_API_TOKEN: connection.apiToken } : {}),
    ...(connection.accountId ? { CLOUDFLARE_ACCOUNT_ID: connection.accountId } : {}),
    RUNNER_TEMP: deps.env.RUNNER_TEMP,
    ...debugEnv(deps.env),
  };
  // With debug logging on, every wrangler run is shown, not only the deploy itself.
  const debug = debugLogging(deps.env);
  const run = (args: string[], silent = true, extraEnv: Record<string, string> = {}) =>
    runWrangler(deps.run, tool.bin, args, { cwd, env: { ...extraEnv, ...env }, silent: silent && !debug });
  const deployment = () => readDeployment(run, common);
  return {
    cwd,
    version: tool.version,
    common,
    run,
    deployment,
    live: async () => (await deployment())[0]?.version_id ?? '',
    connection: { apiToken: connection.apiToken, accountId: connection.accountId },
  };
}

/**
 * A re-run with debug logging (RUNNER_DEBUG=1, GitHub's "Enable debug logging") turns on wrangler's
 * debug log (WRANGLER_LOG=debug), with its sanitizing kept on: request bodies and headers stay
 * "omitted" (wrangler's debugWithSanitization, WRANGLER_LOG_SANITIZE defaulting to true).
 */
export function debugEnv(env: Record<string, string | undefined>): Record<string, string> {
  return debugLogging(env) ? { WRANGLER_LOG: 'debug', WRANGLER_LOG_SANITIZE: 'true' } : {};
}

/** The working directory, resolved; bad or missing connection inputs throw one clear line. */
function checkConnection(connection: Connection, needsCredentials: boolean): string {
  const cwd = resolve(connection.workingDirectory || '.');
  if (!existsSync(cwd))
    throw new UserError(
      `Input "working-directory" is "${connection.workingDirectory}", which does not exist.`,
    );
  if (!needsCredentials) return cwd;
  if (!connection.apiToken)
    throw new UserError(
      'Input "api-token" is empty: pass secrets.CLOUDFLARE_API_TOKEN (or use dry-run: true for pull requests).',
    );
  if (!connection.accountId)
    throw new UserError('Input "account-id" is empty: pass secrets.CLOUDFLARE_ACCOUNT_ID (or vars).');
  return cwd;
}

/** The live deployment's versions and shares; [] when the Worker does not exist yet (code 10007). */
async function readDeployment(run: WranglerSession['run'], common: string[]): Promise<VersionShare[]> {
  const status = await run(['deployments', 'status', '--json', ...common]);
  if (status.code === 0) return deploymentFrom(status.stdout) ?? [];
  if (status.outcome.failure?.code === 10007 || /10007/.test(status.stdout + status.stderr)) return [];
  throw new UserError(
    `Could not read the live version (wrangler deployments status): ${status.outcome.failure?.message ?? lastLine(status.stderr || status.stdout)}`,
  );
}
