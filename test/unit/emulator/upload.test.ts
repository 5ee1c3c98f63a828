import { describe, expect, it } from 'vitest';
import {
  CloudflareApiErrors,
  applyMigrations,
  uploadedBindings,
  type UploadMetadata,
} from '../../../emulator/routes/upload.js';
import { CloudflareState, type Version } from '../../../emulator/state.js';

/** The previous version: a var, a secret (its value kept apart, as uploads store it) and a KV namespace. */
const previous: Version = {
  id: 'v1',
  number: 1,
  createdOn: '2025-01-01T00:00:00.000Z',
  mainModule: 'index.js',
  modules: [],
  bindings: [
    { type: 'plain_text', name: 'MESSAGE', text: 'v1' },
    { type: 'secret_text', name: 'API_KEY' },
    { type: 'secret_key', name: 'SIGNING_KEY', algorithm: { name: 'HMAC' } },
    { type: 'kv_namespace', name: 'CACHE', namespace_id: 'kv-1' },
  ],
  compatibilityFlags: [],
  secrets: { API_KEY: 'sk-old' },
  containerClasses: [],
};

const names = (bindings: Array<Record<string, unknown>>) => bindings.map((binding) => binding.name).sort();

describe('uploadedBindings: keep_bindings', () => {
  const cases: Array<{
    name: string;
    metadata: UploadMetadata;
    bindings: string[];
    secrets: Record<string, string>;
  }> = [
    {
      name: 'a plain deploy (no keep_bindings) keeps the secrets and drops vars it does not re-send',
      metadata: { bindings: [{ type: 'plain_text', name: 'OTHER', text: 'x' }] },
      bindings: ['API_KEY', 'OTHER', 'SIGNING_KEY'],
      secrets: { API_KEY: 'sk-old' },
    },
    {
      name: '--keep-vars alone keeps vars, not secrets',
      metadata: { bindings: [], keep_bindings: ['plain_text', 'json'] },
      bindings: ['MESSAGE'],
      secrets: {},
    },
    {
      name: 'a partial --secrets-file keeps the secrets it does not re-send, with their values',
      metadata: {
        bindings: [{ type: 'secret_text', name: 'DB_PASSWORD', text: 'db-new' }],
        keep_bindings: ['secret_text', 'secret_key'],
      },
      bindings: ['API_KEY', 'DB_PASSWORD', 'SIGNING_KEY'],
      secrets: { API_KEY: 'sk-old', DB_PASSWORD: 'db-new' },
    },
    {
      name: 'a re-sent secret replaces the kept one',
      metadata: {
        bindings: [{ type: 'secret_text', name: 'API_KEY', text: 'sk-new' }],
        keep_bindings: ['secret_text'],
      },
      bindings: ['API_KEY'],
      secrets: { API_KEY: 'sk-new' },
    },
    {
      name: 'versions secret bulk replacing every secret keeps only secret_key',
      metadata: { bindings: [], keep_bindings: ['secret_key'] },
      bindings: ['SIGNING_KEY'],
      secrets: {},
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { bindings, secrets } = uploadedBindings(c.metadata, previous, true);
      expect(names(bindings)).toEqual(c.bindings);
      expect(secrets).toEqual(c.secrets);
      expect(bindings.some((binding) => 'text' in binding && binding.type === 'secret_text')).toBe(false);
    });
  }

  it('nothing to keep on the first upload', () => {
    const { bindings, secrets } = uploadedBindings({ keep_bindings: ['secret_text'] }, undefined, true);
    expect(bindings).toEqual([]);
    expect(secrets).toEqual({});
  });

  it('leaves the upload metadata and the previous version untouched', () => {
    const metadata: UploadMetadata = { bindings: [{ type: 'secret_text', name: 'NEW', text: 's' }] };
    uploadedBindings(metadata, previous, true);
    expect(metadata.bindings![0]).toEqual({ type: 'secret_text', name: 'NEW', text: 's' });
    expect(previous.bindings).toHaveLength(4);
  });
});

describe('uploadedBindings: inherit bindings', () => {
  it('an inherited secret takes its value; an inherited KV binding is the previous binding', () => {
    const metadata: UploadMetadata = {
      bindings: [
        { type: 'inherit', name: 'API_KEY' },
        { type: 'inherit', name: 'CACHE' },
      ],
      keep_bindings: [],
    };
    const { bindings, secrets } = uploadedBindings(metadata, previous, true);
    expect(bindings).toEqual([
      { type: 'secret_text', name: 'API_KEY' },
      { type: 'kv_namespace', name: 'CACHE', namespace_id: 'kv-1' },
    ]);
    expect(secrets).toEqual({ API_KEY: 'sk-old' });
  });

  it('strict: every unresolvable inherit is refused with 10057, each as its own error', () => {
    const metadata: UploadMetadata = {
      bindings: [
        { type: 'inherit', name: 'NOT_SET' },
        { type: 'inherit', name: 'API_KEY' },
        { type: 'inherit', name: 'ALSO_NOT_SET' },
      ],
    };
    const refusal = (() => {
      try {
        uploadedBindings(metadata, previous, true);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(CloudflareApiErrors);
    expect((refusal as CloudflareApiErrors).status).toBe(400);
    expect((refusal as CloudflareApiErrors).errors).toEqual([
      {
        code: 10057,
        message:
          "inherit binding 'NOT_SET' is invalid: previous version does not have binding named 'NOT_SET'",
      },
      {
        code: 10057,
        message:
          "inherit binding 'ALSO_NOT_SET' is invalid: previous version does not have binding named 'ALSO_NOT_SET'",
      },
    ]);
  });

  it('strict with no previous version: refused', () => {
    expect(() => uploadedBindings({ bindings: [{ type: 'inherit', name: 'X' }] }, undefined, true)).toThrow(
      "inherit binding 'X' is invalid",
    );
  });

  it('not strict: an unresolvable inherit is dropped', () => {
    const { bindings } = uploadedBindings(
      { bindings: [{ type: 'inherit', name: 'NOT_SET' }], keep_bindings: [] },
      previous,
      false,
    );
    expect(bindings).toEqual([]);
  });
});

describe('applyMigrations', () => {
  it("moves the script's tag and tracks the classes deleted, until re-created", () => {
    const state = new CloudflareState();
    const script = state.ensureScript('w');
    applyMigrations(script, { new_tag: 'v1', steps: [{ new_sqlite_classes: ['Counter', 'Room'] }] });
    expect(script.migrationTag).toBe('v1');
    applyMigrations(script, { old_tag: 'v1', new_tag: 'v2', steps: [{ deleted_classes: ['Counter'] }] });
    expect(script.migrationTag).toBe('v2');
    expect([...script.deletedClasses]).toEqual(['Counter']);
    applyMigrations(script, { new_tag: 'v3', new_classes: ['Counter'] });
    expect(script.migrationTag).toBe('v3');
    expect([...script.deletedClasses]).toEqual([]);
    applyMigrations(script, undefined);
    expect(script.migrationTag).toBe('v3');
  });

  it('each version records the tag in force when it was uploaded', () => {
    const state = new CloudflareState();
    const script = state.ensureScript('w');
    const fields = { mainModule: 'i.js', modules: [], bindings: [], compatibilityFlags: [], secrets: {} };
    const before = state.addVersion(script, { ...fields, containerClasses: [] });
    script.migrationTag = 'v1';
    const after = state.addVersion(script, { ...fields, containerClasses: [] });
    expect([before.migrationTag, after.migrationTag]).toEqual([undefined, 'v1']);
    expect(state.latestVersion(script)).toBe(after);
  });
});
