import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../lib/core/errors.js';
import { runBundle, type BundleRun, type LineSink } from './bundle.js';

/**
 * `slipway deploy` and `slipway rollback`: the deploy and rollback bundles, the code the actions
 * run, from a laptop against real Cloudflare when CI is down. The token and account come from the
 * environment only (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID), never a flag. A deploy records
 * what it replaced in .slipway/deploys/<worker>.json; a rollback restores exactly that, and refuses,
 * as the action does, when production is no longer what this deploy left.
 */
export interface DeployRecord {
  worker: string;
  versionId: string;
  previousVersionId: string;
  previousState: string;
  deployedState: string;
  productionChanged: boolean;
  at: string;
}

const COMMON = {
  dir: { type: 'string', default: '.' },
  config: { type: 'string' },
  env: { type: 'string' },
  'wrangler-version': { type: 'string' },
} as const;

function credentials(env: NodeJS.ProcessEnv): Record<string, string> {
  const token = env.CLOUDFLARE_API_TOKEN ?? '';
  const account = env.CLOUDFLARE_ACCOUNT_ID ?? '';
  if (!token || !account)
    throw new UserError(
      'Set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID in the environment (never on the command line): the token needs the "Edit Cloudflare Workers" permissions.',
    );
  return { 'api-token': token, 'account-id': account };
}

function connection(values: { dir: string; config?: string; env?: string; 'wrangler-version'?: string }) {
  const dir = resolve(values.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UserError(`--dir ${values.dir} is not a directory.`);
  return {
    dir,
    inputs: {
      'working-directory': dir,
      ...(values.config ? { config: values.config } : {}),
      ...(values.env ? { environment: values.env } : {}),
      ...(values['wrangler-version'] ? { 'wrangler-version': values['wrangler-version'] } : {}),
    },
  };
}

const recordDir = (dir: string) => join(dir, '.slipway', 'deploys');

/** `slipway deploy`: the deploy bundle, then the record a rollback needs. */
export async function deployCommand(args: string[], sink: LineSink): Promise<BundleRun> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON,
      image: { type: 'string' },
      message: { type: 'string' },
      'secrets-file': { type: 'string' },
    },
  });
  const { dir, inputs } = connection(values);
  const secrets = values['secrets-file'] ? readFileSync(resolve(values['secrets-file']), 'utf8') : '';
  const creds = credentials(process.env);
  const run = await runBundle(
    'deploy',
    {
      ...creds,
      ...inputs,
      secrets,
      message: values.message ?? 'deployed with the slipway CLI',
      image: values.image ?? '',
    },
    { cwd: dir, sink, secrets: [creds['api-token']!] },
  );
  if (run.outputs['production-changed'] === 'true') writeRecord(dir, run.outputs);
  return run;
}

function writeRecord(dir: string, outputs: Record<string, string>): void {
  const record: DeployRecord = {
    worker: outputs['worker-name'] ?? '',
    // What the rollback expects to find live: what the deploy read back, not what it meant to ship.
    versionId: outputs['live-version-id'] || outputs['version-id'] || '',
    previousVersionId: outputs['previous-version-id'] ?? '',
    previousState: outputs['previous-state'] ?? '',
    deployedState: outputs['deployed-state'] ?? '',
    productionChanged: true,
    at: new Date().toISOString(),
  };
  mkdirSync(recordDir(dir), { recursive: true });
  writeFileSync(
    join(recordDir(dir), `${record.worker || 'worker'}.json`),
    `${JSON.stringify(record, null, 2)}\n`,
  );
}

/** The record of the last deploy from this directory: of --worker, or the only one there is. */
export function readRecord(dir: string, worker?: string): DeployRecord {
  const files = existsSync(recordDir(dir))
    ? readdirSync(recordDir(dir)).filter((f) => f.endsWith('.json'))
    : [];
  const name = worker ? `${worker}.json` : files.length === 1 ? files[0] : undefined;
  if (!name || !files.includes(name))
    throw new UserError(
      files.length > 1 && !worker
        ? `Several deploys are recorded in ${recordDir(dir)} (${files.map((f) => f.replace(/\.json$/, '')).join(', ')}): pick one with --worker.`
        : `No deploy from the slipway CLI is recorded in ${recordDir(dir)}${worker ? ` for ${worker}` : ''}: deploy first, or roll back with --to <version id>.`,
    );
  return JSON.parse(readFileSync(join(recordDir(dir), name), 'utf8')) as DeployRecord;
}

/** `slipway rollback`: what the last deploy replaced, restored and verified, or --to a version. */
export async function rollbackCommand(args: string[], sink: LineSink): Promise<BundleRun> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON,
      worker: { type: 'string' },
      to: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  const { dir, inputs } = connection(values);
  const creds = credentials(process.env);
  const recorded = values.to ? undefined : readRecord(dir, values.worker);
  const rollback: Record<string, string> = recorded
    ? {
        'to-version': recorded.previousVersionId,
        'expected-live': recorded.versionId,
        'previous-state': recorded.previousState,
        'deployed-state': recorded.deployedState,
      }
    : { 'to-version': values.to! };
  const reason = `rolled back with the slipway CLI by ${process.env.USER || 'a user'}`;
  return runBundle(
    'rollback',
    { ...creds, ...inputs, ...rollback, reason, force: String(values.force) },
    { cwd: dir, sink, secrets: [creds['api-token']!] },
  );
}
