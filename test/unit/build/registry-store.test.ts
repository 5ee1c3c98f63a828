import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { Deps } from '../../../src/lib/core/io.js';
import { parseChallenge } from '../../../src/lib/build/registry-auth.js';
import { isLoopback, parseCacheRegistry, tagForKey } from '../../../src/lib/build/registry-ref.js';
import {
  ANNOTATIONS,
  ARTIFACT_TYPE,
  EMPTY_DESCRIPTOR,
  LAYER_MEDIA_TYPE,
  MANIFEST_MEDIA_TYPE,
  RegistryStore,
} from '../../../src/lib/build/registry-store.js';
import { CorruptEntryError } from '../../../src/lib/build/store.js';
import { FakeRegistry, type FakeRegistryOptions } from '../../harness/fake-registry.js';
import { fakeDeps, type Rule } from '../../harness/fakes.js';

const KEY = `slipway-stage-builder-${'ab'.repeat(20)}`;
const USER = 'ci-bot';
const PASSWORD = 'registry-password-canary-7d1e';
const TOKEN = 'cache-registry-token-canary-42aa';
const IDENTITY = 'identity-token-canary-c0ff';
const REPO = 'slipway/stage-cache';

const dirs: string[] = [];
const registries: FakeRegistry[] = [];
const mk = (prefix = 'slipway-registry-unit-') => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.stop()));
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function startRegistry(
  options: FakeRegistryOptions = {},
): Promise<{ registry: FakeRegistry; host: string }> {
  const registry = new FakeRegistry(options);
  registries.push(registry);
  return { registry, host: await registry.start() };
}

/** An archive as the other stores keep it: a gzip'd tar (its content does not matter to the store). */
function archive(content = 'outputs of the builder stage'): string {
  const file = join(mk(), 'entry.tar.gz');
  writeFileSync(file, gzipSync(Buffer.from(content.repeat(200))));
  return file;
}

/** A docker config directory with this config.json. */
function dockerConfig(config: unknown): string {
  const dir = mk('slipway-docker-config-');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** A home directory whose ~/.docker/config.json is this (DOCKER_CONFIG unset). */
function homeWithDockerConfig(config: unknown): string {
  const home = mk('slipway-home-');
  mkdirSync(join(home, '.docker'));
  writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify(config));
  return home;
}

interface Setup {
  deps: ReturnType<typeof fakeDeps>;
  store: (extra?: { token?: string; readOnly?: string }) => RegistryStore;
}

function setup(host: string, env: Record<string, string> = {}, rules: Rule[] = []): Setup {
  const deps = fakeDeps(rules, {
    env: { HOME: mk('slipway-home-'), ...env },
    fetch: (url, init) => fetch(url, init),
  });
  const repository = parseCacheRegistry('cache-registry', `${host}/${REPO}`);
  return {
    deps,
    store: (extra = {}) => new RegistryStore({ repository, dir: mk(), deps, ...extra }),
  };
}

/** Everything a test could leak a secret into: the log, and every URL and body the registry and token service saw. */
function leaks(deps: Setup['deps'], registry: FakeRegistry, secrets: string[]): string[] {
  const seen = [
    ...deps.log.lines,
    ...registry.requests.map((r) =>
      `${r.url} ${r.body ?? ''}`.replace(/refresh_token=[^&]+/, 'refresh_token=…'),
    ),
  ];
  return secrets.filter((secret) => seen.some((text) => text.includes(secret)));
}

interface AuthCase {
  name: string;
  registry: FakeRegistryOptions;
  env?: (host: string) => Record<string, string>;
  rules?: (host: string) => Rule[];
  token?: string;
  /** What must be masked. */
  secrets: string[];
  /** How the token service was asked (bearer), or what the registry saw (basic). */
  asked: RegExp;
  /** The Authorization of the first request, when one is sent before any challenge. */
  first?: string;
}

const authCases: AuthCase[] = [
  {
    name: 'an open registry (127.0.0.1:5000 here): no credentials asked or sent',
    registry: {},
    secrets: [],
    asked: /^$/,
  },
  {
    name: "Basic auth (distribution's htpasswd) with the runner's docker login (auths, base64 user:password)",
    registry: { auth: 'basic', user: USER, password: PASSWORD },
    env: (host) => ({
      DOCKER_CONFIG: dockerConfig({
        auths: { [host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } },
      }),
    }),
    secrets: [PASSWORD],
    asked: /^Basic /,
  },
  {
    name: 'the token dance: 401 Bearer challenge, GET realm?service&scope with Basic credentials, retry with the token',
    registry: { auth: 'bearer', user: USER, password: PASSWORD },
    // A legacy key with a scheme matches by host, as docker/cli's ConvertToHostname does.
    env: (host) => ({
      HOME: homeWithDockerConfig({
        auths: { [`http://${host}/v2/`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } },
      }),
    }),
    secrets: [PASSWORD],
    asked: /^GET \/token\?service=fake-registry&scope=repository%3Aslipway%2Fstage-cache%3Apull/,
  },
  {
    name: 'cache-registry-token: sent as Bearer first, then exchanged at the token service as the password of GITHUB_ACTOR',
    registry: { auth: 'bearer', user: 'octocat', password: TOKEN },
    env: () => ({ GITHUB_ACTOR: 'octocat' }),
    token: TOKEN,
    secrets: [TOKEN],
    asked: /^GET \/token\?service=fake-registry&scope=/,
    first: `Bearer ${TOKEN}`,
  },
  {
    name: 'a credHelpers entry: docker-credential-<helper> get, the host on stdin, its Username and Secret',
    registry: { auth: 'bearer', user: USER, password: PASSWORD },
    env: (host) => ({
      DOCKER_CONFIG: dockerConfig({ credHelpers: { [host]: 'fake' }, credsStore: 'other' }),
    }),
    rules: (host) => [
      {
        match: /^docker-credential-fake get$/,
        result: (call) =>
          call.options.input === host && call.options.silent
            ? { stdout: JSON.stringify({ ServerURL: host, Username: USER, Secret: PASSWORD }) }
            : { code: 1, stdout: 'credentials not found in native keychain' },
      },
    ],
    secrets: [PASSWORD],
    asked: /^GET \/token\?/,
  },
  {
    name: 'an identity token (a helper\'s "<token>" user): the OAuth2 refresh-token POST, the token in the form body',
    registry: { auth: 'bearer', identityToken: IDENTITY },
    env: () => ({ DOCKER_CONFIG: dockerConfig({ credsStore: 'fake' }) }),
    rules: () => [
      {
        match: /^docker-credential-fake get$/,
        result: { stdout: JSON.stringify({ Username: '<token>', Secret: IDENTITY }) },
      },
    ],
    secrets: [IDENTITY],
    asked: /^POST \/token$/,
  },
];

describe('the registry stage store against a fake registry (the distribution routes it uses)', () => {
  it.each(authCases)('push, then restore in a fresh store: $name', async (c) => {
    const { registry, host } = await startRegistry(c.registry);
    const { deps, store } = setup(host, c.env?.(host) ?? {}, c.rules?.(host) ?? []);
    const entry = archive();
    const bytes = readFileSync(entry);
    const layerDigest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

    const pusher = store({ token: c.token });
    await pusher.save(KEY, entry, 'builder');

    const tag = tagForKey(KEY);
    const stored = registry.manifest(REPO, tag);
    expect(stored, 'the manifest is tagged by the key').toBeDefined();
    expect(stored!.json).toEqual({
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      artifactType: ARTIFACT_TYPE,
      config: EMPTY_DESCRIPTOR,
      layers: [
        {
          mediaType: LAYER_MEDIA_TYPE,
          digest: layerDigest,
          size: bytes.length,
          annotations: { [ANNOTATIONS.title]: `${KEY}.tar.gz` },
        },
      ],
      annotations: {
        [ANNOTATIONS.created]: '2026-12-01T12:00:00Z',
        [ANNOTATIONS.title]: 'Slipway stage cache: builder',
        [ANNOTATIONS.key]: KEY,
        [ANNOTATIONS.stage]: 'builder',
      },
    });
    expect(registry.manifests.get(stored!.digest)!.contentType).toBe(MANIFEST_MEDIA_TYPE);
    expect(registry.blobs.get(EMPTY_DESCRIPTOR.digest)?.toString()).toBe('{}');
    expect(pusher.transfer(KEY)).toEqual({ pushed: bytes.length + 2, manifest: stored!.digest });

    const puller = store({ token: c.token });
    const restored = await puller.restore(KEY);
    expect(restored && readFileSync(restored).equals(bytes), 'the restored archive is the pushed one').toBe(
      true,
    );
    expect(puller.transfer(KEY)).toEqual({ pulled: bytes.length, manifest: stored!.digest });
    expect(deps.log.lines).toContainEqual(
      expect.stringContaining(`Pulled ${bytes.length} B from ${host}/${REPO}:${tag}`),
    );

    const tokenRequests = registry.requests
      .filter((r) => r.url.startsWith('/token'))
      .map((r) => `${r.method} ${r.url}`);
    const auths = registry.requests.filter((r) => r.url.startsWith('/v2/')).map((r) => r.authorization ?? '');
    if (c.registry.auth === 'bearer') {
      expect(tokenRequests[0], 'the token service was asked as the challenge said').toMatch(c.asked);
      expect(auths.at(-1)).toMatch(/^Bearer issued-/);
    } else expect(auths.at(-1) ?? '').toMatch(c.asked);
    expect(auths[0] || undefined, 'before any challenge').toBe(c.first);
    for (const secret of c.secrets) expect(deps.log.secrets, 'masked').toContain(secret);
    expect(
      leaks(deps, registry, [PASSWORD, TOKEN, IDENTITY]),
      'no secret in a URL, a body or the log',
    ).toEqual([]);
  });

  it('a miss is one GET of the manifest by tag, with Accept: the OCI image manifest', async () => {
    const { registry, host } = await startRegistry();
    const { store } = setup(host);
    expect(await store().restore(KEY)).toBeUndefined();
    expect(registry.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET /v2/${REPO}/manifests/${tagForKey(KEY)}`,
    ]);
  });

  it('a blob the registry already has is not uploaded again; a second push moves the tag', async () => {
    const { registry, host } = await startRegistry();
    const { store, deps } = setup(host);
    const entry = archive();
    await store().save(KEY, entry, 'builder');
    const again = store();
    await again.save(KEY, entry, 'builder');
    expect(again.transfer(KEY)?.pushed).toBe(0);
    expect(registry.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(deps.log.lines.at(-1)).toMatch(/0 B sent \(the registry already had the .* layer\)/);
  });

  it.each([
    [
      'a tampered blob (same length, other bytes): refused while streaming, nothing left on disk',
      (registry: FakeRegistry, digest: string) => registry.tamper(digest),
      /^its manifest sha256:[0-9a-f]{64} names sha256:[0-9a-f]{64} \(\d+ bytes\), the registry sent sha256:[0-9a-f]{64} \(\d+ bytes\)$/,
    ],
    [
      'a longer blob: the download stops past the descriptor size',
      (registry: FakeRegistry, digest: string) =>
        registry.blobs.set(digest, Buffer.concat([registry.blobs.get(digest)!, Buffer.alloc(10_000)])),
      /the registry sent more than \d+ bytes$/,
    ],
    [
      'another key under the tag',
      (registry: FakeRegistry) => {
        const tag = `${REPO}:${tagForKey(KEY)}`;
        const { bytes, contentType } = registry.manifests.get(registry.tags.get(tag)!)!;
        const other = Buffer.from(
          bytes.toString().replace(`"${ANNOTATIONS.key}":"${KEY}"`, `"${ANNOTATIONS.key}":"${KEY}0"`),
        );
        const digest = `sha256:${createHash('sha256').update(other).digest('hex')}`;
        registry.manifests.set(digest, { bytes: other, contentType });
        registry.tags.set(tag, digest);
      },
      /annotated with another key/,
    ],
  ] as const)('%s', async (_name, damage, message) => {
    const { registry, host } = await startRegistry();
    const { store } = setup(host);
    const pusher = store();
    await pusher.save(KEY, archive(), 'builder');
    const layer = (registry.manifest(REPO, tagForKey(KEY))!.json.layers as Array<{ digest: string }>)[0]!
      .digest;
    damage(registry, layer);
    const puller = store();
    const restored = puller.restore(KEY);
    await expect(restored).rejects.toThrow(CorruptEntryError);
    await expect(restored).rejects.toThrow(message);
    const dir = (puller as unknown as { options: { dir: string } }).options.dir;
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  it('a blob redirected to another host is fetched without the Authorization header', async () => {
    const { registry, host } = await startRegistry({
      auth: 'basic',
      user: USER,
      password: PASSWORD,
      redirectBlobs: true,
    });
    const config = dockerConfig({
      auths: { [host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } },
    });
    const { store } = setup(host, { DOCKER_CONFIG: config });
    await store().save(KEY, archive(), 'builder');
    expect(await store().restore(KEY)).toBeDefined();
    const fromStorage = registry.requests.filter((r) => r.url.startsWith('/storage/'));
    expect(fromStorage).toHaveLength(1);
    expect(fromStorage[0]).toMatchObject({ host: `localhost:${registry.port}`, authorization: undefined });
  });

  it.each([
    [
      'refused credentials: the token service says 401, and the message names where credentials come from, never them',
      { auth: 'bearer', user: USER, password: 'the-right-one' } as FakeRegistryOptions,
      /^the token service http:\/\/127\.0\.0\.1:\d+\/token answered 401: the credentials were refused \(the runner's docker login, or cache-registry-token\)$/,
    ],
    [
      'no credentials at all for a Basic registry: the 401 stands, with the fix',
      { auth: 'basic', user: USER, password: PASSWORD } as FakeRegistryOptions,
      /^GET manifest slipway-stage-[0-9a-f]{64}: the registry answered 401 UNAUTHORIZED: unauthorized \(credentials: the runner's docker login for the registry, or cache-registry-token\)$/,
    ],
  ])('%s', async (_name, options, message) => {
    const { registry, host } = await startRegistry(options);
    const config =
      options.auth === 'bearer'
        ? dockerConfig({ auths: { [host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } })
        : mk();
    const { store, deps } = setup(host, { DOCKER_CONFIG: config });
    const err = await store()
      .restore(KEY)
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err?.message).toMatch(message);
    expect(err?.message).not.toContain(PASSWORD);
    expect(leaks(deps, registry, [PASSWORD])).toEqual([]);
  });

  it('a read-only store (a pull request) never writes, even when asked', async () => {
    const { registry, host } = await startRegistry();
    const { store } = setup(host);
    const readOnly = store({ readOnly: 'pull requests read the registry cache and never write it' });
    await readOnly.save(KEY, archive(), 'builder');
    expect(registry.requests).toEqual([]);
    expect(readOnly.readOnly).toMatch(/never write/);
  });

  it('a credential helper that fails is a store fault naming it, without its output', async () => {
    const { host } = await startRegistry({ auth: 'basic', user: USER, password: PASSWORD });
    const { store } = setup(host, { DOCKER_CONFIG: dockerConfig({ credsStore: 'broken' }) }, [
      { match: 'docker-credential-broken get', result: { code: 3, stdout: `oops ${PASSWORD}` } },
    ]);
    await expect(store().restore(KEY)).rejects.toThrow(/^docker-credential-broken get exited 3$/);
  });
});

describe('cache-registry, tags and challenges', () => {
  it.each([
    [
      'ghcr.io/acme/slipway-cache',
      { host: 'ghcr.io', name: 'acme/slipway-cache', origin: 'https://ghcr.io', credentialsKey: 'ghcr.io' },
    ],
    [
      '127.0.0.1:5000/slipway-cache',
      { host: '127.0.0.1:5000', name: 'slipway-cache', origin: 'http://127.0.0.1:5000' },
    ],
    ['localhost:5000/a/b', { origin: 'http://localhost:5000' }],
    ['registry.internal:5000/cache', { origin: 'https://registry.internal:5000' }],
    [
      'docker.io/acme/cache',
      { origin: 'https://registry-1.docker.io', credentialsKey: 'https://index.docker.io/v1/' },
    ],
  ])('%s', (value, expected) => {
    expect(parseCacheRegistry('cache-registry', value)).toMatchObject({ reference: value, ...expected });
  });

  it.each([
    ['acme/slipway-cache', 'it names no registry host'],
    ['https://ghcr.io/acme/cache', 'without a scheme'],
    ['ghcr.io/acme/cache:latest', 'without a tag or digest'],
    ['ghcr.io/acme/cache@sha256:abc', 'without a tag or digest'],
    ['ghcr.io/Acme/Cache', 'lower-case letters and digits'],
    ['ghcr.io', 'it names no registry host'],
  ])('%s is one line naming the input', (value, why) => {
    expect(() => parseCacheRegistry('cache-registry', value)).toThrow(
      new RegExp(
        `^Input "cache-registry" is "${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": .*${why}.*, e\\.g\\. ghcr\\.io/acme/slipway-cache\\.$`,
      ),
    );
  });

  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['[::1]:5000', true],
    ['ghcr.io', false],
    ['127.0.0.1.nip.io', false],
    ['10.0.0.1:5000', false],
  ])('loopback %s: %s', (host, loopback) => expect(isLoopback(host)).toBe(loopback));

  it('a tag is the sha256 of the key: within the OCI tag grammar however long the key', () => {
    const tag = tagForKey(`slipway-stage-${'x'.repeat(300)}-${'a'.repeat(40)}`);
    expect(tag).toMatch(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/);
    expect(tag).toBe(
      `slipway-stage-${createHash('sha256')
        .update(`slipway-stage-${'x'.repeat(300)}-${'a'.repeat(40)}`)
        .digest('hex')}`,
    );
  });

  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:samalba/my-app:pull,push',
        },
      },
    ],
    ['Basic realm="Registry Realm"', { scheme: 'basic', params: { realm: 'Registry Realm' } }],
    [
      'Bearer realm=https://ghcr.io/token, service=ghcr.io',
      { scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io' } },
    ],
  ])('challenge %s', (header, expected) => expect(parseChallenge(header)).toEqual(expected));

  it('refuses to send credentials to a plain-http token service off this machine', async () => {
    const { fetchToken } = await import('../../../src/lib/build/registry-auth.js');
    const deps = fakeDeps([]) as Deps & ReturnType<typeof fakeDeps>;
    const fetcher = () => Promise.reject(new Error('must not be called'));
    await expect(
      fetchToken(
        fetcher,
        { scheme: 'bearer', params: { realm: 'http://auth.example/token' } },
        { username: 'u', password: 'p' },
        deps,
      ),
    ).rejects.toThrow('refusing to send credentials to the plain-http token service http://auth.example');
  });
});
