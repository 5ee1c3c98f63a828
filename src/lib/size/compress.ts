import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { constants, deflateRaw } from 'node:zlib';
import * as tar from 'tar-stream';

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
    await new Promise<void>((r) => this.waiting.push(r));
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
  const v1 = opts.v1 ?? new Map<string, string>();
  const fromMemo = (d: string): LayerMeasure => ({ diffId: d, ...memo.get(d)!, source: 'memo' });
  const needed = new Set(diffIds.filter((d) => !memo.has(d)));
  if (needed.size === 0) return diffIds.map(fromMemo);
  const slots = compressionSlots(opts);
  const wanted = new Set(diffIds);
  const found = new Map<string, LayerMeasure>();
  let refuted = false;

  const child = spawn(bin, ['save', image], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  const extract = tar.extract();
  child.stdout.pipe(extract);
  let stoppedEarly = false;

  for await (const entry of extract) {
    const name = entry.header.name;
    const oci = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
    const legacyDir = /^([0-9a-f]{64})\/layer\.tar$/.exec(name)?.[1];
    const named =
      oci && wanted.has(`sha256:${oci[1]}`)
        ? `sha256:${oci[1]}`
        : legacyDir && v1.has(legacyDir)
          ? v1.get(legacyDir)
          : undefined;
    const legacy = !named && /(^|\/)layer\.tar$/.test(name) && entry.header.type === 'file';
    if ((!named && !legacy) || (named && memo.has(named))) {
      entry.resume(); // not a layer, or a known one: tar-stream moves on once it is drained
      continue;
    }
    const size = entry.header.size ?? 0;
    // Without a name, a memoised layer of this image with exactly this tar size is the candidate.
    const guess = !named && diffIds.some((d) => !found.has(d) && memo.get(d)?.tarBytes === size);
    const hash = named ? undefined : createHash('sha256');
    const sizer = guess ? undefined : new ParallelGzipSizer(slots, opts);
    let tarBytes = 0;
    for await (const data of entry as unknown as AsyncIterable<Buffer>) {
      tarBytes += data.length;
      hash?.update(data);
      if (sizer) await sizer.write(data);
    }
    const id = named ?? `sha256:${hash!.digest('hex')}`;
    if (legacyDir) v1.set(legacyDir, id);
    if (!wanted.has(id)) continue; // a layer of another image in the same save: not ours
    if (sizer) found.set(id, { diffId: id, tarBytes, compressedBytes: await sizer.end(), source: 'save' });
    else if (memo.has(id)) found.set(id, fromMemo(id));
    else refuted = true;
    needed.delete(id);
    if (needed.size === 0 && !refuted) {
      // Every unknown layer is measured: the rest of the stream holds only known layers.
      stoppedEarly = true;
      child.kill('SIGTERM');
      extract.destroy();
      break;
    }
  }
  const code = await exited;
  if (code !== 0 && !stoppedEarly)
    throw new Error(`${bin} save ${image} failed: ${stderr.trim().split('\n').pop()}`);
  if (refuted) return measureLayers(bin, image, diffIds, new Map(), opts);
  return diffIds.map((d) => {
    const m = found.get(d) ?? (memo.has(d) ? fromMemo(d) : undefined);
    if (!m) throw new Error(`layer ${d} of ${image} was not in the docker save output`);
    return m;
  });
}
