import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The kit's lock for the pinned wrangler, `wrangler-lock/` at the root of the action's checkout:
 * package.json (wrangler at exactly one version), its package-lock.json (every package's tarball
 * integrity; `npm ci` refuses a tarball that does not match it) and digests.json (each installed
 * package's files, by `packageDigests`; written by scripts/wrangler-lock.ts for every platform a
 * GitHub runner has).
 */
export interface KitLock {
  dir: string;
  /** The wrangler version it locks. */
  version: string;
  /** package-lock.json's `packages`, without the root entry (""). */
  packages: Record<string, { version?: string; integrity?: string; optional?: boolean }>;
  /** Package path (node_modules/…) → the digest of its installed files. */
  digests: Record<string, string>;
  /** A short hash of the lockfile and the digests: part of the Actions cache key. */
  tag: string;
}

/**
 * Where wrangler-lock/ is, from this module's own file: the runner runs dist/<action>/index.js (ncc
 * keeps `import.meta.url` as the bundle's own URL), two levels below the checkout's root; vitest and
 * tsx run src/lib/wrangler/lock.ts, three levels below. The path is built at run time so ncc's asset
 * relocator leaves it alone (nothing is copied into dist/).
 */
export function kitLockDir(moduleUrl: string = import.meta.url): string | undefined {
  const here = dirname(fileURLToPath(moduleUrl));
  for (const levels of [2, 3]) {
    const dir = join(here, ...Array<string>(levels).fill('..'), 'wrangler-lock');
    if (existsSync(join(dir, 'package-lock.json'))) return dir;
  }
  return undefined;
}

export function readKitLock(dir: string): KitLock {
  const lockText = readFileSync(join(dir, 'package-lock.json'), 'utf8');
  const digestsText = readFileSync(join(dir, 'digests.json'), 'utf8');
  const lock = JSON.parse(lockText) as { packages: KitLock['packages'] };
  const { '': _root, ...packages } = lock.packages;
  const version = packages['node_modules/wrangler']?.version;
  if (!version) throw new Error(`${dir}/package-lock.json locks no wrangler.`);
  const digests = (JSON.parse(digestsText) as { packages: Record<string, string> }).packages;
  const tag = createHash('sha256').update(lockText).update(digestsText).digest('hex').slice(0, 12);
  return { dir, version, packages, digests, tag };
}

/** One entry of an installed tree: a path relative to the install's prefix (with /), and its kind. */
interface Entry {
  path: string;
  kind: 'file' | 'link' | 'other';
}

function walk(root: string, rel: string, out: Entry[]): Entry[] {
  for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = `${rel}/${d.name}`;
    if (d.isDirectory()) walk(root, path, out);
    else out.push({ path, kind: d.isFile() ? 'file' : d.isSymbolicLink() ? 'link' : 'other' });
  }
  return out;
}

/** The package a file belongs to: the deepest node_modules/<name> (or @scope/<name>) above it. */
const OWNER = /^((?:.*\/)?node_modules\/(?:@[^/]+\/)?[^/]+)\/(.+)$/;
/** What npm itself writes beside the packages: its hidden lockfile and the .bin links. */
const NPM_OWN = /^(?:.*\/)?node_modules\/(?:\.package-lock\.json$|\.bin\/)/;

/**
 * Digests of every package installed under `<prefix>/node_modules`: sha256 over the sorted lines
 * `F <path in the package> <sha256 of its bytes>` and `L <path> <link target>` (directories and file
 * modes are left out: they hold no code), and the entries that belong to no package (`stray`):
 * anything beside the packages but npm's own .package-lock.json and .bin links.
 */
export function packageDigests(prefix: string): { digests: Record<string, string>; stray: string[] } {
  const lines = new Map<string, string[]>();
  const stray: string[] = [];
  const entries = existsSync(join(prefix, 'node_modules')) ? walk(prefix, 'node_modules', []) : [];
  for (const { path, kind } of entries) {
    if (NPM_OWN.test(path)) continue;
    const owner = OWNER.exec(path);
    if (!owner || kind === 'other') {
      stray.push(path);
      continue;
    }
    const full = join(prefix, path);
    const line =
      kind === 'file'
        ? `F ${owner[2]} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`
        : `L ${owner[2]} ${readlinkSync(full)}`;
    lines.set(owner[1]!, [...(lines.get(owner[1]!) ?? []), line]);
  }
  const digests: Record<string, string> = {};
  for (const [pkg, list] of lines)
    digests[pkg] = createHash('sha256').update(list.sort().join('\n')).digest('hex');
  return { digests, stray };
}

/**
 * Why the install in `prefix` is not the wrangler asked for, or undefined when it is: its
 * node_modules/wrangler/package.json says `version`, .bin/wrangler leads to that package's own
 * bin/wrangler.js, and, with the kit's lock, the whole tree matches it (`treeMismatch`).
 */
export function installMismatch(prefix: string, version: string, lock?: KitLock): string | undefined {
  const pkg = join(prefix, 'node_modules', 'wrangler');
  let found: string | undefined;
  try {
    found = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return 'it has no node_modules/wrangler/package.json';
  }
  if (found !== version) return `its wrangler is ${found ?? 'of no version'}, not ${version}`;
  try {
    const bin = realpathSync(join(prefix, 'node_modules', '.bin', 'wrangler'));
    if (bin !== realpathSync(join(pkg, 'bin', 'wrangler.js')))
      return "node_modules/.bin/wrangler is not wrangler's own bin/wrangler.js";
  } catch {
    return 'node_modules/.bin/wrangler or wrangler/bin/wrangler.js is missing';
  }
  return lock ? treeMismatch(prefix, lock) : undefined;
}

/**
 * Every installed package's files against the digest the kit ships for it, and nothing else there.
 * What this protects against: an install in the tool directory or the Actions cache that was
 * changed after `npm ci` checked its tarballs (a poisoned cache entry, a modified self-hosted tool
 * directory): changing any file of any package (wrangler's own CLI, esbuild's JS or binary, workerd,
 * miniflare…), adding a file or package, or rewriting node_modules/.package-lock.json (never read
 * here) cannot pass, because the reference is in the kit's checkout, not in what is checked. What it
 * does not protect against: a kit checkout changed itself (the reference and the code that checks
 * it live there), or a package published with malicious contents that the lockfile pins (npm ci
 * installs exactly what the lockfile names; --ignore-scripts keeps its install scripts from running).
 */
export function treeMismatch(prefix: string, lock: KitLock): string | undefined {
  const { digests, stray } = packageDigests(prefix);
  if (stray.length) return `it holds files that belong to no package (${stray.slice(0, 3).join(', ')})`;
  for (const [pkg, digest] of Object.entries(digests)) {
    if (!lock.packages[pkg]) return `${pkg} is not in the kit's lockfile`;
    if (!lock.digests[pkg]) return `the kit has no digest for ${pkg} (a platform it was not locked for)`;
    if (lock.digests[pkg] !== digest) return `${pkg} differs from what the kit's lockfile installs`;
  }
  const missing = Object.keys(lock.packages).find((p) => !lock.packages[p]!.optional && !digests[p]);
  return missing ? `${missing} is missing` : undefined;
}
