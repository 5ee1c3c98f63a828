import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_IMAGE, DOCKER, docker, requireEngine } from '../test/harness/docker.js';
import { buildFixture } from '../test/harness/images.js';
import { runAction } from '../test/harness/runner.js';
import type { Figure } from './build-image.js';

const IMAGE = 'slipway-bench/big:latest';

const buildBig = (top: string) => buildFixture('big-image', IMAGE, { BASE_IMAGE: DEBIAN_IMAGE, TOP: top });

/**
 * size-budget on an image of at least 1 GB, side by side with the peer pipe
 * `docker save | gzip -c | wc -c`: cold (empty memo), and warm after only the top layer changed.
 */
export async function benchSizeBudget(): Promise<Figure[]> {
  requireEngine();
  const store = mkdtempSync(join(tmpdir(), 'slipway-bench-size-'));
  try {
    buildBig(String(Date.now()));
    const bytes = Number(docker(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
    if (bytes < 1e9) throw new Error(`the benchmark image is ${bytes} bytes, under 1 GB`);

    const t0 = performance.now();
    const pipe = spawnSync('sh', ['-c', `"${DOCKER}" save ${IMAGE} | gzip -c | wc -c`], { encoding: 'utf8' });
    const pipeSeconds = (performance.now() - t0) / 1000;
    if (pipe.status !== 0) throw new Error('docker save | gzip failed');

    const measure = async () => {
      const t = performance.now();
      const r = await runAction(
        'size-budget',
        { image: IMAGE, measure: 'compressed', 'max-size': '10GB', 'cache-dir': store },
        { env: { SLIPWAY_DOCKER: DOCKER } },
      );
      if (r.code !== 0) throw new Error(`size-budget failed in the benchmark: ${r.log.slice(-1500)}`);
      const rss = Number(/peak-rss-kb=(\d+)/.exec(r.stdout)?.[1] ?? NaN) * 1024;
      const sources = /\((\d+) read from the engine's layer store, (\d+) from docker save\)/.exec(r.stdout);
      return {
        seconds: (performance.now() - t) / 1000,
        rss,
        compressed: Number(r.outputs['compressed-bytes']),
        fromStore: Number(sources?.[1] ?? NaN),
        fromSave: Number(sources?.[2] ?? NaN),
      };
    };
    const cold = await measure();
    // Warm: only the top layer changes; the median of three such changes is reported.
    const warms = [];
    // What a warm run built on docker save would pay at least: legacy save (graph-driver store) writes
    // every layer to a temporary directory before its first byte, so even one changed layer costs a
    // whole save. size-budget reads only the changed layers from the layer store instead.
    const saves: number[] = [];
    for (let i = 0; i < 3; i++) {
      buildBig(`changed-${i}-${Date.now()}`);
      const s0 = performance.now();
      spawnSync('sh', ['-c', `"${DOCKER}" save ${IMAGE} > /dev/null`]);
      saves.push((performance.now() - s0) / 1000);
      warms.push(await measure());
    }
    warms.sort((a, b) => a.seconds - b.seconds);
    saves.sort((a, b) => a - b);
    const warm = warms[1]!;
    const save = saves[1]!;

    return [
      { name: 'image size (uncompressed)', value: bytes, unit: 'bytes' },
      { name: 'peer: docker save | gzip -c | wc -c', value: pipeSeconds, unit: 's' },
      { name: 'size-budget cold (no layer known)', value: cold.seconds, unit: 's' },
      { name: 'size-budget warm, top layer changed (median of 3)', value: warm.seconds, unit: 's' },
      { name: 'size-budget warm, fastest and slowest of 3', value: warms[0]!.seconds, unit: 's' },
      { name: '                                           ', value: warms[2]!.seconds, unit: 's' },
      { name: 'cold: layers read from the layer store', value: cold.fromStore, unit: 'count' },
      { name: 'cold: layers compressed from docker save', value: cold.fromSave, unit: 'count' },
      { name: 'warm: layers read from the layer store', value: warm.fromStore, unit: 'count' },
      { name: 'warm: layers compressed from docker save', value: warm.fromSave, unit: 'count' },
      { name: 'reference: docker save > /dev/null (median of 3)', value: save, unit: 's' },
      { name: 'warm / docker save alone', value: warm.seconds / save, unit: 'ratio' },
      { name: 'cold / pipe', value: cold.seconds / pipeSeconds, unit: 'ratio', target: { max: 1 } },
      { name: 'pipe / warm (speed-up)', value: pipeSeconds / warm.seconds, unit: 'ratio' },
      { name: 'warm / pipe', value: warm.seconds / pipeSeconds, unit: 'ratio', target: { max: 0.2 } },
      {
        name: 'compressed: size-budget / gzip pipe',
        value: cold.compressed / Number(pipe.stdout.trim()),
        unit: 'ratio',
      },
      { name: 'peak memory, cold (MB)', value: cold.rss / 1e6, unit: 'MB', target: { max: 200 } },
      {
        name: 'peak memory, warm (MB, highest of 3)',
        value: Math.max(...warms.map((w) => w.rss)) / 1e6,
        unit: 'MB',
        target: { max: 200 },
      },
    ];
  } finally {
    docker(['image', 'rm', '-f', IMAGE], { allowFail: true });
    docker(['image', 'prune', '-f'], { allowFail: true });
    rmSync(store, { recursive: true, force: true });
  }
}
