import { createHash } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Deps, Fetch, FetchResponse } from '../core/io.js';
import { fetchToken, parseChallenge, basicAuthorization, type RegistryCredentials } from './registry-auth.js';
import type { RegistryRepository } from './registry-ref.js';

/**
 * The few routes of the OCI distribution API the registry stage store uses, spoken directly over the
 * Fetch port (github.com/opencontainers/distribution-spec, spec.md: "Pulling manifests", "Pulling
 * blobs", "Checking if content exists in the registry", "Pushing a blob monolithically" (POST then
 * PUT), "Pushing Manifests"). Authentication is answered when the registry asks for it (a 401 with
 * `WWW-Authenticate`); redirects are followed here, never carrying the Authorization header to
 * another host (spec.md, "API": clients "MUST NOT forward Authorization headers across host
 * boundaries").
 */
export class RegistryClient {
  private authorization?: string;
  private credentials?: Promise<RegistryCredentials | undefined>;

  constructor(
    readonly repository: RegistryRepository,
    private readonly deps: Pick<Deps, 'log' | 'env'> & { fetch: Fetch },
    /** The credentials, looked up once, when the registry first asks. */
    private readonly lookup: () => Promise<RegistryCredentials | undefined>,
    token?: string,
  ) {
    // cache-registry-token goes as a Bearer token from the first request; a registry that wants
    // something else answers 401 with its challenge, which is answered below.
    if (token) this.authorization = `Bearer ${token}`;
  }

  private path(route: string): string {
    return `/v2/${this.repository.name}/${route}`;
  }

  /** HEAD a blob: 200 it exists, 404 it does not ("Checking if content exists in the registry"). */
  async blobExists(digest: string): Promise<boolean> {
    const response = await this.request('HEAD', this.path(`blobs/${digest}`));
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw await failure(response, `HEAD blob ${digest}`);
  }

  /**
   * Monolithic upload, POST then PUT: POST /v2/<name>/blobs/uploads/ answers 202 with a Location;
   * PUT <location>?digest=<digest> (the location may carry query parameters of its own) with the
   * bytes answers 201. The registry checks the digest against the bytes.
   */
  async uploadBlob(digest: string, bytes: Uint8Array): Promise<void> {
    const started = await this.request('POST', this.path('blobs/uploads/'));
    const location = started.headers.get('location');
    if (started.status !== 202 || !location) throw await failure(started, 'POST blob upload');
    await drain(started);
    const url = new URL(location, this.repository.origin);
    url.searchParams.set('digest', digest);
    const put = await this.request('PUT', url.href, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes,
      timeoutMs: BLOB_TIMEOUT_MS,
    });
    if (put.status !== 201) throw await failure(put, `PUT blob ${digest}`);
    await drain(put);
  }

  /** PUT a manifest by tag; 201 with the registry's Docker-Content-Digest ("Pushing Manifests"). */
  async putManifest(tag: string, bytes: Uint8Array, mediaType: string): Promise<string | undefined> {
    const response = await this.request('PUT', this.path(`manifests/${tag}`), {
      headers: { 'Content-Type': mediaType },
      body: bytes,
    });
    if (response.status !== 201) throw await failure(response, `PUT manifest ${tag}`);
    await drain(response);
    return response.headers.get('docker-content-digest') ?? undefined;
  }

  /** GET a manifest by tag with an Accept of its media type; undefined on 404 ("Pulling manifests"). */
  async getManifest(
    tag: string,
    mediaType: string,
  ): Promise<{ bytes: Buffer; digestHeader?: string; contentType?: string } | undefined> {
    const response = await this.request('GET', this.path(`manifests/${tag}`), {
      headers: { Accept: mediaType },
    });
    if (response.status === 404) return void (await drain(response));
    if (response.status !== 200) throw await failure(response, `GET manifest ${tag}`);
    const bytes = await readAll(response, MAX_MANIFEST_BYTES);
    return {
      bytes,
      digestHeader: response.headers.get('docker-content-digest') ?? undefined,
      contentType: response.headers.get('content-type')?.split(';')[0]?.trim(),
    };
  }

  /**
   * GET a blob into `file`, hashing it while it is written; stops as soon as more than `size` bytes
   * arrive. Returns what arrived: its sha256 digest and length, for the caller to compare with the
   * descriptor ("Clients SHOULD verify that the response body matches the requested digest").
   */
  async downloadBlob(digest: string, size: number, file: string): Promise<{ digest: string; bytes: number }> {
    const response = await this.request('GET', this.path(`blobs/${digest}`), { timeoutMs: BLOB_TIMEOUT_MS });
    if (response.status !== 200 || !response.body) throw await failure(response, `GET blob ${digest}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(bytes > size ? new TooLarge() : null, chunk);
      },
    });
    try {
      await pipeline(Readable.from(response.body), count, createWriteStream(file));
    } catch (err) {
      rmSync(file, { force: true });
      if (!(err instanceof TooLarge)) throw err;
    }
    return { digest: `sha256:${hash.digest('hex')}`, bytes };
  }

  /** One request, answered with credentials once when the registry asks (401) for them. */
  private async request(method: string, target: string, init: RequestOptions = {}): Promise<FetchResponse> {
    const response = await this.send(method, target, init);
    if (response.status !== 401) return response;
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    const answer = challenge && (await this.answer(challenge));
    if (!answer) return response;
    await drain(response);
    this.authorization = answer;
    return this.send(method, target, init);
  }

  /**
   * The Authorization a challenge asks for: Bearer, a token from the realm it names (distribution's
   * token authentication spec); Basic, the credentials themselves. Undefined when there is nothing
   * new to offer (the request's 401 stands, and says so).
   */
  private async answer(challenge: {
    scheme: string;
    params: Record<string, string>;
  }): Promise<string | undefined> {
    this.credentials ??= this.lookup();
    const credentials = await this.credentials;
    if (challenge.scheme === 'bearer') {
      const token = await fetchToken(this.deps.fetch, challenge, credentials, this.deps);
      return `Bearer ${token}`;
    }
    if (challenge.scheme !== 'basic') return undefined;
    const basic = basicAuthorization(credentials, this.deps.env.GITHUB_ACTOR || 'slipway');
    if (basic) this.deps.log.secret(basic.slice('Basic '.length));
    return basic !== this.authorization ? basic : undefined;
  }

  /** Sends one request, following redirects; Authorization goes to the registry's own origin only. */
  private async send(method: string, target: string, init: RequestOptions): Promise<FetchResponse> {
    let url = new URL(target, this.repository.origin);
    for (let hop = 0; ; hop++) {
      const own = url.origin === this.repository.origin;
      const response = await this.deps.fetch(url.href, {
        method,
        headers: {
          ...init.headers,
          ...(own && this.authorization ? { Authorization: this.authorization } : {}),
        },
        body: init.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(init.timeoutMs ?? REQUEST_TIMEOUT_MS),
      });
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || !location || hop >= MAX_REDIRECTS) return response;
      await drain(response);
      url = new URL(location, url);
    }
  }
}

interface RequestOptions {
  headers?: Record<string, string>;
  body?: Uint8Array;
  timeoutMs?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const REQUEST_TIMEOUT_MS = 60_000;
/** A blob of a few hundred megabytes on a slow link still fits. */
const BLOB_TIMEOUT_MS = 15 * 60_000;

/** Registries are expected to take manifests of at least 4 MB (spec.md, "Pushing Manifests"); ours are 1 KB. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

class TooLarge extends Error {}

/** A response's exact bytes (a manifest is hashed as it came), up to a limit. */
async function readAll(response: FetchResponse, limit: number): Promise<Buffer> {
  if (!response.body) return Buffer.from(await response.text(), 'utf8');
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body) {
    length += chunk.length;
    if (length > limit) throw new Error(`the manifest is larger than ${limit} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Reads what is left of a response, so its connection can be reused. */
async function drain(response: FetchResponse): Promise<void> {
  await response.text().catch(() => '');
}

/**
 * One line for a response the store did not expect: the status and the registry's own error code and
 * message ({"errors":[{"code","message"}]}, spec.md "Error Codes"), and for 401/403 where
 * credentials come from.
 */
async function failure(response: FetchResponse, what: string): Promise<Error> {
  const text = await response.text().catch(() => '');
  let detail = '';
  try {
    const first = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
    if (first) detail = ` ${[first.code, first.message].filter(Boolean).join(': ')}`.slice(0, 200);
  } catch {
    // not the spec's JSON: the status alone
  }
  const hint =
    response.status === 401 || response.status === 403
      ? " (credentials: the runner's docker login for the registry, or cache-registry-token)"
      : '';
  return new Error(`${what}: the registry answered ${response.status}${detail}${hint}`);
}
