import { childEnv } from '../core/exec.js';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { constants, deflateRaw } from 'node:zlib';
import * as tar from 'tar-stream';
import { lastLine } from '../core/text.js';

const deflateRawAsync = promisify(deflateRaw) as (buf: Buffer, opts: object) => Promise<Buffer>;

/** gzip header (10 bytes) and trailer (CRC32 + length, 8 bytes) around the deflate data. */
const GZIP_FRAMING = 18;
const WINDOW = 32 * 1024;

/** A counting semaphore: at most `n` chunks are being compressed (and held in memory) at once. */
export class Slots {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** Chunks compressed at once across all layers: the machine's cores unless told. */
export const compressionSlots = (opts: CompressOptions): Slots =>
  new Slots(opts.concurrency ?? Math.max(2, availableParallelism()));

export interface CompressOptions {
  level?: number;
  chunkBytes?: number;
  /** Chunks compressed at once across all layers (default: the machine's cores). */
  concurrency?: number;
}

/**
 * The gzip size of a stream, compressed in parallel chunks on the zlib thread pool, pigz-style: each
 * chunk is deflated with the previous 32 KiB as its dictionary and ends on a sync flush, so the total
 * is within a fraction of a percent of one gzip stream. Memory is bounded by chunkBytes × concurrency.
 */
export class ParallelGzipSizer {
  private readonly level: number;
  private readonly chunkBytes: number;
  private buf: Buffer;
  private fill = 0;
  private prevTail: Buffer | undefined;
  private deflated = 0;
  private readonly pending: Array<Promise<void>> = [];
  bytesIn = 0;

  constructor(
    private readonly slots: Slots,
    opts: CompressOptions,
  ) {
    this.level = opts.level ?? 6;
    this.chunkBytes = opts.chunkBytes ?? 1024 * 1024;
    this.buf = Buffer.allocUnsafe(this.chunkBytes);
  }

  async write(data: Buffer): Promise<void> {
    this.bytesIn += data.length;
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, this.chunkBytes - this.fill);
      data.copy(this.buf, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === this.chunkBytes) await this.dispatch(false);
    }
  }

  private async dispatch(last: boolean): Promise<void> {
    const chunk = this.buf.subarray(0, this.fill);
    const dictionary = this.prevTail;
    this.prevTail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - WINDOW)));
    await this.slots.take();
    const job = deflateRawAsync(chunk, {
      level: this.level,
      ...(dictionary ? { dictionary } : {}),
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    })
      .then((out) => {
        this.deflated += out.length;
      })
      .finally(() => this.slots.give());
    this.pending.push(job);
    this.buf = Buffer.allocUnsafe(this.chunkBytes);
    this.fill = 0;
  }

  /** Finishes the stream and returns its gzip size in bytes. */
  async end(): Promise<number> {
    await this.dispatch(true);
    await Promise.all(this.pending);
    return GZIP_FRAMING + this.deflated;
  }
}

export interface LayerMeasure {
  diffId: string;
  /** Size of the uncompressed layer tar. */
  tarBytes: number;
  /** Its gzip size (as a registry stores the layer). */
  compressedBytes: number;
  /**
   * Where the figure came from: the memo of earlier runs, `docker save`, the engine's layer store
   * (rebuilt and verified against the diff id), or a registry manifest.
   */
  source: 'memo' | 'save' | 'store' | 'registry';
}

export type Memo = Map<string, { tarBytes: number; compressedBytes: number }>;
/** Legacy `docker save` directory (v1 id) → the diff id of its layer.tar, learnt on earlier runs. */
export type V1Map = Map<string, string>;

/** An entry of a tar being extracted: its header, and its body as a stream. */
export type TarEntry = AsyncIterable<Buffer> & { header: tar.Header; resume(): unknown };

/** What a pass over `docker save` knows and finds. */
interface SaveScan {
  diffIds: string[];
  wanted: Set<string>;
  memo: Memo;
  v1: V1Map;
  found: Map<string, LayerMeasure>;
  slots: Slots;
  opts: CompressOptions;
  /** A memo guess the hash refuted: the pass is repeated without the memo. */
  refuted: boolean;
}

const fromMemo = (memo: Memo, diffId: string): LayerMeasure => ({
  diffId,
  ...memo.get(diffId)!,
  source: 'memo',
});

/**
 * Compressed size of every layer of an image, by streaming `docker save` and stopping as soon as
 * every layer not in the memo has been measured. In the OCI layout (Docker 25+) a layer is named
 * by its diff id. In the legacy layout (<v1 id>/layer.tar, sorted by name, not in RootFS order)
 * a directory learnt on an earlier run (v1 ids below the top layer derive from the layer chain) is
 * known without reading it; otherwise its tar size, read from the header, says whether it can be a
 * memoised layer: then it is only hashed (the hash confirms it), else hashed and compressed. A
 * memo guess the hash refutes (two layers of the same size) costs a second pass without the memo.
 */
export async function measureLayers(
  bin: string,
  image: string,
  diffIds: string[],
  memo: Memo,
  opts: CompressOptions & { v1?: V1Map } = {},
): Promise<LayerMeasure[]> {
  const needed = new Set(diffIds.filter((diffId) => !memo.has(diffId)));
  if (needed.size === 0) return diffIds.map((diffId) => fromMemo(memo, diffId));
  const scan: SaveScan = {
    diffIds,
    wanted: new Set(diffIds),
    memo,
    v1: opts.v1 ?? new Map<string, string>(),
    found: new Map(),
    slots: compressionSlots(opts),
    opts,
    refuted: false,
  };
  const save = startSave(bin, image);
  let stoppedEarly = false;
  for await (const entry of save.entries) {
    // Entry bodies are Buffers (no encoding is set on the extract).
    const diffId = await readSaveEntry(entry as unknown as TarEntry, scan);
    if (diffId) needed.delete(diffId);
    if (diffId && needed.size === 0 && !scan.refuted) {
      // Every unknown layer is measured: the rest of the stream holds only known layers.
      stoppedEarly = true;
      save.stop();
      break;
    }
  }
  const code = await save.exited;
  if (code !== 0 && !stoppedEarly) throw new Error(`${bin} save ${image} failed: ${lastLine(save.stderr())}`);
  if (scan.refuted) return measureLayers(bin, image, diffIds, new Map(), opts);
  return diffIds.map((diffId) => {
    const layer = scan.found.get(diffId) ?? (memo.has(diffId) ? fromMemo(memo, diffId) : undefined);
    if (!layer) throw new Error(`layer ${diffId} of ${image} was not in the docker save output`);
    return layer;
  });
}

/** `docker save` as tar entries read as they are pulled, its exit code, and a way to stop it early. */
function startSave(bin: string, image: string) {
  const child = spawn(bin, ['save', image], { env: childEnv({}, bin), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  const entries = tar.extract();
  child.stdout.pipe(entries);
  const stop = () => {
    child.kill('SIGTERM');
    entries.destroy();
  };
  return { entries, exited, stderr: () => stderr, stop };
}

/** The diff id a save entry is known to hold: an OCI blob of this image, or a legacy directory learnt before. */
function knownLayer(name: string, scan: SaveScan): string | undefined {
  const oci = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name)?.[1];
  if (oci && scan.wanted.has(`sha256:${oci}`)) return `sha256:${oci}`;
  const legacyDir = legacyDirOf(name);
  return legacyDir ? scan.v1.get(legacyDir) : undefined;
}

const legacyDirOf = (name: string) => /^([0-9a-f]{64})\/layer\.tar$/.exec(name)?.[1];

/**
 * Reads one entry of the save: a layer of this image not in the memo is measured (or, a legacy
 * layer of a memoised size, only hashed to confirm it). Returns the diff id of a layer of this
 * image it read, else undefined (not a layer, a known one, another image's).
 */
async function readSaveEntry(entry: TarEntry, scan: SaveScan): Promise<string | undefined> {
  const { name, type, size = 0 } = entry.header;
  const named = knownLayer(name, scan);
  const legacy = !named && /(^|\/)layer\.tar$/.test(name) && type === 'file';
  if ((!named && !legacy) || (named && scan.memo.has(named))) {
    entry.resume(); // not a layer, or a known one: tar-stream moves on once it is drained
    return undefined;
  }
  // Without a name, a memoised layer of this image with exactly this tar size is the candidate.
  const guess =
    !named &&
    scan.diffIds.some((diffId) => !scan.found.has(diffId) && scan.memo.get(diffId)?.tarBytes === size);
  const sizer = guess ? undefined : new ParallelGzipSizer(scan.slots, scan.opts);
  const read = await readLayerTar(entry, !named, sizer);
  const diffId = named ?? read.digest!;
  const legacyDir = legacyDirOf(name);
  if (legacyDir) scan.v1.set(legacyDir, diffId);
  if (!scan.wanted.has(diffId)) return undefined; // a layer of another image in the same save: not ours
  if (sizer)
    scan.found.set(diffId, {
      diffId,
      tarBytes: read.tarBytes,
      compressedBytes: await sizer.end(),
      source: 'save',
    });
  else if (scan.memo.has(diffId)) scan.found.set(diffId, fromMemo(scan.memo, diffId));
  else scan.refuted = true;
  return diffId;
}

/** Streams a layer tar through the hash (when asked) and the sizer (when given). */
async function readLayerTar(
  entry: AsyncIterable<Buffer>,
  hashIt: boolean,
  sizer: ParallelGzipSizer | undefined,
): Promise<{ tarBytes: number; digest?: string }> {
  const hash = hashIt ? createHash('sha256') : undefined;
  let tarBytes = 0;
  for await (const data of entry) {
    tarBytes += data.length;
    hash?.update(data);
    if (sizer) await sizer.write(data);
  }
  return { tarBytes, ...(hash ? { digest: `sha256:${hash.digest('hex')}` } : {}) };
}
