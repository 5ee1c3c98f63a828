import { which } from '@actions/io';
import { UserError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import type { Env } from '../core/io.js';

/**
 * How images get built on this machine:
 * - buildx:   `docker buildx build` (BuildKit through the buildx plugin; gha/registry cache export)
 * - buildkit: `DOCKER_BUILDKIT=1 docker build`, the daemon's built-in BuildKit, for clients older
 *             than 23 that drive it without buildx
 * - classic:  the legacy builder, for newer clients without buildx (they refuse BuildKit without it)
 * - buildah:  `podman build`
 */
export type Builder = 'buildx' | 'buildkit' | 'classic' | 'buildah';

export interface Engine {
  kind: 'docker' | 'podman';
  bin: string;
  clientVersion: string;
  serverVersion: string;
  buildx: boolean;
  builder: Builder;
}

export const INSTALL_HINT =
  'install Docker (Debian/Ubuntu: apt-get install docker.io; elsewhere https://docs.docker.com/engine/install/) or Podman, or set SLIPWAY_DOCKER to the client binary';

function major(version: string): number {
  const m = /^(\d+)/.exec(version);
  return m ? Number(m[1]) : 0;
}

/** Which builder a client can use. `DOCKER_BUILDKIT=0` asks for the classic builder explicitly. */
export function chooseBuilder(e: {
  kind: Engine['kind'];
  clientVersion: string;
  buildx: boolean;
  env?: Record<string, string | undefined>;
}): Builder {
  if (e.kind === 'podman') return 'buildah';
  if (e.env?.DOCKER_BUILDKIT === '0') return 'classic';
  if (e.buildx) return 'buildx';
  return major(e.clientVersion) > 0 && major(e.clientVersion) < 23 ? 'buildkit' : 'classic';
}

/** Environment a build command needs for the chosen builder. */
export function builderEnv(builder: Builder): Record<string, string> {
  if (builder === 'buildkit') return { DOCKER_BUILDKIT: '1' };
  if (builder === 'classic') return { DOCKER_BUILDKIT: '0' };
  return {};
}

interface VersionDoc {
  Client?: { Version?: string };
  Server?: { Version?: string; Components?: Array<{ Name?: string; Version?: string }> } | null;
  Version?: string;
}

/**
 * Finds the container engine (SLIPWAY_DOCKER, else docker, else podman), checks that its daemon
 * answers, and works out which builder it can use. Fails with one line saying what to do.
 */
export async function detectEngine(
  run: Runner,
  env: Env,
  opts: { probeBuildx?: boolean } = {},
): Promise<Engine> {
  let bin = env.SLIPWAY_DOCKER?.trim() || '';
  if (bin && !(await which(bin, false))) {
    throw new UserError(
      `SLIPWAY_DOCKER is "${bin}", which is not an executable: point it at a docker or podman client.`,
    );
  }
  if (!bin) bin = (await which('docker', false)) || (await which('podman', false));
  if (!bin)
    throw new UserError(`No container engine found (neither docker nor podman is on PATH): ${INSTALL_HINT}.`);
  bin = (await which(bin, true)) || bin;
  const kind: Engine['kind'] = /podman[^/]*$/.test(bin) ? 'podman' : 'docker';

  const args = kind === 'podman' ? ['version', '--format', 'json'] : ['version', '--format', '{{json .}}'];
  const res = await run(bin, args, { silent: true });
  let doc: VersionDoc;
  try {
    doc = JSON.parse(res.stdout.trim().split('\n')[0] || '{}') as VersionDoc;
  } catch {
    doc = {};
  }
  const clientVersion = doc.Client?.Version ?? doc.Version ?? '';
  const server = doc.Server;
  const serverVersion =
    server?.Version ??
    server?.Components?.find((c) => c.Name === 'Engine')?.Version ??
    (kind === 'podman' ? clientVersion : '');
  if (res.code !== 0 || !serverVersion) {
    const why = (res.stderr.trim().split('\n').pop() || 'no answer').trim();
    throw new UserError(
      `The ${kind} daemon does not answer (${why}): start it (e.g. "sudo systemctl start docker", or dockerd in the background) and check that DOCKER_HOST points at it.`,
    );
  }
  // Only builds care about buildx; actions that never build skip the probe (a plugin lookup).
  const buildx =
    kind === 'docker' &&
    opts.probeBuildx !== false &&
    (await run(bin, ['buildx', 'version'], { silent: true })).code === 0;
  return {
    kind,
    bin,
    clientVersion,
    serverVersion,
    buildx,
    builder: chooseBuilder({ kind, clientVersion, buildx, env }),
  };
}
