import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'jsonc-parser';
import { afterAll, describe, expect, it } from 'vitest';
import {
  hasBuildCommand,
  findWranglerConfig,
  imageNotApplicable,
  isRegistryReference,
  withContainerImage,
} from '../../../src/lib/wrangler/config.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-wcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('registry references and local tags (as wrangler tells them apart)', () => {
  it.each([
    ['registry.cloudflare.com/acct/app:v1', true],
    ['127.0.0.1:5000/acct/app:v1', true],
    ['localhost/app:v1', true],
    ['docker.io/library/nginx:1', true],
    ['acme/app:v1', false],
    ['app:v1', false],
  ])('%s → %s', (image, ref) => expect(isRegistryReference(image)).toBe(ref));
});

describe('a wrangler config pointed at a built image', () => {
  const config = join(dir, 'wrangler.jsonc');
  writeFileSync(
    config,
    `{
  // the Worker
  "name": "app",
  "containers": [{ "class_name": "A", "image": "./Dockerfile", "image_build_context": ".", "image_vars": { "X": "1" } }],
  "env": { "staging": { "containers": [{ "class_name": "A", "image": "./Dockerfile" }] }, "bare": {} },
}
`,
  );

  it('sets every container of the top level, drops build settings, keeps comments, writes beside the original', () => {
    const out = withContainerImage(config, '127.0.0.1:5000/acct/app:slipway-abc', undefined);
    expect(out).toBe(join(dir, '.slipway-wrangler.jsonc'));
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('// the Worker');
    const doc = parse(text) as {
      containers: Array<Record<string, unknown>>;
      env: { staging: { containers: Array<Record<string, unknown>> } };
    };
    expect(doc.containers[0]).toEqual({ class_name: 'A', image: '127.0.0.1:5000/acct/app:slipway-abc' });
    expect(doc.env.staging.containers[0]!.image).toBe('./Dockerfile');
  });

  it('with an environment, sets that environment’s containers', () => {
    const doc = parse(readFileSync(withContainerImage(config, 'r.example/app:1', 'staging'), 'utf8')) as {
      containers: Array<Record<string, unknown>>;
      env: { staging: { containers: Array<Record<string, unknown>> } };
    };
    expect(doc.env.staging.containers[0]!.image).toBe('r.example/app:1');
    expect(doc.containers[0]!.image).toBe('./Dockerfile');
  });

  it('says when an image cannot be shipped: no containers, TOML; and when there is no config', () => {
    expect(imageNotApplicable(config)).toBeUndefined();
    expect(imageNotApplicable(config, 'staging')).toBeUndefined();
    expect(imageNotApplicable(config, 'bare')).toBe(
      'wrangler.jsonc has no containers in environment "bare", so the Worker deploys alone',
    );
    const toml = join(dir, 'wrangler.toml');
    writeFileSync(toml, 'name = "app"\n');
    expect(imageNotApplicable(toml)).toMatch(/wrangler.toml is TOML, which Slipway does not rewrite/);
    expect(() => findWranglerConfig(join(dir, 'nope'))).toThrow(
      /No wrangler.json, wrangler.jsonc or wrangler.toml/,
    );
    expect(findWranglerConfig(dir)).toBe(config);
  });
});

describe('a custom build in the wrangler config (what an untrusted dry run must not run)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-build-command-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it.each([
    ['wrangler.jsonc', '{ "name": "w", "build": { "command": "npm run build" } }', undefined, true],
    ['wrangler.jsonc', '{ "name": "w" }', undefined, false],
    [
      'wrangler.jsonc',
      '{ "name": "w", "env": { "staging": { "build": { "command": "make" } } } }',
      'staging',
      true,
    ],
    [
      'wrangler.jsonc',
      '{ "name": "w", "env": { "staging": { "build": { "command": "make" } } } }',
      undefined,
      false,
    ],
    ['wrangler.json', '{ "name": "w", "build": {} }', undefined, false],
    ['wrangler.toml', 'name = "w"\n[build]\ncommand = "npm run build"\n', undefined, true],
    ['wrangler.toml', 'name = "w"\n[env.staging.build]\ncommand = "make"\n', 'staging', true],
    ['wrangler.toml', 'name = "w"\nmain = "src/index.js"\n', undefined, false],
  ] as const)('%s %s (env %s): %s', (file, text, environment, expected) => {
    const path = join(dir, file);
    writeFileSync(path, text);
    expect(hasBuildCommand(path, environment)).toBe(expected);
  });
});
