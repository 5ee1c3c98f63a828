import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An in-process OCI registry for unit tests: just the distribution routes the registry stage store
 * uses, answering as github.com/opencontainers/distribution-spec spec.md says (status codes,
 * Location, Docker-Content-Digest, the {"errors":[…]} body), with the authentication a real one may
 * ask for: none, Basic (as distribution's htpasswd), or Bearer with a token service on the same
 * server (distribution's token spec: a 401 challenge naming realm, service and scope; GET with Basic
 * credentials, or the OAuth2 refresh-token POST). Every request is recorded.
 */
export interface FakeRegistryOptions {
  auth?: 'none' | 'basic' | 'bearer';
  user?: string;
  password?: string;
  /** Bearer only: the refresh token (a docker login identity token) the token service takes. */
  identityToken?: string;
  /** Blob GETs answer 307 to the same server named `localhost` (another host), as a storage backend does. */
  redirectBlobs?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path and query. */
  url: string;
  authorization?: string;
  host?: string;
  body?: string;
}

const SERVICE = 'fake-registry';
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { bytes: Buffer; contentType: string }>();
  /** `<name>:<tag>` → manifest digest. */
  readonly tags = new Map<string, string>();
  readonly requests: RecordedRequest[] = [];
  private readonly uploads = new Map<string, string>();
  /** Issued token → the actions it grants (pull, push). */
  private readonly tokens = new Map<string, Set<string>>();
  private server?: Server;
  port = 0;

  constructor(readonly options: FakeRegistryOptions = {}) {}

  /** Starts on a free loopback port; returns `127.0.0.1:<port>`. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The manifest a tag names, parsed. */
  manifest(name: string, tag: string): { digest: string; json: Record<string, unknown> } | undefined {
    const digest = this.tags.get(`${name}:${tag}`);
    const stored = digest ? this.manifests.get(digest) : undefined;
    return stored && digest
      ? { digest, json: JSON.parse(stored.bytes.toString('utf8')) as Record<string, unknown> }
      : undefined;
  }

  /** Corrupts a stored blob in place, keeping its length: what a damaged storage backend serves. */
  tamper(digest: string): void {
    const bytes = Buffer.from(this.blobs.get(digest)!);
    for (let i = 0; i < bytes.length; i += 97) bytes[i] = bytes[i]! ^ 0xff;
    this.blobs.set(digest, bytes);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    this.requests.push({
      method: req.method ?? '',
      url: `${url.pathname}${url.search}`,
      authorization: req.headers.authorization,
      host: req.headers.host,
      body: body.length && body.length < 2000 ? body.toString('utf8') : undefined,
    });
    if (url.pathname === '/token') return this.token(req, res, url, body);
    const storage = /^\/storage\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (storage) return this.sendBlob(req, res, storage[1]!);
    const name = /^\/v2\/(.+?)\/(blobs|manifests)\//.exec(url.pathname)?.[1];
    if (!name) return error(res, 404, 'NAME_UNKNOWN');
    if (!this.authorized(req, res, name)) return;
    this.route(req, res, url, name, body);
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL, name: string, body: Buffer): void {
    const rest = url.pathname.slice(`/v2/${name}/`.length);
    const method = req.method ?? '';
    if (method === 'POST' && rest === 'blobs/uploads/') {
      const id = randomUUID();
      this.uploads.set(id, name);
      // The location carries a query of its own, as distribution's _state does.
      res.writeHead(202, {
        Location: `/v2/${name}/blobs/uploads/${id}?_state=opaque`,
        'Docker-Upload-UUID': id,
      });
      return void res.end();
    }
    const upload = /^blobs\/uploads\/([^/]+)$/.exec(rest);
    if (method === 'PUT' && upload) return this.finishUpload(res, url, name, upload[1]!, body);
    const blob = /^blobs\/(sha256:[0-9a-f]{64})$/.exec(rest);
    if (blob && (method === 'GET' || method === 'HEAD')) {
      if (this.options.redirectBlobs && method === 'GET' && this.blobs.has(blob[1]!)) {
        res.writeHead(307, { Location: `http://localhost:${this.port}/storage/${blob[1]}` });
        return void res.end();
      }
      return this.sendBlob(req, res, blob[1]!);
    }
    const manifest = /^manifests\/([^/]+)$/.exec(rest);
    if (manifest && method === 'PUT') return this.putManifest(req, res, name, manifest[1]!, body);
    if (manifest && (method === 'GET' || method === 'HEAD'))
      return this.getManifest(req, res, name, manifest[1]!);
    error(res, 405, 'UNSUPPORTED');
  }

  private finishUpload(res: ServerResponse, url: URL, name: string, id: string, body: Buffer): void {
    if (this.uploads.get(id) !== name) return error(res, 404, 'BLOB_UPLOAD_UNKNOWN');
    const digest = url.searchParams.get('digest') ?? '';
    if (url.searchParams.get('_state') !== 'opaque') return error(res, 400, 'BLOB_UPLOAD_INVALID');
    if (!DIGEST.test(digest) || sha256(body) !== digest) return error(res, 400, 'DIGEST_INVALID');
    this.uploads.delete(id);
    this.blobs.set(digest, body);
    res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
    res.end();
  }

  private sendBlob(req: IncomingMessage, res: ServerResponse, digest: string): void {
    const bytes = this.blobs.get(digest);
    if (!bytes) return error(res, 404, 'BLOB_UNKNOWN');
    res.writeHead(200, {
      'Content-Length': bytes.length,
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }

  private putManifest(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    ref: string,
    body: Buffer,
  ): void {
    let json: { config?: { digest?: string }; layers?: Array<{ digest?: string }> };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      return error(res, 400, 'MANIFEST_INVALID');
    }
    // spec.md "Push": a registry MAY refuse a manifest whose blobs it lacks, with MANIFEST_BLOB_UNKNOWN.
    const missing = [json.config, ...(json.layers ?? [])].some(
      (d) => !d?.digest || !this.blobs.has(d.digest),
    );
    if (missing) return error(res, 400, 'MANIFEST_BLOB_UNKNOWN');
    const digest = sha256(body);
    this.manifests.set(digest, { bytes: body, contentType: req.headers['content-type'] ?? '' });
    if (!DIGEST.test(ref)) this.tags.set(`${name}:${ref}`, digest);
    res.writeHead(201, { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest });
    res.end();
  }

  private getManifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): void {
    const digest = DIGEST.test(ref) ? ref : this.tags.get(`${name}:${ref}`);
    const stored = digest ? this.manifests.get(digest) : undefined;
    if (!stored || !digest) return error(res, 404, 'MANIFEST_UNKNOWN');
    res.writeHead(200, {
      'Content-Type': stored.contentType,
      'Content-Length': stored.bytes.length,
      'Docker-Content-Digest': digest,
    });
    res.end(req.method === 'HEAD' ? undefined : stored.bytes);
  }

  /** Whether the request may go on; when not, the 401 with the challenge has been sent. */
  private authorized(req: IncomingMessage, res: ServerResponse, name: string): boolean {
    const { auth = 'none', user, password } = this.options;
    const given = req.headers.authorization ?? '';
    if (auth === 'none') return true;
    if (auth === 'basic') {
      if (given === basic(user!, password!)) return true;
      res.setHeader('WWW-Authenticate', 'Basic realm="fake-registry"');
      error(res, 401, 'UNAUTHORIZED');
      return false;
    }
    const need = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const granted = given.startsWith('Bearer ') ? this.tokens.get(given.slice(7)) : undefined;
    if (granted?.has(need)) return true;
    const scope = `repository:${name}:${need === 'pull' ? 'pull' : 'pull,push'}`;
    res.setHeader(
      'WWW-Authenticate',
      `Bearer realm="http://127.0.0.1:${this.port}/token",service="${SERVICE}",scope="${scope}"`,
    );
    error(res, 401, 'UNAUTHORIZED');
    return false;
  }

  /** The token service: Basic credentials on GET, or the OAuth2 refresh-token POST. */
  private token(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
    const { user, password, identityToken } = this.options;
    const form = req.method === 'POST' ? new URLSearchParams(body.toString('utf8')) : undefined;
    const params = form ?? url.searchParams;
    const ok = form
      ? form.get('grant_type') === 'refresh_token' &&
        !!identityToken &&
        form.get('refresh_token') === identityToken
      : req.headers.authorization === basic(user ?? '', password ?? '');
    if (!ok || params.get('service') !== SERVICE) return error(res, 401, 'UNAUTHORIZED');
    const actions = new Set(
      params
        .getAll('scope')
        .flatMap((scope) => scope.split(' '))
        .flatMap((scope) => scope.split(':')[2]?.split(',') ?? []),
    );
    const token = `issued-${randomUUID()}`;
    this.tokens.set(token, actions);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(form ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }));
  }
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function error(res: ServerResponse, status: number, code: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ code, message: code.toLowerCase().replace(/_/g, ' ') }] }));
}
