import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/lib/core/errors.js';
import type { CacheService } from '../../../src/lib/core/io.js';
import { PINNED_WRANGLER, resolveWrangler } from '../../../src/lib/wrangler/cli.js';
import { kitLockDir, packageDigests, readKitLock } from '../../../src/lib/wrangler/lock.js';
import { recordingLog, scriptedRunner, type Call, type Rule } from '../../harness/fakes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const OTHER = '4.99.0';
const base = mkdtempSync(join(tmpdir(), 'slipway-wrangler-cli-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const put = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
};

/** What npm installs, in small: wrangler (its bin linked in .bin), one dependency, npm's own lockfile. */
function writeTree(prefix: string, version = PINNED_WRANGLER): void {
  const nm = join(prefix, 'node_modules');
  put(join(nm, 'wrangler/package.json'), JSON.stringify({ name: 'wrangler', version }));
  put(join(nm, 'wrangler/bin/wrangler.js'), '#!/usr/bin/env node\nconsole.log("wrangler");\n');
  put(join(nm, 'esbuild/lib/main.js'), 'module.exports = "esbuild";\n');
  put(join(nm, '.package-lock.json'), '{}\n');
  mkdirSync(join(nm, '.bin'), { recursive: true });
  symlinkSync('../wrangler/bin/wrangler.js', join(nm, '.bin/wrangler'));
}

/** A kit lock for that tree: wrangler and esbuild, one optional platform package not installed. */
const kit = join(base, 'kit');
put(join(kit, 'package.json'), JSON.stringify({ dependencies: { wrangler: PINNED_WRANGLER } }));
put(
  join(kit, 'package-lock.json'),
  JSON.stringify({
    lockfileVersion: 3,
    packages: {
      '': { dependencies: { wrangler: PINNED_WRANGLER } },
      'node_modules/wrangler': { version: PINNED_WRANGLER, integrity: 'sha512-wrangler' },
      'node_modules/esbuild': { version: '0.27.3', integrity: 'sha512-esbuild' },
      'node_modules/@esbuild/aix-ppc64': { version: '0.27.3', optional: true },
    },
  }),
);
writeTree(join(base, 'reference'));
put(join(kit, 'digests.json'), JSON.stringify({ packages: packageDigests(join(base, 'reference')).digests }));

const prefixOf = (call: Call) => call.args[call.args.indexOf('--prefix') + 1]!;
/** npm, faked: installs the small tree (at `version`) into its --prefix. */
const npm = (version?: string): Rule => ({
  match: /^npm /,
  result: (call) => {
    writeTree(prefixOf(call), version ?? /wrangler@(\S+)/.exec(call.line)?.[1] ?? PINNED_WRANGLER);
    return {};
  },
});

/** An Actions cache holding one install: restore writes the small tree, tampered when asked. */
function treeCache(tamper?: (prefix: string) => void): CacheService & { saved: string[]; asked: string[] } {
  const saved: string[] = [];
  const asked: string[] = [];
  return {
    saved,
    asked,
    restore: async (path, key) => {
      asked.push(key);
      writeTree(path);
      tamper?.(path);
      return key;
    },
    save: async (_path, key) => void saved.push(key),
  };
}

let n = 0;
let workdir: string;
let tools: string;
let prefix: string;
beforeEach(() => {
  workdir = join(base, `project-${++n}`);
  tools = join(base, `tools-${n}`);
  prefix = join(tools, 'wrangler', PINNED_WRANGLER);
  mkdirSync(workdir, { recursive: true });
});

const resolveWith = (rules: Rule[], requested = '', cache?: CacheService, lock: string | undefined = kit) => {
  const run = scriptedRunner(rules);
  const log = recordingLog();
  const result = resolveWrangler(run, workdir, requested, tools, log, cache, lock);
  return { run, log, result };
};

const nm = (p: string) => join(prefix, 'node_modules', p);
const TAMPERED: [string, (p: string) => void, RegExp][] = [
  [
    'wrangler of another version',
    (p) => put(join(p, 'node_modules/wrangler/package.json'), '{"version":"4.85.0"}'),
    /its wrangler is 4\.85\.0, not 4\.86\.0/,
  ],
  [
    "a changed file in wrangler's own package (its integrity)",
    (p) => appendFileSync(join(p, 'node_modules/wrangler/bin/wrangler.js'), 'steal();\n'),
    /node_modules\/wrangler differs from what the kit's lockfile installs/,
  ],
  [
    'a changed file in a dependency',
    (p) => appendFileSync(join(p, 'node_modules/esbuild/lib/main.js'), 'steal();\n'),
    /node_modules\/esbuild differs/,
  ],
  [
    'a file that belongs to no package',
    (p) => put(join(p, 'node_modules/evil.js'), 'steal();\n'),
    /files that belong to no package \(node_modules\/evil\.js\)/,
  ],
  [
    'a package the lockfile does not list',
    (p) => put(join(p, 'node_modules/left-pad/index.js'), 'steal();\n'),
    /node_modules\/left-pad is not in the kit's lockfile/,
  ],
  [
    'an optional platform package the kit has no digest for',
    (p) => put(join(p, 'node_modules/@esbuild/aix-ppc64/bin/esbuild'), 'steal\n'),
    /the kit has no digest for node_modules\/@esbuild\/aix-ppc64/,
  ],
  [
    '.bin/wrangler replaced by a script',
    (p) => {
      unlinkSync(join(p, 'node_modules/.bin/wrangler'));
      put(join(p, 'node_modules/.bin/wrangler'), '#!/bin/sh\nsteal\n');
    },
    /\.bin\/wrangler is not wrangler's own bin\/wrangler\.js/,
  ],
  [
    'a dependency removed',
    (p) => rmSync(join(p, 'node_modules/esbuild'), { recursive: true }),
    /node_modules\/esbuild is missing/,
  ],
  [
    'a half-finished install (no wrangler)',
    (p) => rmSync(join(p, 'node_modules/wrangler'), { recursive: true }),
    /no node_modules\/wrangler\/package\.json/,
  ],
];

describe('resolveWrangler: which wrangler runs, and how it is installed', () => {
  it("the project's own node_modules/.bin/wrangler (here or above the working directory): no npm", async () => {
    writeTree(workdir, '4.80.1');
    const sub = join(workdir, 'apps', 'worker');
    mkdirSync(sub, { recursive: true });
    const run = scriptedRunner([]);
    const tool = await resolveWrangler(run, sub, '', tools, recordingLog(), undefined, kit);
    expect(tool).toEqual({
      bin: join(workdir, 'node_modules/.bin/wrangler'),
      version: '4.80.1',
      source: "the project's own",
    });
    expect(run.calls).toEqual([]);
  });

  it.each([
    ['the pinned version (no input)', '', ['ci'], "from the kit's lockfile (npm ci --ignore-scripts"],
    ['the pinned version asked for by name', PINNED_WRANGLER, ['ci'], "from the kit's lockfile"],
    [
      'another version',
      OTHER,
      ['install', '--no-save', `wrangler@${OTHER}`],
      '(npm install --ignore-scripts; once, later runs reuse it). It is not locked by the kit',
    ],
  ])('%s: npm with --ignore-scripts, installed once', async (_name, requested, verb, said) => {
    // With a version asked for, the project's own wrangler (another version) is passed over.
    if (requested) writeTree(workdir, '4.80.1');
    const version = requested || PINNED_WRANGLER;
    const { run, log, result } = resolveWith([npm()], requested);
    const tool = await result;
    const where = join(tools, 'wrangler', version);
    const bin = join(where, 'node_modules/.bin/wrangler');
    expect(tool).toEqual({ bin, version, source: `installed ${version}` });
    expect(run.calls).toHaveLength(1);
    const { command, args } = run.calls[0]!;
    expect([command, args[0]]).toEqual(['npm', verb[0]]);
    expect(args).toEqual(expect.arrayContaining(['--ignore-scripts', '--prefix', where, ...verb]));
    expect(log.lines.join('\n')).toContain(`Installing wrangler ${version} into ${where} ${said}`);
    if (verb[0] === 'ci')
      for (const file of ['package.json', 'package-lock.json'])
        expect(readFileSync(join(where, file), 'utf8')).toBe(readFileSync(join(kit, file), 'utf8'));
    else expect(existsSync(join(where, 'package-lock.json'))).toBe(false);
  });

  it('an intact install in the tool directory is reused without npm', async () => {
    writeTree(prefix);
    const { run, log, result } = resolveWith([]);
    expect((await result).source).toBe(`installed ${PINNED_WRANGLER}, reused from ${prefix}`);
    expect(run.calls).toEqual([]);
    expect(log.lines.filter((l) => l.startsWith('warning:'))).toEqual([]);
  });

  it.each(TAMPERED)(
    'a reused install with %s: a warning, removed, installed afresh with npm ci',
    async (_name, tamper, why) => {
      writeTree(prefix);
      tamper(prefix);
      const { run, log, result } = resolveWith([npm()]);
      expect((await result).source).toBe(`installed ${PINNED_WRANGLER}`);
      const warnings = log.lines.filter((l) => l.startsWith('warning:'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(why);
      expect(warnings[0]).toContain(`wrangler in ${prefix} does not match the kit's lockfile`);
      expect(
        run.calls.map((c) => c.args.slice(0, 1).concat(c.args.includes('--ignore-scripts') ? ['ok'] : [])),
      ).toEqual([['ci', 'ok']]);
      expect(existsSync(nm('evil.js')) || existsSync(nm('left-pad')) || existsSync(nm('@esbuild'))).toBe(
        false,
      );
      expect(readFileSync(nm('wrangler/bin/wrangler.js'), 'utf8')).not.toContain('steal');
    },
  );

  it.each([
    ['the right version: reused', OTHER, 0],
    ['another version: installed afresh', '4.98.0', 1],
  ])(
    'another version (not locked) reused from the tool directory, only its version checked: %s',
    async (_n, found, installs) => {
      const where = join(tools, 'wrangler', OTHER);
      writeTree(where, found);
      appendFileSync(join(where, 'node_modules/esbuild/lib/main.js'), '// not checked without a kit lock\n');
      const { run, log, result } = resolveWith([npm()], OTHER);
      expect((await result).version).toBe(OTHER);
      expect(run.calls).toHaveLength(installs);
      expect(log.lines.filter((l) => l.startsWith('warning:'))).toHaveLength(installs);
    },
  );

  const RESTORED: [string, ((p: string) => void) | undefined, number][] = [
    ['intact: used, nothing installed or saved', undefined, 0],
    ...TAMPERED.map(([name, tamper]): [string, (p: string) => void, number] => [
      `with ${name}: removed, installed afresh`,
      tamper,
      1,
    ]),
  ];
  it.each(RESTORED)('an install restored from the Actions cache, %s', async (_name, tamper, installs) => {
    const cache = treeCache(tamper);
    const { run, log, result } = resolveWith([npm()], '', cache);
    const tool = await result;
    const tag = readKitLock(kit).tag;
    expect(cache.asked).toEqual([
      `slipway-wrangler-${PINNED_WRANGLER}-${tag}-${process.platform}-${process.arch}`,
    ]);
    expect(run.calls).toHaveLength(installs);
    expect(tool.source).toBe(
      installs ? `installed ${PINNED_WRANGLER}` : `installed ${PINNED_WRANGLER}, restored from the cache`,
    );
    expect(cache.saved).toEqual(installs ? cache.asked : []);
    const warnings = log.lines.filter((l) => l.startsWith('warning:'));
    expect(warnings).toHaveLength(installs);
    if (installs)
      expect(warnings[0]).toContain(`wrangler in the cache entry ${cache.asked[0]} does not match`);
  });

  it('the cache key of another version says it is not locked', async () => {
    const cache = treeCache();
    await resolveWith([npm()], OTHER, cache).result;
    expect(cache.asked).toEqual([`slipway-wrangler-${OTHER}-unlocked-${process.platform}-${process.arch}`]);
  });

  const EINTEGRITY = 'npm error code EINTEGRITY\nnpm error sha512-… integrity checksum failed';
  it.each([
    [
      'npm fails',
      { match: /^npm ci /, result: { code: 1, stderr: EINTEGRITY } },
      /^Could not install wrangler 4\.86\.0: npm error sha512-… integrity checksum failed$/,
    ],
    [
      'npm installs another version',
      npm('4.85.0'),
      /^wrangler 4\.86\.0 as npm installed it into .*: its wrangler is 4\.85\.0, not 4\.86\.0\.$/,
    ],
  ])('%s: one clear line', async (_name, rule, message) => {
    const error = await resolveWith([rule]).result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
  });

  it('a version that is not exact: refused before npm runs', async () => {
    const { run, result } = resolveWith([], '^4');
    await expect(result).rejects.toThrow(/Input "wrangler-version" is "\^4": give an exact version/);
    expect(run.calls).toEqual([]);
  });

  it('the pinned version without the kit lock: refused, nothing installed unlocked', async () => {
    const { run, result } = resolveWith([npm()], '', undefined, '');
    await expect(result).rejects.toThrow(/wrangler-lock\/\) is missing/);
    expect(run.calls).toEqual([]);
  });
});

describe('the kit lock shipped in wrangler-lock/', () => {
  const shipped = join(ROOT, 'wrangler-lock');

  it.each([
    ['src/lib/wrangler/lock.ts (vitest, tsx)', undefined],
    ['dist/deploy/index.js (the runner)', pathToFileURL(join(ROOT, 'dist/deploy/index.js')).href],
  ])('is found from %s', (_name, url) => {
    expect(url ? kitLockDir(url) : kitLockDir()).toBe(shipped);
  });

  it("locks exactly the pinned wrangler, the one in the repository's own package-lock.json", () => {
    const lock = readKitLock(shipped);
    const own = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as typeof lock;
    const manifest = JSON.parse(readFileSync(join(shipped, 'package.json'), 'utf8'));
    expect(manifest.dependencies).toEqual({ wrangler: PINNED_WRANGLER });
    expect(lock.version).toBe(PINNED_WRANGLER);
    expect(lock.packages['node_modules/wrangler']!.integrity).toMatch(/^sha512-/);
    expect(lock.packages['node_modules/wrangler']!.integrity).toBe(
      own.packages['node_modules/wrangler']!.integrity,
    );
  });

  it('has a digest for every package the lockfile always installs, and for this platform', () => {
    const lock = readKitLock(shipped);
    for (const [pkg, entry] of Object.entries(lock.packages))
      if (!entry.optional) expect(lock.digests[pkg], pkg).toMatch(/^[0-9a-f]{64}$/);
    const esbuild = `node_modules/@esbuild/${process.platform}-${process.arch}`;
    expect(lock.digests[esbuild], esbuild).toMatch(/^[0-9a-f]{64}$/);
    for (const pkg of Object.keys(lock.digests)) expect(lock.packages[pkg], pkg).toBeDefined();
  });
});
