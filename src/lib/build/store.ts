import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { NO_CACHE_SERVICE, stageStoreKind, type StageStoreChoice } from '../core/cache.js';
import type { CacheService, Env } from '../core/io.js';
import { tempRoot } from '../core/temp.js';
import { RegistryStore, type RegistryStoreOptions } from './registry-store.js';

/**
 * Where stage artifacts live between builds. An entry is one archive file per key. Callers treat
 * every fault as a warning: a store never fails a build.
 */
export interface StageStore {
  readonly kind: 'local' | 'actions' | 'registry';
  /** Where the store is, for messages. */
  readonly location: string;
  /** Set when this run only reads the store (a pull request and the registry store): why. */
  readonly readOnly?: string;
  /** The archive for a key, or undefined on a miss. Throws CorruptEntryError for an entry that fails its check. */
  restore(key: string): Promise<string | undefined>;
  /** Stores an archive under a key (of the named stage); an existing entry for the key is kept. */
  save(key: string, archive: string, stage?: string): Promise<void>;
  /** Drops an entry found corrupt (best effort). */
  evict(key: string): Promise<void>;
  /** What moved for a key in this run, for stores across a network (the registry). */
  transfer?(key: string): StoreTransfer | undefined;
}

/** Bytes moved for one entry and the manifest that names it (the registry store). */
export interface StoreTransfer {
  pulled?: number;
  pushed?: number;
  /** The digest of the entry's manifest. */
  manifest?: string;
}

/** An entry whose content is not what it claims (a digest mismatch): refused, and the stage is built. */
export class CorruptEntryError extends Error {
  override readonly name = 'CorruptEntryError';
}

/**
 * A directory of `<key>.tar.gz` files; writes go to a temporary name and are renamed into place.
 * A restore marks the entry used; after a save only the `keep` most recently used entries of that
 * stage stay, so the directory does not grow without bound.
 */
export class LocalStore implements StageStore {
  readonly kind = 'local';
  constructor(
    readonly location: string,
    readonly keep = 3,
  ) {}

  private path(key: string): string {
    return join(this.location, `${key}.tar.gz`);
  }

  async restore(key: string): Promise<string | undefined> {
    const archive = this.path(key);
    if (!existsSync(archive) || !statSync(archive).isFile()) return undefined;
    const now = new Date();
    utimesSync(archive, now, now);
    return archive;
  }

  async save(key: string, archive: string): Promise<void> {
    const dest = this.path(key);
    if (existsSync(dest)) return;
    mkdirSync(this.location, { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
    try {
      copyFileSync(archive, tmp);
      renameSync(tmp, dest);
    } finally {
      rmSync(tmp, { force: true });
    }
    this.prune(key);
  }

  /** Drops all but the newest `keep` entries of the key's stage (keys end in -<hash>). */
  private prune(key: string): void {
    const prefix = key.replace(/-[0-9a-f]+$/, '-');
    const siblings = readdirSync(this.location)
      .filter((file) => file.startsWith(prefix) && /^[0-9a-f]+\.tar\.gz$/.test(file.slice(prefix.length)))
      .map((file) => ({ file, used: statSync(join(this.location, file)).mtimeMs }))
      .sort((a, b) => b.used - a.used);
    for (const { file } of siblings.slice(this.keep)) rmSync(join(this.location, file), { force: true });
  }

  async evict(key: string): Promise<void> {
    rmSync(this.path(key), { force: true });
  }
}

/** The Actions cache service, through the cache port. Entries are immutable; eviction is left to GitHub. */
export class ActionsStore implements StageStore {
  readonly kind = 'actions';
  readonly location = 'GitHub Actions cache';
  private readonly dir: string;

  constructor(
    private readonly cache: CacheService,
    env: Env,
  ) {
    // The Actions cache restores to the path it saved from, and its version hashes that path: keep
    // it the same across runs (RUNNER_TEMP is one path on every run of a hosted runner).
    this.dir = join(tempRoot(env), 'slipway-stage-cache');
  }

  private path(key: string): string {
    return join(this.dir, `${key}.tar.gz`);
  }

  /**
   * The newest entry saved for the key. GitHub's entries are immutable and one that is read stays
   * (eviction is of entries unused for 7 days), so each save is `<key>-<time>` and the restore takes
   * the newest by prefix: an entry that would not restore is replaced by the rebuild's save, not hit
   * again on every run.
   */
  async restore(key: string): Promise<string | undefined> {
    const archive = this.path(key);
    mkdirSync(dirname(archive), { recursive: true });
    const hit = await this.cache.restore(archive, key, [`${key}-`]);
    return hit && existsSync(archive) ? archive : undefined;
  }

  async save(key: string, archive: string): Promise<void> {
    const stored = this.path(key);
    if (archive !== stored) {
      mkdirSync(dirname(stored), { recursive: true });
      copyFileSync(archive, stored);
    }
    await this.cache.save(stored, `${key}-${Date.now().toString(36)}`);
  }

  async evict(): Promise<void> {}
}

/**
 * auto: the registry when `cache-registry` is set, else the Actions cache on a runner that has it,
 * else a local directory.
 */
export function chooseStore(
  choice: StageStoreChoice,
  cacheDir: string,
  cache: CacheService | undefined,
  env: Env,
  registry?: RegistryStoreOptions,
): StageStore {
  const kind = stageStoreKind(choice, cache, registry?.repository.reference);
  if (kind === 'registry')
    return registry ? new RegistryStore(registry) : new UnavailableStore('registry', NO_REGISTRY);
  if (kind === 'local') return new LocalStore(cacheDir);
  return cache ? new ActionsStore(cache, env) : new UnavailableStore('actions', NO_CACHE_SERVICE);
}

/** Why a registry store cannot work without one (build-image refuses that input before this). */
const NO_REGISTRY = 'cache-store: registry needs "cache-registry"';

/** A store asked for where it cannot work (cache-store: actions without the cache service): every call is a fault, said plainly. */
class UnavailableStore implements StageStore {
  readonly location: string;
  constructor(
    readonly kind: 'actions' | 'registry',
    private readonly reason: string,
  ) {
    this.location = kind === 'actions' ? 'GitHub Actions cache' : 'the registry';
  }
  private fail(): never {
    throw new Error(this.reason);
  }
  async restore(): Promise<string | undefined> {
    this.fail();
  }
  async save(): Promise<void> {
    this.fail();
  }
  async evict(): Promise<void> {}
}
