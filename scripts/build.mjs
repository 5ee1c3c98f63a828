// Builds one ncc bundle per action into dist/<name>/ (ncc wipes its output folder, so each action
// has its own). With --check, builds into a temporary folder and fails when it differs from dist/.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const check = process.argv.includes('--check');
const actions = readdirSync('src/actions').filter((n) => existsSync(join('src/actions', n, 'index.ts')));
const out = check ? mkdtempSync(join(tmpdir(), 'slipway-dist-')) : 'dist';

for (const name of actions) {
  execFileSync(
    process.execPath,
    [
      'node_modules/@vercel/ncc/dist/ncc/cli.js',
      'build',
      `src/actions/${name}/index.ts`,
      '-o',
      join(out, name),
      '--license',
      'licenses.txt',
      '--quiet',
      '--target',
      'es2022',
    ],
    { stdio: 'inherit' },
  );
}

if (check) {
  const files = (dir) =>
    existsSync(dir)
      ? readdirSync(dir, { recursive: true })
          .filter((f) => statSync(join(dir, f)).isFile())
          .sort()
      : [];
  const fresh = files(out);
  const committed = files('dist');
  const differ = [...new Set([...fresh, ...committed])].filter(
    (f) =>
      !fresh.includes(f) ||
      !committed.includes(f) ||
      !readFileSync(join(out, f)).equals(readFileSync(join('dist', f))),
  );
  rmSync(out, { recursive: true, force: true });
  if (differ.length) {
    console.error(
      `dist/ differs from a fresh build in: ${differ.join(', ')}. Run "npm run build" and commit dist/.`,
    );
    process.exit(1);
  }
  console.log(`dist/ matches a fresh build (${actions.length} bundles).`);
} else {
  console.log(`built ${actions.map((a) => relative('.', join(out, a))).join(', ')}`);
}
