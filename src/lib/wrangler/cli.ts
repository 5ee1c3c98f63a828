import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import type { CacheService, Env } from '../core/io.js';
import { makeTempDir } from '../core/temp.js';
import { lastLine } from '../core/text.js';
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
 * kept in the Actions cache when the job has one.
 */
export async function resolveWrangler(
  run: Runner,
  workdir: string,
  requested: string,
  toolDir: string,
  log: (m: string) => void,
  cache?: CacheService,
): Promise<{ bin: string; version: string; source: string }> {
  const own = projectWrangler(workdir);
  const ownVersion = own ? wranglerVersionOf(own) : undefined;
  if (own && (!requested || requested === ownVersion))
    return { bin: own, version: ownVersion ?? 'unknown', source: "the project's own" };
  const version = requested || PINNED_WRANGLER;
  if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version))
    throw new UserError(
      `Input "wrangler-version" is "${version}": give an exact version such as ${PINNED_WRANGLER}.`,
    );
  const prefix = join(toolDir, 'wrangler', version);
  const bin = join(prefix, 'node_modules', '.bin', 'wrangler');
  const key = `slipway-wrangler-${version}-${process.platform}-${process.arch}`;
  if (existsSync(bin)) return { bin, version, source: `installed ${version}, reused from ${prefix}` };
  const restored = await cache?.restore(prefix, key).catch(() => undefined);
  if (restored && existsSync(bin))
    return { bin, version, source: `installed ${version}, restored from the cache` };
  log(`Installing wrangler ${version} into ${prefix} (once; later runs reuse it).`);
  const install = await run(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--no-save',
      `wrangler@${version}`,
    ],
    { silent: true },
  );
  if (install.code !== 0)
    throw new UserError(`Could not install wrangler ${version}: ${lastLine(install.stderr)}`);
  await cache
    ?.save(prefix, key)
    .catch((err: Error) => log(`Could not cache wrangler ${version}: ${err.message}`));
  return { bin, version, source: `installed ${version}` };
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
