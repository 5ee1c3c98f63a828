import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { lastLine } from './docker/client.js';
import { UserError } from './errors.js';
import type { Runner } from './exec.js';
import type { Log } from './io.js';
import { resolveWrangler, runWrangler } from './wrangler/cli.js';
import { cutBytes, errorDetail, liveVersionFrom } from './wrangler/output.js';

export interface DeployOptions {
  apiToken: string;
  accountId: string;
  workingDirectory: string;
  config?: string;
  environment?: string;
  wranglerVersion: string;
  message?: string;
  tag?: string;
  secrets: Array<[string, string]>;
  vars: Array<[string, string]>;
  dryRun: boolean;
  /** Commit subject and sha for the default message. */
  commit?: { subject: string; sha: string };
}

export interface DeployResult {
  versionId: string;
  previousVersionId: string;
  deploymentUrl: string;
  workerName: string;
  deployed: boolean;
  summary: string;
  /** One line when the step must fail; production's state is in it. */
  failure?: string;
}

/** The default message: the commit subject and short sha, cut to the API's 100 bytes. */
export function defaultMessage(commit?: { subject: string; sha: string }): string | undefined {
  if (!commit?.subject) return undefined;
  const sha = commit.sha ? ` (${commit.sha.slice(0, 7)})` : '';
  const room = 100 - Buffer.byteLength(sha);
  return `${cutBytes(commit.subject.split('\n')[0]!.trim(), room)}${sha}`;
}

/**
 * deploy: record the live version, run `wrangler deploy` (secrets uploaded with the same version
 * through a 0600 file), read what became live, and say exactly what state production is in.
 */
export async function deploy(
  o: DeployOptions,
  deps: { run: Runner; log: Log; env: Record<string, string | undefined> },
): Promise<DeployResult> {
  const cwd = resolve(o.workingDirectory || '.');
  if (!existsSync(cwd))
    throw new UserError(`Input "working-directory" is "${o.workingDirectory}", which does not exist.`);
  if (!o.dryRun) {
    if (!o.apiToken)
      throw new UserError(
        'Input "api-token" is empty: pass secrets.CLOUDFLARE_API_TOKEN (or use dry-run: true for pull requests).',
      );
    if (!o.accountId)
      throw new UserError('Input "account-id" is empty: pass secrets.CLOUDFLARE_ACCOUNT_ID (or vars).');
  }
  deps.log.secret(o.apiToken);
  for (const [, v] of o.secrets) deps.log.secret(v);

  const tool = await resolveWrangler(
    deps.run,
    cwd,
    o.wranglerVersion,
    deps.env.RUNNER_TOOL_CACHE || join(homedir(), '.cache', 'slipway'),
    deps.log.info,
  );
  deps.log.info(`wrangler ${tool.version} (${tool.source}).`);
  const common = [
    ...(o.config ? ['--config', o.config] : []),
    ...(o.environment ? ['--env', o.environment] : []),
  ];
  const env = {
    ...(o.apiToken ? { CLOUDFLARE_API_TOKEN: o.apiToken } : {}),
    ...(o.accountId ? { CLOUDFLARE_ACCOUNT_ID: o.accountId } : {}),
    RUNNER_TEMP: deps.env.RUNNER_TEMP,
  };
  const wr = (args: string[], silent = true) => runWrangler(deps.run, tool.bin, args, { cwd, env, silent });

  const live = async () => {
    const r = await wr(['deployments', 'status', '--json', ...common]);
    if (r.code === 0) return liveVersionFrom(r.stdout) ?? '';
    if (r.outcome.failure?.code === 10007 || /10007/.test(r.stdout + r.stderr)) return '';
    throw new UserError(
      `Could not read the live version (wrangler deployments status): ${r.outcome.failure?.message ?? lastLine(r.stderr || r.stdout)}`,
    );
  };

  const message = o.message || defaultMessage(o.commit);
  const tmp = mkdtempSync(join(deps.env.RUNNER_TEMP || tmpdir(), 'slipway-deploy-'));
  try {
    const args = ['deploy', ...common];
    if (message) args.push('--message', cutBytes(message));
    if (o.tag) args.push('--tag', o.tag);
    for (const [k, v] of o.vars) args.push('--var', `${k}:${v}`);
    if (o.secrets.length) {
      // One version carries the code and its secrets: no window where either is on the wrong Worker.
      const file = join(tmp, 'secrets.json');
      writeFileSync(file, JSON.stringify(Object.fromEntries(o.secrets)), { mode: 0o600 });
      chmodSync(file, 0o600);
      args.push('--secrets-file', file);
    }
    if (o.dryRun) {
      args.push('--dry-run', '--outdir', join(tmp, 'bundle'));
      const r = await deps.log.group('wrangler deploy --dry-run', () => wr(args, false));
      if (r.code !== 0)
        throw new UserError(
          `wrangler deploy --dry-run failed: ${r.outcome.failure?.message ?? lastLine(r.stderr || r.stdout)}`,
        );
      return {
        versionId: '',
        previousVersionId: '',
        deploymentUrl: '',
        workerName: r.outcome.workerName ?? '',
        deployed: false,
        summary: '### deploy: dry run ✅\n\nBundled and built; nothing was sent to Cloudflare.\n',
      };
    }

    const previous = await live();
    deps.log.info(
      previous ? `Live before deploying: ${previous}.` : 'No live version: this is the first deploy.',
    );
    const r = await deps.log.group('wrangler deploy', () => wr(args, false));
    const after = await live().catch(() => '');
    const versionId = r.outcome.versionId ?? '';
    const deployed = r.code === 0 && !!versionId && after === versionId;
    const result: DeployResult = {
      versionId,
      previousVersionId: previous,
      deploymentUrl: r.outcome.urls[0] ?? '',
      workerName: r.outcome.workerName ?? '',
      deployed,
      summary: '',
    };
    const state =
      after === previous
        ? `production is unchanged (still ${previous || 'nothing'})`
        : after === versionId
          ? `production now serves the new version ${versionId}`
          : `production serves ${after || 'nothing'}, neither the previous ${previous || '(none)'} nor a version of this deploy`;
    if (r.code !== 0 || !deployed) {
      const f = r.outcome.failure;
      const detail = errorDetail(`${r.stdout}\n${r.stderr}`);
      const said = [f?.message ?? lastLine(r.stderr || r.stdout), detail].filter(Boolean).join(' ');
      result.failure = `wrangler deploy failed${f?.code ? ` (code ${f.code})` : ''}: ${said || 'no message'}; ${state}.`;
    }
    result.summary = [
      `### deploy: \`${result.workerName || 'worker'}\` ${deployed ? '✅ live' : '❌ not deployed'}`,
      '',
      '| | |',
      '| --- | --- |',
      `| Version | \`${versionId || '–'}\` |`,
      `| Previous | \`${previous || '(first deploy)'}\` |`,
      `| URL | ${result.deploymentUrl || '–'} |`,
      `| Production | ${state} |`,
      ...(result.failure ? [`| Error | ${result.failure.replace(/\|/g, '\\|')} |`] : []),
      '',
    ].join('\n');
    return result;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
