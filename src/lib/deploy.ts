import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastLine } from './docker/client.js';
import { UserError } from './errors.js';
import type { Runner } from './exec.js';
import type { ToolCache } from './wrangler/cli.js';
import type { Log } from './io.js';
import { cutBytes, errorDetail } from './wrangler/output.js';
import { registryLoginGuard, wranglerDockerEnv } from './wrangler/docker.js';
import { openWrangler, type Connection } from './wrangler/session.js';

export interface DeployOptions extends Connection {
  message?: string;
  tag?: string;
  secrets: Array<[string, string]>;
  vars: Array<[string, string]>;
  dryRun: boolean;
  /** wrangler's --containers-rollout: immediate (all instances at once) or gradual. */
  containersRollout?: 'immediate' | 'gradual';
  /** Commit subject and sha for the default message. */
  commit?: { subject: string; sha: string };
}

export interface DeployResult {
  versionId: string;
  previousVersionId: string;
  deploymentUrl: string;
  workerName: string;
  deployed: boolean;
  /** The version live after the deploy (read back, not assumed). */
  liveVersionId: string;
  /** Production serves something other than before: a rollback has something to undo. */
  productionChanged: boolean;
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
  deps: { run: Runner; log: Log; env: Record<string, string | undefined>; toolCache?: ToolCache },
): Promise<DeployResult> {
  const session = await openWrangler(o, deps, !o.dryRun);
  for (const [, v] of o.secrets) deps.log.secret(v);
  const { common, live } = session;

  const message = o.message || defaultMessage(o.commit);
  const tmp = mkdtempSync(join(deps.env.RUNNER_TEMP || tmpdir(), 'slipway-deploy-'));
  try {
    // A Worker with containers makes wrangler build, tag and push images with docker.
    const docker = await wranglerDockerEnv(deps.run, deps.env, tmp);
    if (docker.note) deps.log.info(docker.note);
    const wr = (args: string[], silent = true) => session.run(args, silent, docker.env);
    const args = ['deploy', ...common];
    if (message) args.push('--message', cutBytes(message));
    if (o.tag) args.push('--tag', o.tag);
    for (const [k, v] of o.vars) args.push('--var', `${k}:${v}`);
    if (o.containersRollout) args.push('--containers-rollout', o.containersRollout);
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
        liveVersionId: '',
        productionChanged: false,
        summary: '### deploy: dry run ✅\n\nBundled and built; nothing was sent to Cloudflare.\n',
      };
    }

    const previous = await live();
    deps.log.info(
      previous ? `Live before deploying: ${previous}.` : 'No live version: this is the first deploy.',
    );
    const logout = registryLoginGuard(deps.run, deps.env);
    const r = await deps.log
      .group('wrangler deploy', () => wr(args, false))
      .finally(() => logout(docker.env.SLIPWAY_REAL_DOCKER ?? docker.env.WRANGLER_DOCKER_BIN));
    const after = await live().catch(() => '');
    const versionId = r.outcome.versionId ?? '';
    const deployed = r.code === 0 && !!versionId && after === versionId;
    const result: DeployResult = {
      versionId,
      previousVersionId: previous,
      deploymentUrl: r.outcome.urls[0] ?? '',
      workerName: r.outcome.workerName ?? '',
      deployed,
      liveVersionId: after,
      productionChanged: !!after && after !== previous,
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
