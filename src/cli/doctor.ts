import { readFileSync } from 'node:fs';
import { describeError } from '../lib/core/errors.js';
import type { Runner } from '../lib/core/exec.js';
import type { Env } from '../lib/core/io.js';
import { describeBuilder } from '../lib/engine/build-command.js';
import { detectEngine } from '../lib/engine/engine.js';
import { PINNED_WRANGLER, projectWrangler, wranglerVersionOf } from '../lib/wrangler/cli.js';

/** One line of the doctor's report; `fix` says how to get what is missing, for this platform. */
export interface Check {
  name: string;
  ok: boolean;
  /** A missing optional tool is reported, not a failure. */
  required: boolean;
  detail: string;
  fix?: string;
}

/** What the checks need to know of the machine: a runner, its environment, its platform. */
export interface DoctorDeps {
  run: Runner;
  env: Env;
  platform: NodeJS.Platform;
  /** /etc/os-release's ID (debian, ubuntu, fedora…), when Linux. */
  distro?: string;
  nodeVersion: string;
  cwd: string;
  fetch: (url: string) => Promise<{ status: number }>;
}

/** How to install a container engine here: each platform's own way. */
export function engineInstall(platform: NodeJS.Platform, distro = ''): string {
  if (platform === 'darwin')
    return 'brew install --cask docker (Docker Desktop), or brew install colima docker && colima start';
  if (platform === 'win32')
    return 'install Docker Desktop with the WSL 2 back end (https://docs.docker.com/desktop/)';
  if (/^(debian|ubuntu|linuxmint|pop)$/.test(distro))
    return 'sudo apt-get install docker.io docker-buildx (or podman), then sudo systemctl start docker';
  if (/^(fedora|rhel|centos|rocky|almalinux)$/.test(distro))
    return 'sudo dnf install podman (or moby-engine), then systemctl start podman.socket';
  if (/^(arch|manjaro)$/.test(distro))
    return 'sudo pacman -S docker docker-buildx, then sudo systemctl start docker';
  if (distro === 'alpine') return 'apk add docker docker-cli-buildx, then rc-service docker start';
  return 'install Docker Engine (https://docs.docker.com/engine/install/) or Podman (https://podman.io/docs/installation)';
}

/** Every check, in the order a user fixes them: Node, the engine, its builder, wrangler, the registry. */
export async function doctor(deps: DoctorDeps, options: { registry?: string } = {}): Promise<Check[]> {
  const checks = [nodeCheck(deps), ...(await engineChecks(deps)), wranglerCheck(deps)];
  if (options.registry) checks.push(await registryCheck(deps, options.registry));
  return checks;
}

function nodeCheck({ nodeVersion, platform }: DoctorDeps): Check {
  const major = Number(/^v?(\d+)/.exec(nodeVersion)?.[1] ?? 0);
  const ok = major >= 20;
  return {
    name: 'Node.js',
    ok,
    required: true,
    detail: `${nodeVersion}${ok && major < 24 ? ' (GitHub runs the actions on Node 24)' : ''}`,
    fix: ok
      ? undefined
      : platform === 'darwin'
        ? 'brew install node@24'
        : 'install Node 24 (https://nodejs.org/en/download)',
  };
}

async function engineChecks(deps: DoctorDeps): Promise<Check[]> {
  try {
    const engine = await detectEngine(deps.run, deps.env);
    return [
      {
        name: 'container engine',
        ok: true,
        required: true,
        detail: `${engine.kind} ${engine.clientVersion} (server ${engine.serverVersion}) at ${engine.bin}`,
      },
      {
        name: 'builder',
        ok: engine.builder !== 'classic',
        required: false,
        detail: describeBuilder(engine),
        fix:
          engine.builder === 'classic'
            ? 'install docker buildx for BuildKit (build secrets, multi-platform, the gha cache)'
            : undefined,
      },
    ];
  } catch (err) {
    return [
      {
        name: 'container engine',
        ok: false,
        required: true,
        detail: describeError(err),
        fix: engineInstall(deps.platform, deps.distro),
      },
    ];
  }
}

function wranglerCheck({ cwd }: DoctorDeps): Check {
  const own = projectWrangler(cwd);
  return {
    name: 'wrangler',
    ok: true,
    required: false,
    detail: own
      ? `the project's own, ${wranglerVersionOf(own) ?? 'version unknown'} (${own})`
      : `none in the project: the kit installs ${PINNED_WRANGLER} from its lockfile when it deploys`,
  };
}

async function registryCheck(deps: DoctorDeps, registry: string): Promise<Check> {
  const url = `${/^https?:\/\//.test(registry) ? registry : `http://${registry}`}/v2/`;
  try {
    const { status } = await deps.fetch(url);
    // 401 is a registry that wants a login: it is there.
    const ok = status === 200 || status === 401;
    return {
      name: 'registry',
      ok,
      required: true,
      detail: `${url} answered ${status}`,
      fix: ok ? undefined : 'check the registry address',
    };
  } catch (err) {
    return {
      name: 'registry',
      ok: false,
      required: true,
      detail: `${url}: ${describeError(err)}`,
      fix: 'start one: docker run -d --network host registry:2 (or Debian: apt-get install docker-registry)',
    };
  }
}

/** The Linux distribution's ID from /etc/os-release, when there is one. */
export function readDistro(): string | undefined {
  try {
    return /^ID=("?)([^"\n]+)\1$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[2];
  } catch {
    return undefined;
  }
}
