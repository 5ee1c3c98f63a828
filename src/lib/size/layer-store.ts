import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { ownedContainer } from '../engine/owned.js';
import { childEnv, type Runner } from '../core/exec.js';
import type { Deps } from '../core/io.js';
import { lastLine } from '../core/text.js';
import {
  compressionSlots,
  ParallelGzipSizer,
  type CompressOptions,
  type LayerMeasure,
  type Slots,
  type TarEntry,
} from './compress.js';

export type { TarEntry };

/**
 * Reading a layer's tar straight from the engine's layer store, without `docker save`.
 *
 * The engine keeps, for every layer, the files of the layer (overlay2: its `diff` directory) and a
 * tar-split record: the tar's header and padding bytes, and the names and sizes of the file bodies
 * between them. `docker save` rebuilds each layer.tar from exactly these two. Legacy save (the
 * graph-driver store) does that for every layer into a temporary directory before it sends its
 * first byte, so one changed layer costs a whole save; this rebuilds only the layers asked for.
 *
 * Both parts are read through the engine (a never-started helper container with the two paths
 * bind-mounted read-only, then `docker cp`), so it works wherever the engine runs and needs no
 * access to its directories. The rebuilt bytes are hashed as they stream: a layer counts only if
 * its sha256 is its diff id, i.e. it is byte for byte the layer.tar docker save would have sent.
 * Anything else (another storage driver, files in an order the record does not follow, a digest
 * that differs) returns a reason, and the caller falls back to docker save.
 */

/** One record of a tar-split stream: raw tar bytes, or the body of a file read from the layer. */
export type TarSplitEntry = { kind: 'segment'; bytes: Buffer } | { kind: 'file'; name: string; size: number };

/** Why a layer could not be rebuilt from the store; the caller measures it with docker save. */
export class StoreMismatch extends Error {}

/** Parses one line of a tar-split JSON stream (type 1: a file body, type 2: a raw segment). */
export function parseTarSplitLine(line: string): TarSplitEntry {
  const record = JSON.parse(line) as {
    type: number;
    name?: string;
    name_raw?: string;
    size?: number;
    payload?: string;
  };
  if (record.type === 2) return { kind: 'segment', bytes: Buffer.from(record.payload ?? '', 'base64') };
  if (record.type === 1) {
    const name =
      record.name ?? (record.name_raw ? Buffer.from(record.name_raw, 'base64').toString('utf8') : '');
    return { kind: 'file', name, size: record.size ?? 0 };
  }
  throw new StoreMismatch(`unknown tar-split entry type ${record.type}`);
}

/** Lines of a byte stream, read as it is pulled (so a slow consumer holds the producer back). */
async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of chunks) {
    rest += decoder.write(chunk);
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n', start)) {
      if (nl > start) yield rest.slice(start, nl);
      start = nl + 1;
    }
    rest = rest.slice(start);
  }
  rest += decoder.end();
  if (rest) yield rest;
}

/** The entries of a gzipped tar-split record, parsed as they are pulled. */
export async function* tarSplitEntries(
  gzipped: Iterable<Buffer> | AsyncIterable<Buffer>,
): AsyncGenerator<TarSplitEntry> {
  // pipeline, not pipe: a source that fails mid-stream fails the read instead of leaving it waiting.
  const gunzip = pipeline(Readable.from(gzipped), createGunzip(), () => undefined);
  for await (const line of lines(gunzip)) yield parseTarSplitLine(line);
}

/** `./app/x` (docker cp) and `app/x` (the record) name the same file. */
const clean = (name: string) => posix.normalize(name).replace(/^\.\/|\/$/g, '');

/**
 * Rebuilds a layer tar: every segment as recorded, and for every file body the next non-empty
 * regular file of `files` (a tar of the layer's directory, in the engine's walk order), which must
 * carry the recorded name and size. Returns the number of bytes written.
 */
export async function reassemble(
  record: AsyncIterable<TarSplitEntry>,
  files: AsyncIterator<TarEntry>,
  write: (b: Buffer) => Promise<void> | void,
): Promise<number> {
  let bytes = 0;
  const emit = async (b: Buffer) => {
    bytes += b.length;
    await write(b);
  };
  for await (const recorded of record) {
    if (recorded.kind === 'segment') {
      await emit(recorded.bytes);
      continue;
    }
    if (recorded.size === 0) continue; // directories, links, whiteouts, empty files: all in the segments
    let entry: TarEntry | undefined;
    for (;;) {
      const next = await files.next();
      if (next.done) throw new StoreMismatch(`the layer's files end before ${recorded.name}`);
      if (next.value.header.type === 'file' && (next.value.header.size ?? 0) > 0) {
        entry = next.value;
        break;
      }
      next.value.resume();
    }
    const { name, size } = entry.header;
    if (clean(name) !== clean(recorded.name))
      throw new StoreMismatch(
        `the layer's files are not in the recorded order (${name} where ${recorded.name} was recorded)`,
      );
    if (size !== recorded.size)
      throw new StoreMismatch(`${recorded.name} is ${size} bytes, recorded as ${recorded.size}`);
    for await (const data of entry as AsyncIterable<Buffer>) await emit(data);
  }
  return bytes;
}

interface ImageInspect {
  RootFS: { Layers?: string[] };
  GraphDriver?: { Name?: string; Data?: Record<string, string> | null };
}

export interface StoreLayer {
  /** Index in RootFS.Layers (bottom first). */
  index: number;
  diffId: string;
  /** The layer's own files (overlay2: its diff directory). */
  dir: string;
  /** The layer's record directory in the layer database (holds tar-split.json.gz). */
  meta: string;
}

/** Chain ids of a layer stack: the layer database names each layer by its chain, not its diff. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const below = out.at(-1);
    out.push(below ? `sha256:${createHash('sha256').update(`${below} ${diffId}`).digest('hex')}` : diffId);
  }
  return out;
}

/**
 * Where each layer's files and record live, from the image's GraphDriver data (overlay2 lists the
 * lower directories top first, then the upper one), or why the store cannot be read.
 */
export function locateLayers(inspect: ImageInspect, dataRoot: string): StoreLayer[] | string {
  const driver = inspect.GraphDriver?.Name ?? 'unknown';
  const data = inspect.GraphDriver?.Data ?? {};
  if (driver !== 'overlay2' || !data.UpperDir)
    return `the engine's storage driver is ${driver}, not overlay2`;
  const diffIds = inspect.RootFS.Layers ?? [];
  const dirs = [...(data.LowerDir ? data.LowerDir.split(':').reverse() : []), data.UpperDir];
  if (dirs.length !== diffIds.length)
    return `the storage driver lists ${dirs.length} directories for ${diffIds.length} layers`;
  const chains = chainIds(diffIds);
  return diffIds.map((diffId, index) => ({
    index,
    diffId,
    dir: dirs[index]!,
    meta: posix.join(dataRoot, 'image', driver, 'layerdb', 'sha256', chains[index]!.slice('sha256:'.length)),
  }));
}

/** Copies streaming now: a cancelled run stops them before it removes their container. */
const copying = new Set<ChildProcess>();

/** `docker cp <container>:<path> -` as tar entries, read as they are pulled. */
class CopyOut {
  readonly entries: AsyncIterator<TarEntry>;
  private readonly child: ChildProcess;
  private readonly extract: tar.Extract;
  private readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(bin: string, from: string) {
    this.child = spawn(bin, ['cp', from, '-'], { env: childEnv({}, bin), stdio: ['ignore', 'pipe', 'pipe'] });
    copying.add(this.child);
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise<number | null>((resolve) => {
      this.child.on('error', () => resolve(-1));
      this.child.on('exit', (code) => resolve(code));
    }).finally(() => copying.delete(this.child));
    this.extract = tar.extract();
    this.child.stdout!.pipe(this.extract);
    // Entry bodies are Buffers (no encoding is set on the extract).
    this.entries = this.extract[Symbol.asyncIterator]() as AsyncIterator<TarEntry>;
  }

  /** Stops the copy (it may be mid-stream) and says why it failed, if it failed on its own. */
  async close(): Promise<string | undefined> {
    const done = this.child.exitCode !== null;
    this.child.stdout!.unpipe(this.extract);
    this.extract.destroy();
    this.child.stdout!.destroy();
    if (!done) this.child.kill('SIGTERM');
    const code = await this.exited;
    if (!done || code === 0) return undefined;
    return lastLine(this.stderr) || `docker cp exited with ${code}`;
  }
}

export interface StoreResult {
  measured: LayerMeasure[];
  /** Set when some layers asked for were not read from the store: why. */
  fallback?: string;
}

/**
 * Measures `wanted` layers of `image` (top first) from the layer store, stopping at the first one
 * that cannot be rebuilt exactly. The helper container is removed before this returns, and `own`
 * is told of it while it exists so a cancelled run can remove it too.
 */
export async function measureFromStore(
  run: Runner,
  bin: string,
  image: string,
  inspect: ImageInspect,
  wanted: Set<string>,
  opts: CompressOptions & { own?: Deps['own'] } = {},
): Promise<StoreResult> {
  const layers = await wantedLayers(run, bin, inspect, wanted);
  if (typeof layers === 'string') return { measured: [], fallback: layers };
  if (!layers.length) return { measured: [] };
  const name = `slipway-size-${process.pid}-${randomBytes(4).toString('hex')}`;
  const created = await createHelper(run, bin, image, name, layers);
  if (created) return { measured: [], fallback: `no helper container (${created})` };
  opts.own?.(
    ownedContainer(bin, name, () => {
      for (const child of copying) child.kill('SIGKILL');
    }),
  );
  try {
    return await measureThroughHelper(bin, name, layers, { ...opts, slots: compressionSlots(opts) });
  } finally {
    await run(bin, ['rm', '-f', '-v', name], { silent: true });
    opts.own?.(undefined);
  }
}

/** The store locations of the wanted layers, top first, or why the store cannot be read. */
async function wantedLayers(
  run: Runner,
  bin: string,
  inspect: ImageInspect,
  wanted: Set<string>,
): Promise<StoreLayer[] | string> {
  const info = await run(bin, ['info', '--format', '{{.DockerRootDir}}'], { silent: true });
  if (info.code !== 0 || !info.stdout.trim()) return 'the engine did not say where it keeps its data';
  const located = locateLayers(inspect, info.stdout.trim());
  if (typeof located === 'string') return located;
  return located.filter((layer) => wanted.has(layer.diffId)).reverse();
}

/**
 * A never-started container of the image with each layer's files and record mounted read-only:
 * `docker cp` reads them through the engine. Returns why it could not be made, if it could not.
 */
async function createHelper(
  run: Runner,
  bin: string,
  image: string,
  name: string,
  layers: StoreLayer[],
): Promise<string | undefined> {
  const mounts = layers.flatMap((layer) => [
    '-v',
    `${layer.dir}:/slipway/layer/${layer.index}:ro`,
    '-v',
    `${layer.meta}:/slipway/meta/${layer.index}:ro`,
  ]);
  // The second label names the image measured, so a check for leftovers can tell one run's helper
  // from another's when several measure at once.
  const labels = ['--label', 'slipway.size-budget=helper', '--label', `slipway.size-budget.image=${image}`];
  const flags = [...labels, '--network', 'none'];
  const entrypoint = ['--entrypoint', '/slipway-never-started'];
  const created = await run(bin, ['create', '--name', name, ...flags, ...mounts, ...entrypoint, image], {
    silent: true,
  });
  return created.code === 0 ? undefined : lastLine(created.stderr);
}

/** Each layer in turn, until one cannot be rebuilt exactly (then the reason is the fallback). */
async function measureThroughHelper(
  bin: string,
  container: string,
  layers: StoreLayer[],
  opts: CompressOptions & { slots: Slots },
): Promise<StoreResult> {
  const measured: LayerMeasure[] = [];
  // One copy at a time: the engine holds the container while it streams a copy out of it.
  const records = await readRecords(bin, container);
  if (typeof records === 'string') return { measured, fallback: records };
  for (const layer of layers) {
    const why = await measureOne(bin, container, layer, records.get(layer.index), opts).then(
      (result) => {
        measured.push(result);
        return undefined;
      },
      (err: Error) => (err instanceof StoreMismatch ? err.message : `reading it failed: ${err.message}`),
    );
    if (why) return { measured, fallback: `layer ${layer.index + 1} (${layer.diffId.slice(7, 19)}): ${why}` };
  }
  return { measured };
}

/** Every mounted layer's tar-split record (gzipped, as stored: small), by layer index. */
async function readRecords(bin: string, container: string): Promise<Map<number, Buffer> | string> {
  const copy = new CopyOut(bin, `${container}:/slipway/meta/.`);
  const records = new Map<number, Buffer>();
  try {
    for (let next = await copy.entries.next(); !next.done; next = await copy.entries.next()) {
      const index = /^(?:\.\/)?(\d+)\/tar-split\.json\.gz$/.exec(next.value.header.name)?.[1];
      if (!index) {
        next.value.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of next.value) chunks.push(chunk);
      records.set(Number(index), Buffer.concat(chunks));
    }
  } catch (err) {
    return `the layer records could not be read (${(await copy.close()) ?? (err as Error).message})`;
  }
  const why = await copy.close();
  return why ? `the layer records could not be read (${why})` : records;
}

async function measureOne(
  bin: string,
  container: string,
  layer: StoreLayer,
  record: Buffer | undefined,
  opts: CompressOptions & { slots: Slots },
): Promise<LayerMeasure> {
  if (!record) throw new StoreMismatch('it has no tar-split record');
  const files = new CopyOut(bin, `${container}:/slipway/layer/${layer.index}/.`);
  let measured: LayerMeasure;
  try {
    const hash = createHash('sha256');
    const sizer = new ParallelGzipSizer(opts.slots, opts);
    const tarBytes = await reassemble(tarSplitEntries([record]), files.entries, async (b) => {
      hash.update(b);
      await sizer.write(b);
    });
    const compressedBytes = await sizer.end();
    const digest = `sha256:${hash.digest('hex')}`;
    if (digest !== layer.diffId) throw new StoreMismatch(`the rebuilt tar is ${digest}, not its diff id`);
    measured = { diffId: layer.diffId, tarBytes, compressedBytes, source: 'store' };
  } catch (err) {
    // A copy that failed on its own (a path the engine cannot read) is the better reason.
    const why = await files.close();
    throw why ? new StoreMismatch(`docker cp failed: ${why}`) : err;
  }
  await files.close();
  return measured;
}
