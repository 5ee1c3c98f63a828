import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRunner } from '../../src/lib/core/exec.js';
import { measureLayers } from '../../src/lib/size/compress.js';
import { measureFromStore } from '../../src/lib/size/layer-store.js';
import { DEBIAN_IMAGE, DOCKER, docker, requireEngine } from '../harness/docker.js';
import { buildFixture } from '../harness/images.js';
import { ACTION_NODE, ROOT, errorLines, runAction, type ActionRun } from '../harness/runner.js';

const IMAGE = 'slipway-e2e/layer-store:latest';

interface Inspect {
  RootFS: { Layers: string[] };
  GraphDriver: { Name: string; Data: Record<string, string> };
}

const build = (top: string) => buildFixture('layer-store', IMAGE, { BASE_IMAGE: DEBIAN_IMAGE, TOP: top });
const inspect = () => JSON.parse(docker(['image', 'inspect', '--format', '{{json .}}', IMAGE])) as Inspect;
/** This file's helper containers: other files measure other images at the same time. */
const helpers = () =>
  docker([
    'ps',
    '-aq',
    '--filter',
    'label=slipway.size-budget=helper',
    '--filter',
    `label=slipway.size-budget.image=${IMAGE}`,
  ]);
/** Whether a running process's command line matches (a `docker cp` of the action, here). */
const copying = (command: RegExp) =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((p) => {
      try {
        return command.test(readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' '));
      } catch {
        return false; // it ended meanwhile
      }
    });
const volumes = () => docker(['volume', 'ls', '-q']);
const explain = (r: ActionRun) =>
  `exit ${r.code}; errors: ${errorLines(r).join(' | ')}\n${r.log.slice(-2500)}`;

describe("size-budget reads changed layers from the engine's layer store (real engine)", () => {
  let store: string;
  beforeAll(() => {
    requireEngine();
    store = mkdtempSync(join(tmpdir(), 'slipway-layer-store-'));
    build('first');
  });
  afterAll(() => {
    docker(['image', 'rm', '-f', IMAGE], { allowFail: true });
    rmSync(store, { recursive: true, force: true });
  });

  it('every built layer, rebuilt from the store, is byte for byte what docker save sends', async () => {
    const i = inspect();
    const ids = i.RootFS.Layers;
    const volumesBefore = volumes();
    const fromStore = await measureFromStore(execRunner, DOCKER, IMAGE, i, new Set(ids));
    const fromSave = await measureLayers(DOCKER, IMAGE, ids, new Map());
    // The imported base layer may be recorded in another file order (then docker save measures it);
    // every layer built here is read from the store.
    expect(fromStore.measured.length, `fallback: ${fromStore.fallback}`).toBeGreaterThanOrEqual(
      ids.length - 1,
    );
    if (fromStore.fallback) expect(fromStore.fallback).toMatch(/^layer 1 \(/);
    for (const m of fromStore.measured) {
      const save = fromSave.find((s) => s.diffId === m.diffId)!;
      expect(m.source).toBe('store');
      expect({ tar: m.tarBytes, gzip: m.compressedBytes }, `layer ${m.diffId}`).toEqual({
        tar: save.tarBytes,
        gzip: save.compressedBytes,
      });
    }
    expect(helpers(), 'the helper container is removed').toBe('');
    expect(volumes(), "the image's declared volume goes with the helper").toBe(volumesBefore);
  });

  it('a layer whose files do not match its record is refused with the reason, never measured', async () => {
    const i = inspect();
    const ids = i.RootFS.Layers;
    // Point the top layer at the layer below's files: the rebuilt tar cannot be the top layer.
    const lower = i.GraphDriver.Data.LowerDir!.split(':');
    const wrong: Inspect = {
      ...i,
      GraphDriver: {
        ...i.GraphDriver,
        Data: {
          ...i.GraphDriver.Data,
          UpperDir: lower[0]!,
          LowerDir: [i.GraphDriver.Data.UpperDir, ...lower.slice(1)].join(':'),
        },
      },
    };
    const r = await measureFromStore(execRunner, DOCKER, IMAGE, wrong, new Set(ids.slice(-1)));
    expect(r.measured).toEqual([]);
    expect(r.fallback).toMatch(new RegExp(`^layer ${ids.length} \\(${ids.at(-1)!.slice(7, 19)}\\): `));
    expect(r.fallback).toMatch(/not in the recorded order|not its diff id|end before/);
    expect(helpers()).toBe('');
  });

  it('through the bundle: after only the top layer changed, only it is read, from the store', async () => {
    const run = () =>
      runAction(
        'size-budget',
        { image: IMAGE, measure: 'compressed', 'max-size': '10GB', 'cache-dir': store },
        {
          env: { SLIPWAY_DOCKER: DOCKER },
        },
      );
    const cold = await run();
    expect(cold.code, explain(cold)).toBe(0);
    build(`changed-${Date.now()}`);
    const warm = await run();
    expect(warm.code, explain(warm)).toBe(0);
    expect(warm.stdout).toMatch(
      /1 of \d+ layers compressed \(1 read from the engine's layer store, 0 from docker save\), \d+ known from earlier runs/,
    );
    // The same top-layer content but for its text: the figures stay within a few bytes.
    expect(
      Math.abs(Number(warm.outputs['compressed-bytes']) - Number(cold.outputs['compressed-bytes'])),
    ).toBeLessThan(100);
    expect(helpers()).toBe('');
  });

  it('a cancelled run (SIGTERM) in the middle of a layer copy stops it and removes its helper container', async () => {
    const bigLayer = inspect().RootFS.Layers.length - 2;
    const dir = mkdtempSync(join(tmpdir(), 'slipway-layer-store-cancel-'));
    for (const f of ['state', 'out']) writeFileSync(join(dir, f), '');
    const child = spawn(ACTION_NODE, [join(ROOT, 'dist/size-budget/index.js')], {
      env: {
        ...process.env,
        SLIPWAY_DOCKER: DOCKER,
        INPUT_IMAGE: IMAGE,
        INPUT_MEASURE: 'compressed',
        'INPUT_MAX-SIZE': '10GB',
        'INPUT_CACHE-DIR': join(dir, 'empty-memo'),
        RUNNER_TEMP: dir,
        GITHUB_STATE: join(dir, 'state'),
        GITHUB_OUTPUT: join(dir, 'out'),
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const closed = new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
      // Cancel while the 260 MB layer (second from the top) is being copied out of the helper: the
      // engine holds the container during a copy, so the removal must stop the copy first.
      const big = `slipway-size-${child.pid}-[0-9a-f]+:/slipway/layer/${bigLayer}/`;
      const deadline = Date.now() + 30_000;
      while (!copying(new RegExp(big)) && Date.now() < deadline && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 10));
      expect(
        copying(new RegExp(big)),
        `the big layer should be copying before the cancel; the run said:\n${stdout}`,
      ).toBe(true);
      child.kill('SIGTERM');
      const code = await Promise.race([
        closed,
        new Promise((r) => setTimeout(() => r('still running after 20 s'), 20_000)),
      ]);
      expect(code, 'the cancelled run should exit at once').toBe(1);
      expect(stdout).toMatch(
        /::error::size-budget cancelled \(SIGTERM\); its container slipway-size-\S+ was removed\./,
      );
      expect(helpers()).toBe('');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL'); // a hung run must not hang the suite
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
