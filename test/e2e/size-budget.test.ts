import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE, DOCKER, REGISTRY, docker, requireEngine } from '../harness/docker.js';
import { buildCore, buildFixture, CORE_IMAGE } from '../harness/images.js';
import { errorLines, runAction, type ActionRun } from '../harness/runner.js';

const CORE = `${CORE_IMAGE}:latest`;
const BLOB = 'slipway-e2e/size-60mb:latest';
const RUSTY = 'slipway-e2e/rust-in-core:latest';
const FORBID = 'rustc\ncargo\n~/.cargo\ntorch\nsentence_transformers';
const REQUIRE = 'node\njq\ngit\nrg';

const explain = (r: ActionRun) =>
  `exit ${r.code}; errors: ${errorLines(r).join(' | ')}\n${r.log.slice(-2500)}`;

describe('size-budget, end to end through the bundle', () => {
  let store: string;
  let reports: string;
  const size = (inputs: Record<string, string>) =>
    runAction('size-budget', { 'cache-dir': store, ...inputs }, { env: { SLIPWAY_DOCKER: DOCKER } });

  beforeAll(async () => {
    requireEngine();
    store = mkdtempSync(join(tmpdir(), 'slipway-size-store-'));
    reports = mkdtempSync(join(tmpdir(), 'slipway-size-reports-'));
    await buildCore();
    buildFixture('size-60mb', BLOB, { BASE_IMAGE: DEBIAN_IMAGE });
  });
  afterAll(() => {
    for (const i of [BLOB, RUSTY, `${REGISTRY}/slipway-e2e/size-60mb:e2e`])
      docker(['image', 'rm', '-f', i], { allowFail: true });
    for (const d of [store, reports]) rmSync(d, { recursive: true, force: true });
  });

  it('the core image is within its budget and its policy (no toolchain; node, jq, git, rg present)', async () => {
    const r = await size({
      image: CORE,
      'instance-type': 'lite',
      forbid: FORBID,
      require: REQUIRE,
      'report-path': join(reports, 'core.json'),
    });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs['within-budget']).toBe('true');
    expect(r.outputs.violations).toBe('[]');
    expect(Number(r.outputs['budget-bytes'])).toBe(2e9);
    const inspect = JSON.parse(docker(['image', 'inspect', '--format', '{{json .}}', CORE])) as {
      Size: number;
      RootFS: { Layers: string[] };
    };
    expect(Number(r.outputs['uncompressed-bytes'])).toBe(inspect.Size);
    expect(Number(r.outputs['cloudflare-bytes'])).toBe(
      Math.ceil(inspect.Size * 1.1 + inspect.RootFS.Layers.length * 16 * 2 ** 20),
    );
    expect(r.summary).toContain("Measure: **cloudflare**, Cloudflare's gate");
    // More layers than a summary shows open: the table is collapsed under its title (section()).
    expect(r.summary).toMatch(/<details><summary>Largest layers \(\d+\)<\/summary>\n\n\| Size \|/);
    const report = JSON.parse(readFileSync(r.outputs.report!, 'utf8')) as { format: string };
    expect(report.format).toBe('slipway-size-report/1');
  });

  it('a second run compresses no layer again (memoised by layer digest)', async () => {
    const r = await size({ image: CORE });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(
      /0 of \d+ layers compressed \(0 read from the engine's layer store, 0 from docker save\), \d+ known from earlier runs/,
    );
    const again = JSON.parse(readFileSync(join(store, 'layer-sizes.json'), 'utf8')) as {
      layers: Record<string, unknown>;
    };
    expect(Object.keys(again.layers).length).toBeGreaterThanOrEqual(5);
  });

  it('an image with a 60 MB layer over a tight budget fails naming the numbers', async () => {
    const r = await size({ image: BLOB, measure: 'uncompressed', 'max-size': '150MB' });
    expect(r.code).toBe(1);
    const errors = errorLines(r);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^Size budget failed for slipway-e2e\/size-60mb:latest: uncompressed size 1\d\d MB \(1\d{8} bytes\) is over the 150 MB budget from max-size by \d+(\.\d+)? MB\.$/,
    );
    expect(r.outputs['within-budget']).toBe('false');
    expect(JSON.parse(r.outputs.violations!)[0]).toMatchObject({ kind: 'over-budget' });
  });

  it('warns at warn-at percent of the budget', async () => {
    const u = Number(JSON.parse(docker(['image', 'inspect', '--format', '{{.Size}}', BLOB])));
    const r = await size({
      image: BLOB,
      measure: 'uncompressed',
      'max-size': String(Math.ceil(u / 0.95)),
      'warn-at': '90',
    });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(
      /::warning::uncompressed size .* is 95\.0%25 of its .* budget \(warn-at 90%25\)/,
    );
  });

  it('computes the compressed size within 2% of what the registry stores after docker push, then reads the registry', async () => {
    const computed = await size({
      image: BLOB,
      measure: 'compressed',
      'report-path': join(reports, 'blob.json'),
    });
    expect(computed.code, explain(computed)).toBe(0);
    const ref = `${REGISTRY}/slipway-e2e/size-60mb:e2e`;
    docker(['tag', BLOB, ref]);
    docker(['push', ref]);
    const manifest = (await (
      await fetch(`http://${REGISTRY}/v2/slipway-e2e/size-60mb/manifests/e2e`, {
        headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
      })
    ).json()) as { layers: Array<{ size: number }> };
    const registry = manifest.layers.reduce((n, l) => n + l.size, 0);
    const ours = Number(computed.outputs['compressed-bytes']);
    expect(Math.abs(ours - registry) / registry, `computed ${ours}, registry ${registry}`).toBeLessThan(0.02);
    const pushed = await size({ image: ref, measure: 'compressed' });
    expect(pushed.code, explain(pushed)).toBe(0);
    expect(Number(pushed.outputs['compressed-bytes'])).toBe(registry);
    expect(pushed.summary).toContain('Compressed (from the registry manifest)');
  });

  it('reports the delta against a saved report, and fails past max-increase', async () => {
    const ok = await size({
      image: BLOB,
      measure: 'compressed',
      baseline: join(reports, 'core.json'),
      'max-increase': '1GB',
    });
    expect(ok.code, explain(ok)).toBe(0);
    const core = JSON.parse(readFileSync(join(reports, 'core.json'), 'utf8')) as {
      compressedBytes: number;
    };
    expect(Number(ok.outputs['delta-bytes'])).toBe(
      Number(ok.outputs['compressed-bytes']) - core.compressedBytes,
    );
    expect(ok.summary).toMatch(/Delta against `.*core\.json`: \*\*[+−]/);
    const tight = await size({ image: CORE, measure: 'compressed', baseline: BLOB, 'max-increase': '1MB' });
    expect(tight.code).toBe(1);
    expect(errorLines(tight)[0]).toMatch(
      /compressed size grew by .* against slipway-e2e\/size-60mb:latest, more than max-increase 1\.00 MB/,
    );
  });

  it('a core image with a Rust toolchain layer fails naming rustc', async () => {
    buildFixture('rust-in-core', RUSTY, { CORE_IMAGE: CORE });
    const r = await size({ image: RUSTY, forbid: FORBID, require: REQUIRE });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(/forbidden rustc is in the image at \/usr\/bin\/rustc/);
    expect(JSON.parse(r.outputs.violations!).map((v: { item: string }) => v.item)).toContain('rustc');
    expect(r.summary).toMatch(/#### Problems\n\n- ❌ forbidden rustc/);
  });

  it('bad input is one clear line', async () => {
    for (const [inputs, message] of [
      [
        { image: CORE, 'max-size': '2G' },
        /Input "max-size" is "2G": give a number of bytes or a size with its unit/,
      ],
      [
        { image: CORE, measure: 'zipped' },
        /Input "measure" is "zipped": use one of compressed, uncompressed, cloudflare/,
      ],
      [
        { image: 'slipway-e2e/no-such-image:1' },
        /Image slipway-e2e\/no-such-image:1 is not in the local engine: build it first/,
      ],
    ] as const) {
      const r = await size(inputs);
      expect(r.code).toBe(1);
      expect(errorLines(r)).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(message);
    }
  });
});
