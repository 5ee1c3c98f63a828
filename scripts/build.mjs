// Builds one ncc bundle per action into dist/<name>/ (ncc wipes its output folder, so each action
// has its own). With --check, builds into a temporary folder and fails when it differs from dist/.
// ncc is single-threaded: the bundles build SLIPWAY_BUILD_JOBS at a time (default: one per core).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const check = process.argv.includes('--check');
const actions = readdirSync('src/actions').filter((n) => existsSync(join('src/actions', n, 'index.ts')));
const out = check ? mkdtempSync(join(tmpdir(), 'slipway-dist-')) : 'dist';
const jobs = Math.max(1, Number(process.env.SLIPWAY_BUILD_JOBS) || availableParallelism());

/** Runs ncc for one action; its output is printed whole when it ends, so parallel builds do not interleave. */
function bundle(name) {
  return new Promise((resolve) => {
    const child = spawn(
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
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => resolve({ name, code: 1, stdout, stderr: `${stderr}${err.message}\n` }));
    child.on('close', (code, signal) => resolve({ name, code: code ?? (signal ? 1 : 0), stdout, stderr }));
  });
}

const queue = [...actions];
const failed = [];
await Promise.all(
  Array.from({ length: Math.min(jobs, actions.length) }, async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      const r = await bundle(name);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      if (r.code !== 0) failed.push(`${name} (exit ${r.code})`);
    }
  }),
);
if (failed.length) {
  if (check) rmSync(out, { recursive: true, force: true });
  console.error(`ncc failed for ${failed.join(', ')}.`);
  process.exit(1);
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
