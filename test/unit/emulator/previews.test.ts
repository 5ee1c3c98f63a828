import { describe, expect, it } from 'vitest';
import { ALIASES_RETAINED, previewHost, previewVersion } from '../../../emulator/previews.js';
import { CloudflareState, type Script, type Version } from '../../../emulator/state.js';

/** A script with versions uploaded in order, each with the fields given (an alias, a Durable Object). */
function scriptWith(...uploads: Array<Partial<Version>>): { script: Script; ids: string[] } {
  const state = new CloudflareState();
  const script = state.ensureScript('gw');
  script.workersDev = true;
  const ids = uploads.map(
    (fields) =>
      state.addVersion(script, {
        mainModule: 'index.js',
        modules: [],
        bindings: [],
        compatibilityFlags: [],
        secrets: {},
        containerClasses: [],
        ...fields,
      }).id,
  );
  return { script, ids };
}

const DURABLE = { bindings: [{ type: 'durable_object_namespace', name: 'D', class_name: 'D' }] };

describe('which version a preview host serves (preview-urls.mdx)', () => {
  it.each<[string, Array<Partial<Version>>, (ids: string[]) => string, number | undefined]>([
    ['a version by its first 8 characters', [{}, {}], (ids) => ids[0]!.slice(0, 8), 0],
    ['an alias: its version', [{ alias: 'pr-7' }, {}], () => 'pr-7', 0],
    [
      'an alias uploaded again: the newest version with it',
      [{ alias: 'pr-7' }, { alias: 'pr-7' }, {}],
      () => 'pr-7',
      1,
    ],
    ['an alias never uploaded', [{ alias: 'pr-7' }], () => 'pr-8', undefined],
    ['a prefix of no version', [{}], () => 'deadbeef', undefined],
    ['a prefix of 7 characters is no version prefix', [{}], (ids) => ids[0]!.slice(0, 7), undefined],
    ['a version implementing a Durable Object: none', [DURABLE], (ids) => ids[0]!.slice(0, 8), undefined],
    [
      'an alias on a Durable Object version: none',
      [{ alias: 'pr-7' }, { ...DURABLE, alias: 'pr-7' }],
      () => 'pr-7',
      undefined,
    ],
    ['a container Worker: none', [{ alias: 'pr-7', containerClasses: ['App'] }], () => 'pr-7', undefined],
  ])('%s', (_name, uploads, label, expected) => {
    const { script, ids } = scriptWith(...uploads);
    expect(previewVersion(script, label(ids))?.id).toBe(expected === undefined ? undefined : ids[expected]);
  });

  it.each<[string, Partial<Script>, boolean]>([
    [
      'workers.dev on, preview_urls unset: previews follow it',
      { workersDev: true, previewsEnabled: undefined },
      true,
    ],
    ['workers.dev off, preview_urls unset: none', { workersDev: false, previewsEnabled: undefined }, false],
    [
      'preview_urls false: none ("disable routing to both")',
      { workersDev: true, previewsEnabled: false },
      false,
    ],
    ['preview_urls true without workers.dev', { workersDev: false, previewsEnabled: true }, true],
  ])('%s', (_name, settings, served) => {
    const { script, ids } = scriptWith({ alias: 'pr-7' });
    Object.assign(script, settings);
    expect(previewVersion(script, 'pr-7')?.id).toBe(served ? ids[0] : undefined);
    expect(previewVersion(script, ids[0]!.slice(0, 8))?.id).toBe(served ? ids[0] : undefined);
  });

  it(`only the ${ALIASES_RETAINED} most recently uploaded aliases are retained`, () => {
    const uploads = Array.from({ length: ALIASES_RETAINED + 1 }, (_, i) => ({ alias: `a${i}` }));
    const { script, ids } = scriptWith(...uploads);
    expect(previewVersion(script, 'a0'), 'the least recent one is gone').toBeUndefined();
    expect(previewVersion(script, 'a1')?.id).toBe(ids[1]);
    expect(previewVersion(script, `a${ALIASES_RETAINED}`)?.id).toBe(ids[ALIASES_RETAINED]);
  });

  it('the host name: <label>-<worker>.<subdomain>.workers.dev', () => {
    expect(previewHost('gw', 'pr-7', 'acme')).toBe('pr-7-gw.acme.workers.dev');
  });
});
