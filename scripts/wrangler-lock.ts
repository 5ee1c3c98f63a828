// Writes wrangler-lock/, the kit's lock for the wrangler it installs when a project has none
// (src/lib/wrangler/lock.ts): package.json (wrangler at exactly PINNED_WRANGLER), package-lock.json
// (npm install --package-lock-only --ignore-scripts) and digests.json: each package's files as
// `packageDigests` hashes them, from `npm ci --ignore-scripts` of that lockfile for every platform a
// GitHub runner has (npm's --os/--cpu/--libc pick the optional platform packages; the trees are
// the same bytes as a native install). Run after changing PINNED_WRANGLER:
//   node --import tsx scripts/wrangler-lock.ts
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PINNED_WRANGLER } from '../src/lib/wrangler/cli.js';
import { packageDigests } from '../src/lib/wrangler/lock.js';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'wrangler-lock');
/** os, cpu, libc: Linux (glibc and musl), macOS and Windows, on x64 and arm64. */
const PLATFORMS = ['linux', 'darwin', 'win32'].flatMap((os) =>
  ['x64', 'arm64'].flatMap((cpu) =>
    (os === 'linux' ? ['glibc', 'musl'] : ['glibc']).map((libc) => ({ os, cpu, libc })),
  ),
);
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, stdio: 'inherit' });

const manifest = {
  name: 'slipway-wrangler-lock',
  private: true,
  description:
    "The kit's lock for the wrangler it installs (src/lib/wrangler/lock.ts); written by scripts/wrangler-lock.ts.",
  dependencies: { wrangler: PINNED_WRANGLER },
};
writeFileSync(join(DIR, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
rmSync(join(DIR, 'package-lock.json'), { force: true });
npm(['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], DIR);

const digests: Record<string, string> = {};
for (const { os, cpu, libc } of PLATFORMS) {
  const prefix = mkdtempSync(join(tmpdir(), 'slipway-wrangler-lock-'));
  try {
    for (const file of ['package.json', 'package-lock.json'])
      copyFileSync(join(DIR, file), join(prefix, file));
    const platform = [`--os=${os}`, `--cpu=${cpu}`, `--libc=${libc}`];
    npm(['ci', '--ignore-scripts', '--no-audit', '--no-fund', ...platform], prefix);
    const found = packageDigests(prefix);
    if (found.stray.length)
      throw new Error(`${os}-${cpu}-${libc}: files of no package: ${found.stray.join(', ')}`);
    for (const [pkg, digest] of Object.entries(found.digests)) {
      if (digests[pkg] && digests[pkg] !== digest) throw new Error(`${pkg} differs between platforms`);
      digests[pkg] = digest;
    }
    console.log(`${os}-${cpu}-${libc}: ${Object.keys(found.digests).length} packages`);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}
const sorted = Object.fromEntries(Object.entries(digests).sort(([a], [b]) => a.localeCompare(b)));
const note =
  'sha256 of each package installed by npm ci --ignore-scripts (packageDigests in src/lib/wrangler/lock.ts)';
writeFileSync(join(DIR, 'digests.json'), `${JSON.stringify({ note, packages: sorted }, null, 2)}\n`);
console.log(
  `wrangler-lock/: wrangler ${PINNED_WRANGLER}, digests of ${Object.keys(sorted).length} packages.`,
);
