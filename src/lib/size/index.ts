import { join } from 'node:path';
import type { StoreChoice } from '../core/cache.js';
import { detectEngine } from '../engine/engine.js';
import { UserError } from '../core/errors.js';
import type { Runner } from '../core/exec.js';
import type { ActionResult, Deps, Env, Log } from '../core/io.js';
import { tempRoot } from '../core/temp.js';
import { formatBytes } from '../core/bytes.js';
import { cloudflareBytes, resolveBudget, type InstanceType, type Measure } from './budget.js';
import { measureLayers, type LayerMeasure, type Memo } from './compress.js';
import { measureFromStore } from './layer-store.js';
import { chooseLayerMemo, type Memos } from './memo.js';
import { listImageFiles, policyViolations } from './policy.js';
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

// The report file is size-budget's contract with the report action (the pull request comment).
export { COMMENT_MARKER, readReport, renderComment, type SizeReport } from './report.js';

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

/** size-budget's outputs, keyed as src/actions/size-budget/inputs.ts's OUTPUTS names them. */
export interface SizeOutputs {
  uncompressedBytes: number;
  compressedBytes: number;
  cloudflareBytes: number;
  budgetBytes: number;
  /** False only when the measured size is over the budget (other violations leave it true). */
  withinBudget: boolean;
  /** Against the baseline; empty without one. */
  deltaBytes: number | '';
  /** The violations as JSON. */
  violations: string;
  /** The report file's path. */
  report: string;
}

/**
 * The result, plus what the report action and the benches read: the report itself, where it was
 * written, and the pull request comment. `failure` is one line: over budget, too large an
 * increase, a policy violation.
 */
export type SizeBudgetResult = ActionResult<SizeOutputs> & {
  report: SizeReport;
  reportPath: string;
  comment: string;
};

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

/** What measuring an image needs: the ports, the engine's client, the layer sizes known so far. */
interface MeasureContext {
  deps: Deps;
  bin: string;
  memos: Memos;
}

type Budget = ReturnType<typeof resolveBudget>;
type TopLayers = SizeReport['topLayers'];

/**
 * size-budget: measure an image three ways (uncompressed; compressed as a registry stores it;
 * Cloudflare's own gate), check it against a budget, a baseline and a file policy, and report.
 */
export async function sizeBudget(options: SizeBudgetOptions, deps: Deps): Promise<SizeBudgetResult> {
  const engine = await detectEngine(deps.run, deps.env, { probeBuildx: false });
  const warn = (message: string) => deps.log.warning(message);
  const memo = chooseLayerMemo(options.cacheStore, options.cacheDir, warn, deps.cache, deps.env);
  const context: MeasureContext = { deps, bin: engine.bin, memos: await memo.load() };

  // The history (for the largest layers) is read while the layers stream.
  const history = readHistory(deps.run, engine.bin, options.image, options.topLayers);
  const image = await measureImage(context, options.image);
  const budget = resolveBudget(options.maxSize, options.instanceType);
  const used = figureOf(image, options.measure);
  const violations = checkBudget(used, budget, options, deps.log);
  const baseline = await compareWithBaseline(context, options, used);
  violations.push(...baseline.violations);
  violations.push(...(await checkFiles(context, options, image.inspect)));
  await memo.save(context.memos);

  const topLayers = withCompressed(await history, image.layers);
  const report = buildReport(options, image, budget, topLayers, violations, baseline.figures, deps.now());
  return finish(options, report, deps.env);
}

async function inspectImage(run: Runner, bin: string, image: string): Promise<Inspect | undefined> {
  const result = await run(bin, ['image', 'inspect', '--format', '{{json .}}', image], { silent: true });
  return result.code === 0 ? (JSON.parse(result.stdout) as Inspect) : undefined;
}

/** Layer sizes a registry holds for a pushed image (docker manifest inspect), when it answers. */
async function registryLayers(run: Runner, bin: string, inspect: Inspect): Promise<number[] | undefined> {
  for (const ref of inspect.RepoDigests ?? []) {
    // A loopback registry speaks plain HTTP; any other must verify TLS.
    const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?\//.test(ref);
    const result = await run(bin, ['manifest', 'inspect', ...(loopback ? ['--insecure'] : []), ref], {
      silent: true,
    });
    if (result.code !== 0) continue;
    try {
      const manifest = JSON.parse(result.stdout) as { layers?: Array<{ size: number }> };
      if (manifest.layers?.length === inspect.RootFS.Layers?.length)
        return manifest.layers!.map((layer) => layer.size);
    } catch {
      /* a manifest list or an unexpected answer: compute instead */
    }
  }
  return undefined;
}

/** The three figures of one image: from the registry's manifest when it was pushed, else computed. */
async function measureImage(context: MeasureContext, image: string): Promise<Measured> {
  const { deps, bin, memos } = context;
  const inspect = await inspectImage(deps.run, bin, image);
  if (!inspect)
    throw new UserError(
      `Image ${image} is not in the local engine: build it first (build-image) or pull it.`,
    );
  const diffIds = inspect.RootFS.Layers ?? [];
  const fromRegistry = await registryLayers(deps.run, bin, inspect);
  const layers = fromRegistry
    ? diffIds.map((diffId, index) => ({
        diffId,
        tarBytes: memos.sizes.get(diffId)?.tarBytes ?? 0,
        compressedBytes: fromRegistry[index]!,
        source: 'registry' as const,
      }))
    : await compressLayers(context, image, inspect);
  return {
    inspect,
    uncompressedBytes: inspect.Size,
    compressedBytes: layers.reduce((sum, layer) => sum + layer.compressedBytes, 0),
    compressedSource: fromRegistry ? 'registry' : 'computed',
    cloudflareBytes: cloudflareBytes(inspect.Size, diffIds.length),
    layers,
  };
}

/** Every layer's gzip size, computed for the layers no earlier run measured; remembered for the next. */
async function compressLayers(
  context: MeasureContext,
  image: string,
  inspect: Inspect,
): Promise<LayerMeasure[]> {
  const { log } = context.deps;
  const started = performance.now();
  const layers = await log.group(`Compressing the layers of ${image}`, async () => {
    const result = await measureUnknownLayers(context, image, inspect);
    log.info(compressedLine(result, (performance.now() - started) / 1000));
    return result;
  });
  remember(context.memos.sizes, layers);
  return layers;
}

/**
 * Layers not known from earlier runs: from the layer store first (only those layers are read),
 * then docker save for any it cannot rebuild exactly.
 */
async function measureUnknownLayers(
  context: MeasureContext,
  image: string,
  inspect: Inspect,
): Promise<LayerMeasure[]> {
  const { deps, bin, memos } = context;
  const diffIds = inspect.RootFS.Layers ?? [];
  const unknown = new Set(diffIds.filter((diffId) => !memos.sizes.has(diffId)));
  const store = unknown.size
    ? await measureFromStore(deps.run, bin, image, inspect, unknown, { own: deps.own })
    : { measured: [] };
  remember(memos.sizes, store.measured);
  if (store.fallback) deps.log.info(`Measuring the rest with docker save: ${store.fallback}.`);
  const fromStore = new Map(store.measured.map((layer) => [layer.diffId, layer]));
  // Layers read from the store are in the memo now: docker save reports them as known.
  const saved = await measureLayers(bin, image, diffIds, memos.sizes, { v1: memos.v1 });
  return saved.map((layer) => fromStore.get(layer.diffId) ?? layer);
}

function remember(sizes: Memo, layers: LayerMeasure[]): void {
  for (const layer of layers)
    sizes.set(layer.diffId, { tarBytes: layer.tarBytes, compressedBytes: layer.compressedBytes });
}

/** "2 of 11 layers compressed (1 read from the engine's layer store, 1 from docker save), …". */
function compressedLine(layers: LayerMeasure[], seconds: number): string {
  const count = (source: LayerMeasure['source']) => layers.filter((layer) => layer.source === source).length;
  return `${layers.length - count('memo')} of ${layers.length} layers compressed (${count('store')} read from the engine's layer store, ${count('save')} from docker save), ${count('memo')} known from earlier runs, in ${seconds.toFixed(1)} s.`;
}

/** Over the budget is a violation; at warn-at percent of it, a warning. */
function checkBudget(used: number, budget: Budget, options: SizeBudgetOptions, log: Log): Violation[] {
  const what = `${options.measure} size`;
  if (used > budget.bytes)
    return [
      {
        kind: 'over-budget',
        message: `${what} ${formatBytes(used)} (${used} bytes) is over the ${formatBytes(budget.bytes)} budget from ${budget.source} by ${formatBytes(used - budget.bytes)}`,
      },
    ];
  if (used >= (budget.bytes * options.warnAt) / 100)
    log.warning(
      `${what} ${formatBytes(used)} is ${((used / budget.bytes) * 100).toFixed(1)}% of its ${formatBytes(budget.bytes)} budget (warn-at ${options.warnAt}%).`,
    );
  return [];
}

/** The delta against the baseline (a saved report, or an image), and a violation past max-increase. */
async function compareWithBaseline(
  context: MeasureContext,
  options: SizeBudgetOptions,
  used: number,
): Promise<{ figures?: SizeReport['baseline']; violations: Violation[] }> {
  const bytes = options.baseline
    ? await baselineBytes(context, options.baseline, options.measure)
    : undefined;
  if (!options.baseline || bytes === undefined) return { violations: [] };
  const figures = { image: options.baseline, bytes, deltaBytes: used - bytes };
  if (options.maxIncrease === undefined || figures.deltaBytes <= options.maxIncrease)
    return { figures, violations: [] };
  const message = `${options.measure} size grew by ${formatBytes(figures.deltaBytes)} against ${options.baseline}, more than max-increase ${formatBytes(options.maxIncrease)}`;
  return { figures, violations: [{ kind: 'increase', message }] };
}

/** The baseline's figure in the chosen measure; undefined (with a warning) for an image not here. */
async function baselineBytes(
  context: MeasureContext,
  baseline: string,
  measure: Measure,
): Promise<number | undefined> {
  if (isReportPath(baseline)) return figureOf(readReport(baseline), measure);
  if (!(await inspectImage(context.deps.run, context.bin, baseline))) {
    context.deps.log.warning(
      `Baseline image ${baseline} is not in the local engine: no delta (pull it, or pass a saved report).`,
    );
    return undefined;
  }
  return figureOf(await measureImage(context, baseline), measure);
}

/** forbid and require, checked against the image's files (listed only when either is given). */
async function checkFiles(
  context: MeasureContext,
  options: SizeBudgetOptions,
  inspect: Inspect,
): Promise<Violation[]> {
  if (!options.forbid.length && !options.require.length) return [];
  const index = await listImageFiles(context.deps.run, context.bin, options.image);
  return policyViolations(index, inspect.Config?.Env, options.forbid, options.require);
}

function buildReport(
  options: SizeBudgetOptions,
  image: Measured,
  budget: Budget,
  topLayers: TopLayers,
  violations: Violation[],
  baseline: SizeReport['baseline'],
  now: Date,
): SizeReport {
  return {
    format: REPORT_FORMAT,
    image: options.image,
    imageId: image.inspect.Id,
    createdAt: now.toISOString(),
    measure: options.measure,
    uncompressedBytes: image.uncompressedBytes,
    compressedBytes: image.compressedBytes,
    compressedSource: image.compressedSource,
    cloudflareBytes: image.cloudflareBytes,
    layerCount: image.layers.length,
    budgetBytes: budget.bytes,
    budgetSource: budget.source,
    layers: image.layers.map(({ diffId, tarBytes, compressedBytes }) => ({
      diffId,
      tarBytes,
      compressedBytes,
    })),
    topLayers,
    violations,
    ...(baseline ? { baseline } : {}),
  };
}

/** Writes the report and turns it into outputs, summary, comment and the failure line. */
function finish(options: SizeBudgetOptions, report: SizeReport, env: Env): SizeBudgetResult {
  const reportPath = options.reportPath || join(tempRoot(env), 'slipway-size-report.json');
  writeReport(reportPath, report);
  const { violations } = report;
  const outputs: SizeOutputs = {
    uncompressedBytes: report.uncompressedBytes,
    compressedBytes: report.compressedBytes,
    cloudflareBytes: report.cloudflareBytes,
    budgetBytes: report.budgetBytes,
    withinBudget: !violations.some((violation) => violation.kind === 'over-budget'),
    deltaBytes: report.baseline ? report.baseline.deltaBytes : '',
    violations: JSON.stringify(violations),
    report: reportPath,
  };
  const failure = violations.length
    ? `Size budget failed for ${options.image}: ${violations.map((violation) => violation.message).join('; ')}.`
    : undefined;
  const summary = renderSummary(report);
  return {
    outputs,
    summary,
    ...(failure ? { failure } : {}),
    report,
    reportPath,
    comment: renderComment(report),
  };
}

/** The largest layers with the instruction that made them, from the image history (oldest first). */
async function readHistory(
  run: Runner,
  bin: string,
  image: string,
  count: number,
): Promise<{ entries: TopLayers; count: number }> {
  if (count <= 0) return { entries: [], count };
  const result = await run(
    bin,
    ['history', '--no-trunc', '--human=false', '--format', '{{.Size}}\t{{.CreatedBy}}', image],
    { silent: true },
  );
  if (result.code !== 0) return { entries: [], count };
  const entries = result.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [size, ...createdBy] = line.split('\t');
      return { sizeBytes: Number(size), createdBy: tidy(createdBy.join('\t')) };
    })
    .reverse()
    .filter((entry) => entry.sizeBytes > 0);
  return { entries, count };
}

/**
 * When every layer has content, history entries with content line up with the layers, oldest
 * first, and carry their compressed size; otherwise (empty layers) it is left out, not guessed.
 */
function withCompressed(history: { entries: TopLayers; count: number }, layers: LayerMeasure[]): TopLayers {
  const matched = history.entries.length === layers.length;
  return history.entries
    .map((entry, index) => ({
      ...entry,
      ...(matched ? { compressedBytes: layers[index]!.compressedBytes } : {}),
    }))
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, history.count);
}

/** A history line as the instruction reads in a Dockerfile, at most 100 characters. */
function tidy(createdBy: string): string {
  const instruction = createdBy
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    .replace(/^\|\d+ (\S+=\S* )+/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return instruction.length > 100 ? `${instruction.slice(0, 97)}…` : instruction;
}
