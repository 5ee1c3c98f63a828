import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NO_CACHE_SERVICE, storeKind, type StoreChoice } from '../core/cache.js';
import type { CacheService, Env } from '../core/io.js';
import { tempRoot } from '../core/temp.js';
import type { Memo, V1Map } from './compress.js';

/** Bump when the compressor (level, chunking) changes: old figures are then not reused. */
const FORMAT = 'slipway-layer-sizes/1 gzip-6 chunk-1MiB';
const PREFIX = 'slipway-layer-sizes-';

interface MemoFile {
  format: string;
  layers: Record<string, { tarBytes: number; compressedBytes: number }>;
  v1?: Record<string, string>;
}

/** Sizes by diff id, and legacy docker save directories (v1 ids) by the diff id they hold. */
export interface Memos {
  sizes: Memo;
  v1: V1Map;
}

const empty = (): Memos => ({ sizes: new Map(), v1: new Map() });

function parse(text: string): Memos {
  const file = JSON.parse(text) as MemoFile;
  if (file.format !== FORMAT || typeof file.layers !== 'object') return empty();
  return { sizes: new Map(Object.entries(file.layers)), v1: new Map(Object.entries(file.v1 ?? {})) };
}

const sorted = <T>(m: Map<string, T>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));

function serialise(memos: Memos): string {
  return JSON.stringify({ format: FORMAT, layers: sorted(memos.sizes), v1: sorted(memos.v1) });
}

/**
 * Compressed layer sizes by diff id, kept in the same store build-image uses: a JSON file in the
 * local store directory, or an entry of the Actions cache (the newest one is restored by prefix).
 * Faults warn through `warn` and leave an empty memo: measuring never fails because of them.
 */
export class LayerMemo {
  private loaded = '';
  /** `cache` set: the memo file is also restored from and saved to the Actions cache. */
  constructor(
    private readonly dir: string,
    private readonly warn: (m: string) => void,
    private readonly cache?: CacheService | 'missing',
  ) {}

  private service(): CacheService | undefined {
    if (this.cache === 'missing') throw new Error(NO_CACHE_SERVICE);
    return this.cache;
  }

  private get file(): string {
    return join(this.dir, 'layer-sizes.json');
  }

  async load(): Promise<Memos> {
    try {
      await this.service()?.restore(this.file, `${PREFIX}${Date.now()}`, [PREFIX]);
      if (!existsSync(this.file)) return { sizes: new Map(), v1: new Map() };
      const text = readFileSync(this.file, 'utf8');
      const memo = parse(text);
      this.loaded = serialise(memo);
      return memo;
    } catch (err) {
      this.warn(`layer size memo unreadable (${(err as Error).message}); compressing every layer`);
      return { sizes: new Map(), v1: new Map() };
    }
  }

  async save(memo: Memos): Promise<void> {
    const text = serialise(memo);
    if (text === this.loaded) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp-${process.pid}`;
      writeFileSync(tmp, text);
      renameSync(tmp, this.file);
      const service = this.service();
      if (service) {
        const key = `${PREFIX}${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
        await service.save(this.file, key);
      }
    } catch (err) {
      this.warn(`layer size memo not saved (${(err as Error).message}); the next run compresses again`);
    }
  }
}

export function chooseLayerMemo(
  choice: StoreChoice,
  cacheDir: string,
  warn: (m: string) => void,
  cache: CacheService | undefined,
  env: Env,
): LayerMemo {
  if (storeKind(choice, cache) === 'local') return new LayerMemo(cacheDir, warn);
  return new LayerMemo(join(tempRoot(env), 'slipway-layer-memo'), warn, cache ?? 'missing');
}
