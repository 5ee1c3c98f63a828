import { which } from '@actions/io';
import { UserError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import { debugLogging, type Env } from '../core/io.js';
import { lastLine } from '../core/text.js';

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
  const match = /^(\d+)/.exec(version);
  return match ? Number(match[1]) : 0;
}

/** Which builder a client can use. `DOCKER_BUILDKIT=0` asks for the classic builder explicitly. */
export function chooseBuilder(client: {
  kind: Engine['kind'];
  clientVersion: string;
  buildx: boolean;
  env?: Record<string, string | undefined>;
}): Builder {
  if (client.kind === 'podman') return 'buildah';
  if (client.env?.DOCKER_BUILDKIT === '0') return 'classic';
  if (client.buildx) return 'buildx';
  const version = major(client.clientVersion);
  return version > 0 && version < 23 ? 'buildkit' : 'classic';
}

/** Environment a build command needs for the chosen builder. */
export function builderEnv(builder: Builder): Record<string, string> {
  if (builder === 'buildkit') return { DOCKER_BUILDKIT: '1' };
  if (builder === 'classic') return { DOCKER_BUILDKIT: '0' };
  return {};
}

/**
 * The client's global option for debug output, on a run with debug logging on (RUNNER_DEBUG=1, see
 * debugLogging), else none: docker's "-D, --debug: Enable debug mode" (Docker Docs, CLI reference
 * "docker", docs.docker.com/reference/cli/docker/; a plugin such as buildx reads the same global
 * flags), podman's "--log-level=level" with debug (podman(1), GLOBAL OPTIONS,
 * docs.podman.io/en/latest/markdown/podman.1.html). Global options go before the command.
 */
export function debugArgs(kind: Engine['kind'], env: Env): string[] {
  if (!debugLogging(env)) return [];
  return kind === 'podman' ? ['--log-level=debug'] : ['--debug'];
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
  options: { probeBuildx?: boolean } = {},
): Promise<Engine> {
  const bin = await findClient(env);
  const kind: Engine['kind'] = /podman[^/]*$/.test(bin) ? 'podman' : 'docker';
  const { clientVersion, serverVersion } = await readVersions(run, bin, kind);
  // Only builds care about buildx; actions that never build skip the probe (a plugin lookup).
  const buildx =
    kind === 'docker' &&
    options.probeBuildx !== false &&
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

/** The client binary's full path: SLIPWAY_DOCKER when set (it must be an executable), else docker or podman. */
async function findClient(env: Env): Promise<string> {
  const chosen = env.SLIPWAY_DOCKER?.trim() || '';
  if (chosen && !(await which(chosen, false))) {
    throw new UserError(
      `SLIPWAY_DOCKER is "${chosen}", which is not an executable: point it at a docker or podman client.`,
    );
  }
  const bin = chosen || (await which('docker', false)) || (await which('podman', false));
  if (!bin)
    throw new UserError(`No container engine found (neither docker nor podman is on PATH): ${INSTALL_HINT}.`);
  return (await which(bin, true)) || bin;
}

/** Client and server versions from `version`; a daemon that does not answer is an error saying how to start it. */
async function readVersions(
  run: Runner,
  bin: string,
  kind: Engine['kind'],
): Promise<{ clientVersion: string; serverVersion: string }> {
  const args = kind === 'podman' ? ['version', '--format', 'json'] : ['version', '--format', '{{json .}}'];
  const result = await run(bin, args, { silent: true });
  const doc = parseVersionDoc(result.stdout);
  const clientVersion = doc.Client?.Version ?? doc.Version ?? '';
  const server = doc.Server;
  const serverVersion =
    server?.Version ??
    server?.Components?.find((component) => component.Name === 'Engine')?.Version ??
    (kind === 'podman' ? clientVersion : '');
  if (result.code !== 0 || !serverVersion) {
    const why = lastLine(result.stderr) || 'no answer';
    throw new UserError(
      `The ${kind} daemon does not answer (${why}): start it (e.g. "sudo systemctl start docker", or dockerd in the background) and check that DOCKER_HOST points at it.`,
    );
  }
  return { clientVersion, serverVersion };
}

/** The JSON document on the first line of `version` output; empty when there is none. */
function parseVersionDoc(stdout: string): VersionDoc {
  try {
    return JSON.parse(stdout.trim().split('\n')[0] || '{}') as VersionDoc;
  } catch {
    return {};
  }
}
