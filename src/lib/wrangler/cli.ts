import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import type { CacheService, Env, Log } from '../core/io.js';
import { makeTempDir } from '../core/temp.js';
import { lastLine } from '../core/text.js';
import { installMismatch, kitLockDir, readKitLock, type KitLock } from './lock.js';
import { parseOutcome, type WranglerOutcome } from './output.js';

/** The wrangler the kit installs when a project has none. */
export const PINNED_WRANGLER = '4.86.0';

/** The project's own wrangler: node_modules/.bin/wrangler in the working directory or above it. */
export function projectWrangler(workdir: string): string | undefined {
  let dir = resolve(workdir);
  for (;;) {
    const bin = join(dir, 'node_modules', '.bin', 'wrangler');
    if (existsSync(bin)) return bin;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function wranglerVersionOf(bin: string): string | undefined {
  try {
    const pkg = join(dirname(bin), '..', 'wrangler', 'package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * The wrangler to run: the project's own when it has one (and no other version was asked for),
 * otherwise the requested or pinned version installed once into the tool directory with npm, and
 * kept in the Actions cache when the job has one. The pinned version installs from the kit's own
 * lockfile (`kitLock`, wrangler-lock/); every install runs no package's install scripts; an install
 * found in the tool directory or restored from the cache is checked before it is used
 * (`installMismatch`), and removed and installed afresh when it does not match.
 */
export async function resolveWrangler(
  run: Runner,
  workdir: string,
  requested: string,
  toolDir: string,
  log: Pick<Log, 'info' | 'warning'>,
  cache?: CacheService,
  kitLock: string | undefined = kitLockDir(),
  /** false for an untrusted project: its own wrangler is never run. */
  useOwn = true,
): Promise<{ bin: string; version: string; source: string }> {
  const own = useOwn ? projectWrangler(workdir) : undefined;
  const ownVersion = own ? wranglerVersionOf(own) : undefined;
  if (own && (!requested || requested === ownVersion))
    return { bin: own, version: ownVersion ?? 'unknown', source: "the project's own" };
  const version = requested || PINNED_WRANGLER;
  if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version))
    throw new UserError(
      `Input "wrangler-version" is "${version}": give an exact version such as ${PINNED_WRANGLER}.`,
    );
  const lock = lockFor(version, kitLock);
  const prefix = join(toolDir, 'wrangler', version);
  const bin = join(prefix, 'node_modules', '.bin', 'wrangler');
  const key = `slipway-wrangler-${version}-${lock?.tag ?? 'unlocked'}-${process.platform}-${process.arch}`;
  const reused = await reuseInstall(prefix, version, lock, log, cache, key);
  if (reused) return { bin, version, source: reused };
  await installWrangler(run, prefix, version, lock, log);
  const mismatch = installMismatch(prefix, version, lock);
  if (mismatch)
    throw new UserError(
      `wrangler ${version} as npm installed it into ${prefix} is not what was asked for: ${mismatch}.`,
    );
  await cache
    ?.save(prefix, key)
    .catch((err: Error) => log.info(`Could not cache wrangler ${version}: ${err.message}`));
  return { bin, version, source: `installed ${version}` };
}

/** The kit's lock when `version` is the one it locks (the pinned one); a kit without it is broken. */
function lockFor(version: string, kitLock: string | undefined): KitLock | undefined {
  if (version !== PINNED_WRANGLER) return undefined;
  if (!kitLock) throw new Error(`The kit's wrangler lock (wrangler-lock/) is missing from its checkout.`);
  const lock = readKitLock(kitLock);
  if (lock.version !== version)
    throw new Error(`${kitLock} locks wrangler ${lock.version}, not the pinned ${version}.`);
  return lock;
}

/**
 * An install already in `prefix` (a self-hosted runner's tool directory), else one restored from
 * the Actions cache, when it checks out: the source to report. One that does not is removed, with a
 * warning, and undefined returned (install afresh).
 */
async function reuseInstall(
  prefix: string,
  version: string,
  lock: KitLock | undefined,
  log: Pick<Log, 'warning'>,
  cache: CacheService | undefined,
  key: string,
): Promise<string | undefined> {
  const against = lock ? "the kit's lockfile" : `wrangler ${version}`;
  const tried = async (where: string, source: string) => {
    const mismatch = installMismatch(prefix, version, lock);
    if (!mismatch) return source;
    log.warning(
      `wrangler in ${where} does not match ${against}: ${mismatch}. Removing it and installing afresh.`,
    );
    rmSync(prefix, { recursive: true, force: true });
    return undefined;
  };
  if (existsSync(prefix)) {
    const reused = await tried(prefix, `installed ${version}, reused from ${prefix}`);
    if (reused) return reused;
  }
  const restored = await cache?.restore(prefix, key).catch(() => undefined);
  if (!restored) return undefined;
  return tried(`the cache entry ${restored}`, `installed ${version}, restored from the cache`);
}

/**
 * Installs wrangler into an empty `prefix`, never running a package's install scripts
 * (--ignore-scripts): wrangler 4.86.0 needs none (esbuild's and workerd's postinstall only check
 * their platform binary, installed as an optional dependency, and hard-link it over their JS bin
 * shim; sharp's only checks for a global libvips). The pinned version: `npm ci` with the kit's
 * package.json and package-lock.json, which installs exactly the locked tree and refuses a tarball
 * whose integrity differs from the lockfile's. Another version: `npm install`, which the kit does
 * not lock (only the installed version is checked).
 */
async function installWrangler(
  run: Runner,
  prefix: string,
  version: string,
  lock: KitLock | undefined,
  log: Pick<Log, 'info'>,
): Promise<void> {
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  const common = ['--prefix', prefix, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'];
  let args: string[];
  if (lock) {
    for (const file of ['package.json', 'package-lock.json'])
      copyFileSync(join(lock.dir, file), join(prefix, file));
    args = ['ci', ...common];
    log.info(
      `Installing wrangler ${version} into ${prefix} from the kit's lockfile (npm ci --ignore-scripts; once, later runs reuse it).`,
    );
  } else {
    args = ['install', ...common, '--no-save', `wrangler@${version}`];
    log.info(
      `Installing wrangler ${version} into ${prefix} (npm install --ignore-scripts; once, later runs reuse it). ` +
        `It is not locked by the kit (only ${PINNED_WRANGLER} is): its dependencies are whatever npm resolves today, and only its version is checked.`,
    );
  }
  const install = await run('npm', args, { silent: true });
  if (install.code !== 0)
    throw new UserError(`Could not install wrangler ${version}: ${lastLine(install.stderr)}`);
}

export interface WranglerRunResult {
  code: number;
  stdout: string;
  stderr: string;
  outcome: WranglerOutcome;
}

/**
 * Runs wrangler with the credentials in its environment only (never on the command line), metrics
 * and error reports off, and its ND-JSON output file read back.
 */
export async function runWrangler(
  run: Runner,
  bin: string,
  args: string[],
  opts: { cwd: string; env: Env; silent?: boolean },
): Promise<WranglerRunResult> {
  const dir = makeTempDir(opts.env, 'slipway-wrangler-');
  const file = join(dir, 'output.ndjson');
  try {
    const result = await run(bin, args, {
      cwd: opts.cwd,
      silent: opts.silent,
      env: {
        CI: 'true',
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false',
        ...opts.env,
        WRANGLER_OUTPUT_FILE_PATH: file,
      },
    });
    const ndjson = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    const { code, stdout, stderr } = result;
    return { code, stdout, stderr, outcome: parseOutcome(ndjson, stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
