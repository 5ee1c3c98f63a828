import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { lastLine } from '../core/text.js';
import { UserError } from '../core/errors.js';
import type { Deps } from '../core/io.js';
import { resolveWrangler, runWrangler, type WranglerRunResult } from './cli.js';
import { liveVersionFrom } from './output.js';

/** The connection inputs deploy and rollback share. */
export interface Connection {
  apiToken: string;
  accountId: string;
  workingDirectory: string;
  config?: string;
  environment?: string;
  wranglerVersion: string;
}

export interface WranglerSession {
  cwd: string;
  version: string;
  /** `--config`/`--env` as given: every command of the session targets the same Worker. */
  common: string[];
  run(args: string[], silent?: boolean, extraEnv?: Record<string, string>): Promise<WranglerRunResult>;
  /** The version serving most traffic now; '' when the Worker does not exist yet. */
  live(): Promise<string>;
}

/**
 * Checks the connection inputs, masks the token, picks the wrangler to run and returns the commands
 * deploy and rollback share. `needsCredentials` is false only for a dry run.
 */
export async function openWrangler(
  c: Connection,
  deps: Pick<Deps, 'run' | 'log' | 'env' | 'cache'>,
  needsCredentials = true,
): Promise<WranglerSession> {
  const cwd = resolve(c.workingDirectory || '.');
  if (!existsSync(cwd))
    throw new UserError(`Input "working-directory" is "${c.workingDirectory}", which does not exist.`);
  if (needsCredentials) {
    if (!c.apiToken)
      throw new UserError(
        'Input "api-token" is empty: pass secrets.CLOUDFLARE_API_TOKEN (or use dry-run: true for pull requests).',
      );
    if (!c.accountId)
      throw new UserError('Input "account-id" is empty: pass secrets.CLOUDFLARE_ACCOUNT_ID (or vars).');
  }
  deps.log.secret(c.apiToken);
  const tool = await resolveWrangler(
    deps.run,
    cwd,
    c.wranglerVersion,
    deps.env.RUNNER_TOOL_CACHE || join(homedir(), '.cache', 'slipway'),
    deps.log.info,
    deps.cache,
  );
  deps.log.info(`wrangler ${tool.version} (${tool.source}).`);
  const common = [
    ...(c.config ? ['--config', c.config] : []),
    ...(c.environment ? ['--env', c.environment] : []),
  ];
  const env = {
    ...(c.apiToken ? { CLOUDFLARE_API_TOKEN: c.apiToken } : {}),
    ...(c.accountId ? { CLOUDFLARE_ACCOUNT_ID: c.accountId } : {}),
    RUNNER_TEMP: deps.env.RUNNER_TEMP,
  };
  const run = (args: string[], silent = true, extraEnv: Record<string, string> = {}) =>
    runWrangler(deps.run, tool.bin, args, { cwd, env: { ...extraEnv, ...env }, silent });
  const live = async () => {
    const r = await run(['deployments', 'status', '--json', ...common]);
    if (r.code === 0) return liveVersionFrom(r.stdout) ?? '';
    if (r.outcome.failure?.code === 10007 || /10007/.test(r.stdout + r.stderr)) return '';
    throw new UserError(
      `Could not read the live version (wrangler deployments status): ${r.outcome.failure?.message ?? lastLine(r.stderr || r.stdout)}`,
    );
  };
  return { cwd, version: tool.version, common, run, live };
}
