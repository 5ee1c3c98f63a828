import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastLine } from '../core/text.js';
import { UserError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import type { Deps, Log } from '../core/io.js';
import type { WranglerRunResult } from '../wrangler/cli.js';
import { cutBytes, errorDetail } from '../wrangler/output.js';
import {
  findWranglerConfig,
  imageNotApplicable,
  isRegistryReference,
  withContainerImage,
} from '../wrangler/config.js';
import { registryLoginGuard, wranglerDockerEnv } from '../wrangler/docker.js';
import { openWrangler, type Connection } from '../wrangler/session.js';

export interface DeployOptions extends Connection {
  message?: string;
  tag?: string;
  secrets: Array<[string, string]>;
  vars: Array<[string, string]>;
  dryRun: boolean;
  /**
   * The container image to deploy instead of the config's Dockerfile: a registry reference, or a
   * local image pushed to the Cloudflare registry first (wrangler containers push).
   */
  image?: string;
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
export async function deploy(o: DeployOptions, deps: Deps): Promise<DeployResult> {
  const session = await openWrangler(o, deps, !o.dryRun);
  for (const [, v] of o.secrets) deps.log.secret(v);
  const { common, live } = session;

  const message = o.message || defaultMessage(o.commit);
  const tmp = mkdtempSync(join(deps.env.RUNNER_TEMP || tmpdir(), 'slipway-deploy-'));
  let derived: string | undefined;
  try {
    // A Worker with containers makes wrangler build, tag and push images with docker.
    const docker = await wranglerDockerEnv(deps.run, deps.env, tmp);
    if (docker.note) deps.log.info(docker.note);
    const wr = (args: string[], silent = true) => session.run(args, silent, docker.env);
    const logout = registryLoginGuard(deps.run, deps.env);
    const dockerBin =
      docker.env.SLIPWAY_REAL_DOCKER ??
      docker.env.WRANGLER_DOCKER_BIN ??
      (deps.env.SLIPWAY_DOCKER || 'docker');
    let deployWith = common;
    const config = o.image ? findWranglerConfig(session.cwd, o.config) : undefined;
    const notApplicable = config && imageNotApplicable(config, o.environment);
    if (notApplicable) deps.log.warning(`Input "image" (${o.image}) is not used: ${notApplicable}.`);
    if (o.image && config && !notApplicable) {
      // Ship the image that was built and tested, not a rebuild: the config's containers point at it.
      const ref =
        isRegistryReference(o.image) || o.dryRun
          ? o.image
          : await pushImage(o.image, dockerBin, deps, (a) => wr(a, false)).finally(() => logout(dockerBin));
      derived = withContainerImage(config, ref, o.environment);
      deployWith = ['--config', derived, ...(o.environment ? ['--env', o.environment] : [])];
      deps.log.info(`Containers run ${ref} (the image input), not a build of the config's Dockerfile.`);
    }
    const args = ['deploy', ...deployWith];
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
    const r = await deps.log.group('wrangler deploy', () => wr(args, false)).finally(() => logout(dockerBin));
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
    if (derived) rmSync(derived, { force: true });
  }
}

/**
 * Pushes a local image to the Cloudflare registry under a content-derived tag (the same image gets
 * the same reference, a changed one a new reference, so the container application rolls out exactly
 * when the image changed). Returns the pushed reference.
 */
async function pushImage(
  image: string,
  dockerBin: string,
  deps: { run: Runner; log: Log },
  wrangler: (args: string[]) => Promise<WranglerRunResult>,
): Promise<string> {
  const inspect = await deps.run(dockerBin, ['image', 'inspect', '--format', '{{.Id}}', image], {
    silent: true,
  });
  if (inspect.code !== 0)
    throw new UserError(
      `Input "image" is "${image}", which is neither a local image (${lastLine(inspect.stderr) || 'not found'}) nor a registry reference (host/name:tag).`,
    );
  const id = inspect.stdout
    .trim()
    .replace(/^sha256:/, '')
    .slice(0, 12);
  const tagged = `${image.replace(/[:@][^/]*$/, '')}:slipway-${id}`;
  const tag = await deps.run(dockerBin, ['tag', image, tagged], { silent: true });
  if (tag.code !== 0) throw new UserError(`Could not tag ${image} as ${tagged}: ${lastLine(tag.stderr)}`);
  const r = await deps.log.group(`wrangler containers push ${tagged}`, () =>
    wrangler(['containers', 'push', tagged, '--path-to-docker', dockerBin]),
  );
  const pushed = /Pushed image: (\S+)/.exec(r.stdout)?.[1];
  if (r.code !== 0 || !pushed)
    throw new UserError(
      `Could not push ${tagged} to the Cloudflare registry: ${r.outcome.failure?.message ?? errorDetail(`${r.stdout}\n${r.stderr}`) ?? lastLine(r.stderr || r.stdout)}`,
    );
  return pushed;
}
