import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import {
  chainIds,
  locateLayers,
  parseTarSplitLine,
  reassemble,
  StoreMismatch,
  tarSplitEntries,
  type TarEntry,
  type TarSplitEntry,
} from '../../../src/lib/size/layer-store.js';

const seg = (s: string): TarSplitEntry => ({ kind: 'segment', bytes: Buffer.from(s) });
const file = (name: string, size: number): TarSplitEntry => ({ kind: 'file', name, size });

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

/** A real tar of these entries, read back through tar-stream's extract as the action reads docker cp. */
function tarOf(
  entries: Array<{ name: string; type?: tar.Header['type']; body?: string }>,
): AsyncIterator<TarEntry> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'directory' || e.type === 'symlink' || e.type === 'character-device')
      pack.entry({ name: e.name, type: e.type, linkname: e.type === 'symlink' ? 'target' : undefined });
    else pack.entry({ name: e.name }, e.body ?? '');
  }
  pack.finalize();
  const extract = tar.extract();
  pack.pipe(extract);
  return extract[Symbol.asyncIterator]() as AsyncIterator<TarEntry>;
}

async function rebuild(record: TarSplitEntry[], files: AsyncIterator<TarEntry>): Promise<string> {
  const out: Buffer[] = [];
  const n = await reassemble(from(record), files, (b) => void out.push(b));
  const text = Buffer.concat(out).toString();
  expect(n).toBe(Buffer.byteLength(text));
  return text;
}

describe('tar-split records', () => {
  it.each([
    [
      'a segment (type 2) is its base64 payload',
      '{"type":2,"payload":"aGVhZGVy","position":0}',
      seg('header'),
    ],
    ['an empty segment', '{"type":2,"payload":null,"position":7}', seg('')],
    [
      'a file body (type 1) is its name and size',
      '{"type":1,"name":"app/x.js","size":12,"payload":"AAAA","position":1}',
      file('app/x.js', 12),
    ],
    [
      'a file without a size is empty (a directory)',
      '{"type":1,"name":"app/","payload":null,"position":1}',
      file('app/', 0),
    ],
    [
      'a name that is not UTF-8 text comes as name_raw',
      '{"type":1,"name_raw":"w6lsw6h2ZQ==","size":3}',
      file('élève', 3),
    ],
  ])('%s', (_, line, entry) => {
    expect(parseTarSplitLine(line)).toEqual(entry);
  });

  it('an unknown entry type is a mismatch, not a guess', () => {
    expect(() => parseTarSplitLine('{"type":9}')).toThrow(StoreMismatch);
  });

  it('reads a gzipped record in any chunking, a multi-byte name split across chunks included', async () => {
    const lines = [
      '{"type":2,"payload":"aGVhZA==","position":0}',
      '{"type":1,"name":"dir/é-ü.txt","size":5,"position":1}',
      '{"type":2,"payload":"dGFpbA==","position":2}',
    ];
    const gz = gzipSync(Buffer.from(`${lines.join('\n')}\n`));
    const expected = [seg('head'), file('dir/é-ü.txt', 5), seg('tail')];
    for (const size of [1, 3, 7, gz.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < gz.length; i += size) chunks.push(gz.subarray(i, i + size));
      const got: TarSplitEntry[] = [];
      for await (const e of tarSplitEntries(chunks)) got.push(e);
      expect(got, `chunks of ${size} bytes`).toEqual(expected);
    }
  });

  it('a record that is not gzip fails the read instead of hanging', async () => {
    const read = async () => {
      for await (const _ of tarSplitEntries([Buffer.from('not gzip at all')])) void _;
    };
    await expect(read()).rejects.toThrow(/header/i);
  });
});

describe('rebuilding a layer tar from its record and its files', () => {
  it('writes the segments as recorded and each body in between, skipping what has no body', async () => {
    const files = tarOf([
      { name: './', type: 'directory' },
      { name: './app/', type: 'directory' },
      { name: './app/empty', body: '' },
      { name: './app/link', type: 'symlink' },
      { name: './app/main.js', body: 'MAIN' },
      { name: './app/old', type: 'character-device' }, // an overlay whiteout: the record has .wh.old
      { name: './app/z.txt', body: 'ZZ' },
    ]);
    const record = [
      seg('<app/>'),
      file('app/', 0),
      seg('<empty>'),
      file('app/empty', 0),
      seg('<link>'),
      file('app/link', 0),
      seg('<main.js>'),
      file('app/main.js', 4),
      seg('<.wh.old>'),
      file('app/.wh.old', 0),
      seg('<z.txt>'),
      file('app/z.txt', 2),
      seg('<end>'),
    ];
    expect(await rebuild(record, files)).toBe('<app/><empty><link><main.js>MAIN<.wh.old><z.txt>ZZ<end>');
  });

  it.each([
    [
      'files in another order than recorded',
      [
        { name: 'b', body: 'B' },
        { name: 'a', body: 'A' },
      ],
      [file('a', 1), file('b', 1)],
      /not in the recorded order \(b where a was recorded\)/,
    ],
    ['a body of another size', [{ name: 'a', body: 'AAA' }], [file('a', 1)], /a is 3 bytes, recorded as 1/],
    ['files that end early', [{ name: 'a', body: 'A' }], [file('a', 1), file('b', 1)], /end before b/],
  ])('%s is a mismatch naming it', async (_, entries, record, message) => {
    await expect(rebuild(record, tarOf(entries))).rejects.toThrow(message);
    await expect(rebuild(record, tarOf(entries))).rejects.toBeInstanceOf(StoreMismatch);
  });
});

describe('finding layers in the store', () => {
  const ids = ['sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64), 'sha256:' + 'c'.repeat(64)];

  it('chain ids: the first is its diff id, each next is sha256("<parent chain> <diff id>")', () => {
    const second = `sha256:${createHash('sha256').update(`${ids[0]} ${ids[1]}`).digest('hex')}`;
    const third = `sha256:${createHash('sha256').update(`${second} ${ids[2]}`).digest('hex')}`;
    expect(chainIds(ids)).toEqual([ids[0], second, third]);
    expect(chainIds([])).toEqual([]);
  });

  it('overlay2 lists the lower directories top first, then the upper one', () => {
    const layers = locateLayers(
      {
        RootFS: { Layers: ids },
        GraphDriver: {
          Name: 'overlay2',
          Data: { LowerDir: '/d/o/B/diff:/d/o/A/diff', UpperDir: '/d/o/C/diff' },
        },
      },
      '/d',
    );
    expect(layers).toEqual(
      chainIds(ids).map((chain, index) => ({
        index,
        diffId: ids[index],
        dir: `/d/o/${'ABC'[index]}/diff`,
        meta: `/d/image/overlay2/layerdb/sha256/${chain.slice(7)}`,
      })),
    );
  });

  it('a one-layer image has no lower directories', () => {
    const layers = locateLayers(
      { RootFS: { Layers: [ids[0]!] }, GraphDriver: { Name: 'overlay2', Data: { UpperDir: '/u/diff' } } },
      '/d',
    );
    expect(layers).toMatchObject([{ index: 0, dir: '/u/diff' }]);
  });

  it.each([
    ['another storage driver', { Name: 'vfs', Data: null }, /storage driver is vfs, not overlay2/],
    ['no driver data', undefined, /storage driver is unknown/],
    [
      'directories that do not match the layers',
      { Name: 'overlay2', Data: { LowerDir: '/a/diff', UpperDir: '/b/diff' } },
      /lists 2 directories for 3 layers/,
    ],
  ])('%s: a reason, so docker save is used', (_, driver, reason) => {
    expect(locateLayers({ RootFS: { Layers: ids }, GraphDriver: driver }, '/d')).toMatch(reason);
  });
});
