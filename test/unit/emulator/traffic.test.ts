import { describe, expect, it } from 'vitest';
import {
  keyPoint,
  parseDictionaryStrings,
  pickByShare,
  routeRequest,
  sequencePoint,
  versionOverride,
  type Split,
} from '../../../emulator/traffic.js';

const V1 = '11111111-1111-4111-8111-111111111111';
const V2 = '22222222-2222-4222-8222-222222222222';
const V3 = '33333333-3333-4333-8333-333333333333';
const split6040: Split = [
  { version_id: V1, percentage: 60 },
  { version_id: V2, percentage: 40 },
];

describe('the override header as an RFC 8941 Dictionary (Strings kept, other values undefined)', () => {
  it.each<[string, Record<string, string | undefined> | undefined]>([
    ['', {}],
    ['w="abc"', { w: 'abc' }],
    ['  w="abc"  ', { w: 'abc' }],
    ['a="1", b="2"', { a: '1', b: '2' }],
    ['a="1",b="2"', { a: '1', b: '2' }],
    ['a="1" ,\tb="2"', { a: '1', b: '2' }],
    ['a="1", a="2"', { a: '2' }],
    ['my-worker_2.x*="v"', { 'my-worker_2.x*': 'v' }],
    ['*w="v"', { '*w': 'v' }],
    ['a="say \\"hi\\" \\\\ bye"', { a: 'say "hi" \\ bye' }],
    ['a="1";p=2;q, b=?0', { a: '1', b: undefined }],
    ['a=token, b="x"', { a: undefined, b: 'x' }],
    [
      'a=tok/en:x, b=-12, c=1.5, d=:YWJj:, e=?1',
      { a: undefined, b: undefined, c: undefined, d: undefined, e: undefined },
    ],
    ['a=(1 "x" tok);p, b="y"', { a: undefined, b: 'y' }],
    ['a=(), b="y"', { a: undefined, b: 'y' }],
    ['a, b="y"', { a: undefined, b: 'y' }],
    ['a;p=1, b="y"', { a: undefined, b: 'y' }],
    ['W="1"', undefined],
    ['"a"="1"', undefined],
    ['1a="1"', undefined],
    ['a="1",', undefined],
    ['a="1", ', undefined],
    [',a="1"', undefined],
    ['a="1" b="2"', undefined],
    ['a="unterminated', undefined],
    ['a="bad \\x escape"', undefined],
    ['a="é"', undefined],
    ['a="tab\there"', undefined],
    ['a=1.2345', undefined],
    ['a=1234567890123456', undefined],
    ['a=1.', undefined],
    ['a=?2', undefined],
    ['a=(1 2', undefined],
    ['a=(1,2)', undefined],
    ['a=', undefined],
    ['a=@', undefined],
  ])('%j → %j', (field, expected) => {
    const parsed = parseDictionaryStrings(field);
    expect(parsed && Object.fromEntries(parsed)).toEqual(expected);
  });
});

describe('a version override applies only to this Worker and a version of its current deployment', () => {
  const withZero: Split = [
    { version_id: V1, percentage: 100 },
    { version_id: V3, percentage: 0 },
  ];
  it.each<[string, string | undefined, Split, string | undefined]>([
    ['names a version of the deployment', `w="${V2}"`, split6040, V2],
    ['names the other one', `w="${V1}"`, split6040, V1],
    ['names a version at 0%', `w="${V3}"`, withZero, V3],
    ['names a version not in the deployment', `w="${V3}"`, split6040, undefined],
    ['names another Worker', `other="${V2}"`, split6040, undefined],
    ['names several Workers', `other="${V1}", w="${V2}"`, split6040, V2],
    ['the value is a Token, not a String', `w=abc`, split6040, undefined],
    ['is not a valid Dictionary', `w="${V2}",`, split6040, undefined],
    ['has a parameter', `w="${V2}";note=1`, split6040, V2],
    ['is absent', undefined, split6040, undefined],
  ])('%s', (_what, field, split, expected) => {
    expect(versionOverride(field, 'w', split)).toBe(expected);
  });
});

describe('the weighted choice: bands of [0, 1) as wide as each share, in the deployment order', () => {
  const thirds: Split = [
    { version_id: V1, percentage: 33.3 },
    { version_id: V2, percentage: 33.3 },
    { version_id: V3, percentage: 33.3 },
  ];
  it.each<[string, Split, number, string | undefined]>([
    ['60/40 at 0', split6040, 0, V1],
    ['60/40 just under 0.6', split6040, 0.5999, V1],
    ['60/40 at 0.6', split6040, 0.6, V2],
    ['60/40 near 1', split6040, 0.9999, V2],
    [
      'a 0% version first gets nothing',
      [
        { version_id: V1, percentage: 0 },
        { version_id: V2, percentage: 100 },
      ],
      0,
      V2,
    ],
    [
      'a 0% version last gets nothing',
      [
        { version_id: V1, percentage: 100 },
        { version_id: V2, percentage: 0 },
      ],
      0.9999,
      V1,
    ],
    ['shares under 100 in all: the rest to the last with a share', thirds, 0.9995, V3],
    ['thirds, middle', thirds, 0.5, V2],
    ['an empty split', [], 0.5, undefined],
  ])('%s', (_what, split, point, expected) => {
    expect(pickByShare(split, point)).toBe(expected);
  });
});

describe('the deterministic sequence: over N requests each version within 2 of its share', () => {
  const splits = [
    [60, 40],
    [90, 10],
    [99, 1],
    [50, 50],
    [10, 20, 70],
    [33.3, 33.3, 33.4],
  ];
  const sizes = [10, 50, 100, 1000, 10_000];
  it.each(splits.flatMap((shares) => sizes.map((size) => [shares, size] as const)))(
    '%j over %i',
    (shares, size) => {
      const split = shares.map((percentage, index) => ({ version_id: String(index), percentage }));
      const counts = shares.map(() => 0);
      for (let n = 0; n < size; n++) counts[Number(pickByShare(split, sequencePoint(n)))]!++;
      shares.forEach((share, index) =>
        expect(Math.abs(counts[index]! - (size * share) / 100)).toBeLessThanOrEqual(2),
      );
    },
  );

  it('stays in [0, 1), for large counts too', () => {
    for (const n of [0, 1, 2, 1e6, 2 ** 31, 2 ** 32 + 5]) {
      expect(sequencePoint(n)).toBeGreaterThanOrEqual(0);
      expect(sequencePoint(n)).toBeLessThan(1);
    }
  });
});

describe('version affinity: a key hashes to one point, whatever the deployment', () => {
  const keys = Array.from({ length: 2000 }, (_, index) => `user-${index}`);

  it('is the same point every time, in [0, 1)', () => {
    for (const key of keys.slice(0, 20)) {
      expect(keyPoint(key)).toBe(keyPoint(key));
      expect(keyPoint(key)).toBeGreaterThanOrEqual(0);
      expect(keyPoint(key)).toBeLessThan(1);
    }
  });

  it('spreads keys by share (60/40 within 4%)', () => {
    const onFirst = keys.filter((key) => pickByShare(split6040, keyPoint(key)) === V1).length;
    expect(Math.abs(onFirst / keys.length - 0.6)).toBeLessThan(0.04);
  });

  it('keeps keys on the new version as its share grows (10% → 20% → 50% → 100%)', () => {
    const rollout = (share: number): Split => [
      { version_id: V2, percentage: share },
      { version_id: V1, percentage: 100 - share },
    ];
    let onNew = new Set<string>();
    for (const share of [10, 20, 50, 100]) {
      const now = new Set(keys.filter((key) => pickByShare(rollout(share), keyPoint(key)) === V2));
      for (const key of onNew) expect(now.has(key), `${key} at ${share}%`).toBe(true);
      expect(now.size).toBeGreaterThan(onNew.size);
      onNew = now;
    }
    expect(onNew.size).toBe(keys.length);
  });
});

describe('routing a request: override, else version key, else share', () => {
  const base = { worker: 'w', split: split6040, sequence: 0 };
  const keyedVersion = pickByShare(split6040, keyPoint('user-7'));
  it.each<[string, Parameters<typeof routeRequest>[0], ReturnType<typeof routeRequest>]>([
    ['by share', base, { versionId: V1, by: 'share' }],
    [
      'by share, further on',
      { ...base, sequence: 1 },
      { versionId: pickByShare(split6040, sequencePoint(1))!, by: 'share' },
    ],
    ['by the version key', { ...base, versionKey: 'user-7' }, { versionId: keyedVersion!, by: 'key' }],
    ['an empty version key is no key', { ...base, versionKey: '' }, { versionId: V1, by: 'share' }],
    [
      'by the override, over the key',
      { ...base, versionKey: 'user-7', overrides: `w="${V2}"` },
      { versionId: V2, by: 'override' },
    ],
    [
      'an override not applied falls back to the key',
      { ...base, versionKey: 'user-7', overrides: `w="${V3}"` },
      { versionId: keyedVersion!, by: 'key' },
    ],
    ['an invalid override falls back to share', { ...base, overrides: `w=` }, { versionId: V1, by: 'share' }],
    ['nothing deployed', { ...base, split: [] }, undefined],
  ])('%s', (_what, request, expected) => {
    expect(routeRequest(request)).toEqual(expected);
  });
});
