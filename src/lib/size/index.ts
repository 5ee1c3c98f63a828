import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoreChoice } from '../core/cache.js';
import { detectEngine } from '../engine/engine.js';
import { UserError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import type { Deps } from '../core/io.js';
import { cloudflareBytes, measured, resolveBudget, type InstanceType, type Measure } from './budget.js';
import { measureLayers, type LayerMeasure } from './compress.js';
import { measureFromStore } from './layer-store.js';
import { chooseLayerMemo } from './memo.js';
import { checkPolicy, listImageFiles } from './policy.js';
import {
  figureOf,
  isReportPath,
  readReport,
  renderComment,
  renderSummary,
  REPORT_FORMAT,
  writeReport,
  type SizeReport,
  type Violation,
} from './report.js';
import { formatBytes } from '../core/bytes.js';

export interface SizeBudgetOptions {
  image: string;
  maxSize?: number;
  measure: Measure;
  instanceType?: InstanceType;
  warnAt: number;
  baseline?: string;
  maxIncrease?: number;
  forbid: string[];
  require: string[];
  topLayers: number;
  reportPath?: string;
  cacheStore: StoreChoice;
  cacheDir: string;
}

export interface SizeBudgetResult {
  report: SizeReport;
  reportPath: string;
  summary: string;
  comment: string;
  /** One line when the step must fail (over budget, too large an increase, a policy violation). */
  failure?: string;
}

interface Inspect {
  Id: string;
  Size: number;
  RepoDigests?: string[];
  RootFS: { Layers?: string[] };
  Config?: { Env?: string[] };
  GraphDriver?: { Name?: string; Data?: Record<string, string> | null };
}

interface Measured {
  inspect: Inspect;
  uncompressedBytes: number;
  compressedBytes: number;
  compressedSource: 'computed' | 'registry';
  cloudflareBytes: number;
  layers: LayerMeasure[];
}

async function inspectImage(run: Runner, bin: string, image: string): Promise<Inspect | undefined> {
  const r = await run(bin, ['image', 'inspect', '--format', '{{json .}}', image], { silent: true });
  return r.code === 0 ? (JSON.parse(r.stdout) as Inspect) : undefined;
}

/** Layer sizes a registry holds for a pushed image (docker manifest inspect), when it answers. */
async function registryLayers(run: Runner, bin: string, inspect: Inspect): Promise<number[] | undefined> {
  for (const ref of inspect.RepoDigests ?? []) {
    // A loopback registry speaks plain HTTP; any other must verify TLS.
    const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?\//.test(ref);
    const r = await run(bin, ['manifest', 'inspect', ...(loopback ? ['--insecure'] : []), ref], {
      silent: true,
    });
    if (r.code !== 0) continue;
    try {
      const m = JSON.parse(r.stdout) as { layers?: Array<{ size: number }> };
      if (m.layers?.length === inspect.RootFS.Layers?.length) return m.layers!.map((l) => l.size);
    } catch {
      /* a manifest list or an unexpected answer: compute instead */
    }
  }
  return undefined;
}

/**
 * size-budget: measure an image three ways (uncompressed; compressed as a registry stores it;
 * Cloudflare's own gate), check it against a budget, a baseline and a file policy, and report.
 */
export async function sizeBudget(o: SizeBudgetOptions, deps: Deps): Promise<SizeBudgetResult> {
  const engine = await detectEngine(deps.run, deps.env, { probeBuildx: false });
  const memo = chooseLayerMemo(o.cacheStore, o.cacheDir, (m) => deps.log.warning(m), deps.cache, deps.env);
  const memos = await memo.load();
  const sizes = memos.sizes;

  const measure = async (image: string): Promise<Measured> => {
    const inspect = await inspectImage(deps.run, engine.bin, image);
    if (!inspect)
      throw new UserError(
        `Image ${image} is not in the local engine: build it first (build-image) or pull it.`,
      );
    const diffIds = inspect.RootFS.Layers ?? [];
    const fromRegistry = await registryLayers(deps.run, engine.bin, inspect);
    let layers: LayerMeasure[];
    if (fromRegistry) {
      layers = diffIds.map((d, i) => ({
        diffId: d,
        tarBytes: sizes.get(d)?.tarBytes ?? 0,
        compressedBytes: fromRegistry[i]!,
        source: 'registry' as const,
      }));
    } else {
      const t0 = performance.now();
      layers = await deps.log.group(`Compressing the layers of ${image}`, async () => {
        // Layers not known from earlier runs: from the layer store first (only those layers are
        // read), then docker save for any it cannot rebuild exactly.
        const unknown = new Set(diffIds.filter((d) => !sizes.has(d)));
        const store = unknown.size
          ? await measureFromStore(deps.run, engine.bin, image, inspect, unknown, { onHelper: deps.own })
          : { measured: [] };
        for (const l of store.measured)
          sizes.set(l.diffId, { tarBytes: l.tarBytes, compressedBytes: l.compressedBytes });
        if (store.fallback) deps.log.info(`Measuring the rest with docker save: ${store.fallback}.`);
        const fromStore = new Map(store.measured.map((l) => [l.diffId, l]));
        const l = (await measureLayers(engine.bin, image, diffIds, sizes, { v1: memos.v1 })).map(
          (x) => fromStore.get(x.diffId) ?? x,
        );
        const count = (source: LayerMeasure['source']) => l.filter((x) => x.source === source).length;
        deps.log.info(
          `${l.length - count('memo')} of ${l.length} layers compressed (${count('store')} read from the engine's layer store, ${count('save')} from docker save), ${count('memo')} known from earlier runs, in ${((performance.now() - t0) / 1000).toFixed(1)} s.`,
        );
        return l;
      });
      for (const l of layers)
        sizes.set(l.diffId, { tarBytes: l.tarBytes, compressedBytes: l.compressedBytes });
    }
    return {
      inspect,
      uncompressedBytes: inspect.Size,
      compressedBytes: layers.reduce((n, l) => n + l.compressedBytes, 0),
      compressedSource: fromRegistry ? 'registry' : 'computed',
      cloudflareBytes: cloudflareBytes(inspect.Size, diffIds.length),
      layers,
    };
  };

  // The history (for the largest layers) is read while the layers stream.
  const top = topLayers(deps.run, engine.bin, o.image, o.topLayers);
  const m = await measure(o.image);
  const budget = resolveBudget(o.maxSize, o.instanceType);
  const figures = {
    uncompressedBytes: m.uncompressedBytes,
    compressedBytes: m.compressedBytes,
    cloudflareBytes: m.cloudflareBytes,
    layers: m.layers.length,
  };
  const used = measured(figures, o.measure);
  const violations: Violation[] = [];
  const what = `${o.measure} size`;
  if (used > budget.bytes) {
    violations.push({
      kind: 'over-budget',
      message: `${what} ${formatBytes(used)} (${used} bytes) is over the ${formatBytes(budget.bytes)} budget from ${budget.source} by ${formatBytes(used - budget.bytes)}`,
    });
  } else if (used >= (budget.bytes * o.warnAt) / 100) {
    deps.log.warning(
      `${what} ${formatBytes(used)} is ${((used / budget.bytes) * 100).toFixed(1)}% of its ${formatBytes(budget.bytes)} budget (warn-at ${o.warnAt}%).`,
    );
  }

  let baseline: SizeReport['baseline'];
  if (o.baseline) {
    let base: number | undefined;
    if (isReportPath(o.baseline)) base = figureOf(readReport(o.baseline), o.measure);
    else {
      const exists = await inspectImage(deps.run, engine.bin, o.baseline);
      if (!exists)
        deps.log.warning(
          `Baseline image ${o.baseline} is not in the local engine: no delta (pull it, or pass a saved report).`,
        );
      else base = measured({ ...(await measure(o.baseline)), layers: 0 }, o.measure);
    }
    if (base !== undefined) {
      baseline = { image: o.baseline, bytes: base, deltaBytes: used - base };
      if (o.maxIncrease !== undefined && baseline.deltaBytes > o.maxIncrease) {
        violations.push({
          kind: 'increase',
          message: `${what} grew by ${formatBytes(baseline.deltaBytes)} against ${o.baseline}, more than max-increase ${formatBytes(o.maxIncrease)}`,
        });
      }
    }
  }

  if (o.forbid.length || o.require.length) {
    const index = await listImageFiles(deps.run, engine.bin, o.image);
    const pathDirs = (
      m.inspect.Config?.Env?.find((e) => e.startsWith('PATH='))?.slice(5) ??
      '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    ).split(':');
    const p = checkPolicy(index, pathDirs, o.forbid, o.require);
    for (const f of p.forbidden)
      violations.push({
        kind: 'forbidden',
        item: f.item,
        path: f.path,
        message: `forbidden ${f.item} is in the image at ${f.path}`,
      });
    for (const f of p.missing)
      violations.push({ kind: 'missing', item: f.item, message: `required ${f.item} is not in the image` });
  }
  await memo.save(memos);

  const report: SizeReport = {
    format: REPORT_FORMAT,
    image: o.image,
    imageId: m.inspect.Id,
    createdAt: new Date().toISOString(),
    measure: o.measure,
    uncompressedBytes: m.uncompressedBytes,
    compressedBytes: m.compressedBytes,
    compressedSource: m.compressedSource,
    cloudflareBytes: m.cloudflareBytes,
    layerCount: m.layers.length,
    budgetBytes: budget.bytes,
    budgetSource: budget.source,
    layers: m.layers.map((l) => ({
      diffId: l.diffId,
      tarBytes: l.tarBytes,
      compressedBytes: l.compressedBytes,
    })),
    topLayers: withCompressed(await top, m.layers),
    violations,
    ...(baseline ? { baseline } : {}),
  };
  const reportPath = o.reportPath || join(deps.env.RUNNER_TEMP || tmpdir(), 'slipway-size-report.json');
  writeReport(reportPath, report);
  const comment = renderComment(report);
  const failure = violations.length
    ? `Size budget failed for ${o.image}: ${violations.map((v) => v.message).join('; ')}.`
    : undefined;
  return { report, reportPath, summary: renderSummary(report), comment, failure };
}

/** The largest layers with the instruction that made them, from the image history (oldest first). */
async function topLayers(
  run: Runner,
  bin: string,
  image: string,
  n: number,
): Promise<{ entries: SizeReport['topLayers']; n: number }> {
  if (n <= 0) return { entries: [], n };
  const r = await run(
    bin,
    ['history', '--no-trunc', '--human=false', '--format', '{{.Size}}\t{{.CreatedBy}}', image],
    { silent: true },
  );
  if (r.code !== 0) return { entries: [], n };
  const entries = r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [size, ...rest] = l.split('\t');
      return { sizeBytes: Number(size), createdBy: tidy(rest.join('\t')) };
    })
    .reverse()
    .filter((e) => e.sizeBytes > 0);
  return { entries, n };
}

/**
 * When every layer has content, history entries with content line up with the layers, oldest
 * first, and carry their compressed size; otherwise (empty layers) it is left out, not guessed.
 */
function withCompressed(
  top: { entries: SizeReport['topLayers']; n: number },
  layers: LayerMeasure[],
): SizeReport['topLayers'] {
  const matched = top.entries.length === layers.length;
  return top.entries
    .map((e, i) => ({ ...e, ...(matched ? { compressedBytes: layers[i]!.compressedBytes } : {}) }))
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, top.n);
}

function tidy(createdBy: string): string {
  const s = createdBy
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    .replace(/^\|\d+ (\S+=\S* )+/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return s.length > 100 ? `${s.slice(0, 97)}…` : s;
}
