import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../../src/lib/core/cache.js';
import { chooseStore, LocalStore } from '../../../src/lib/build/store.js';
import { memoryCache } from '../../harness/fakes.js';

const dirs: string[] = [];
const mk = () => {
  const d = mkdtempSync(join(tmpdir(), 'slipway-store-unit-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('local stage store', () => {
  it('misses, saves atomically under the key, hits, and evicts', async () => {
    const dir = join(mk(), 'nested', 'store');
    const store = new LocalStore(dir);
    expect(await store.restore('k1')).toBeUndefined();
    const src = join(mk(), 'a.tar.gz');
    writeFileSync(src, 'archive');
    await store.save('k1', src);
    expect(readdirSync(dir)).toEqual(['k1.tar.gz']);
    const hit = await store.restore('k1');
    expect(hit && readFileSync(hit, 'utf8')).toBe('archive');
    await store.evict('k1');
    expect(await store.restore('k1')).toBeUndefined();
  });

  it('keeps an existing entry and leaves no temporary file behind on failure', async () => {
    const dir = mk();
    const store = new LocalStore(dir);
    writeFileSync(join(dir, 'k.tar.gz'), 'first');
    const src = join(mk(), 'b');
    writeFileSync(src, 'second');
    await store.save('k', src);
    expect(readFileSync(join(dir, 'k.tar.gz'), 'utf8')).toBe('first');
    await expect(store.save('k2', join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual(['k.tar.gz']);
  });

  it('keeps only the most recently used entries of a stage, and leaves other stages alone', async () => {
    const dir = mk();
    const store = new LocalStore(dir, 2);
    const src = join(mk(), 'a');
    writeFileSync(src, 'x');
    const key = (stage: string, n: number) => `slipway-stage-${stage}-${String(n).padStart(40, '0')}`;
    await store.save(key('other', 1), src);
    for (const n of [1, 2, 3]) {
      const entry = join(dir, `${key('builder', n)}.tar.gz`);
      writeFileSync(entry, 'x');
      const t = new Date(Date.now() - (10 - n) * 60_000);
      utimesSync(entry, t, t);
    }
    await store.restore(key('builder', 1)); // used just now: it stays
    await store.save(key('builder', 4), src);
    expect(readdirSync(dir).sort()).toEqual(
      [key('builder', 1), key('builder', 4), key('other', 1)].map((k) => `${k}.tar.gz`).sort(),
    );
  });

  it('is chosen outside a runner; the Actions store is a plain fault there', async () => {
    expect(chooseStore('auto', '/x', undefined, {}).kind).toBe('local');
    const actions = chooseStore('actions', '/x', undefined, {});
    expect(actions.kind).toBe('actions');
    await expect(actions.restore('k')).rejects.toThrow(/no Actions cache service/);
  });

  it('the Actions store saves <key>-<time> and restores the newest by prefix: a re-save replaces a bad entry', async () => {
    const cache = memoryCache();
    const store = chooseStore('auto', '/x', cache, { RUNNER_TEMP: mk() });
    expect(store.kind).toBe('actions');
    expect(await store.restore('slipway-stage-builder-abc')).toBeUndefined();
    const src = join(mk(), 'a.tar.gz');
    writeFileSync(src, 'first');
    await store.save('slipway-stage-builder-abc', src);
    const [first] = [...cache.entries.keys()];
    expect(first).toMatch(/^slipway-stage-builder-abc-[0-9a-z]+$/);
    expect(readFileSync((await store.restore('slipway-stage-builder-abc'))!, 'utf8')).toBe('first');
    // GitHub's entries cannot be overwritten: the rebuild after a bad restore saves a newer one.
    await new Promise((resolve) => setTimeout(resolve, 2));
    writeFileSync(src, 'rebuilt');
    await store.save('slipway-stage-builder-abc', src);
    expect(cache.entries.size).toBe(2);
    expect(readFileSync((await store.restore('slipway-stage-builder-abc'))!, 'utf8')).toBe('rebuilt');
  });

  it('defaults under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/slipway/stages');
    expect(defaultCacheDir({ HOME: '/h' })).toBe('/h/.cache/slipway/stages');
  });
});
