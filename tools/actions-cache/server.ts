import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  appendFileSync,
  createReadStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A local stand-in for GitHub's Actions cache service, version 2, as `@actions/cache` 6 calls it
 * (node_modules/@actions/cache/lib/internal/shared/cacheTwirpClient.js and cacheHttpClient.js):
 * - three twirp methods, POST {origin of ACTIONS_RESULTS_URL}/twirp/github.actions.results.api.v1.
 *   CacheService/<Method>, JSON bodies in snake_case, the runtime token as `Authorization: Bearer`;
 *   a miss is 200 {"ok": false}; errors are JSON {code, msg} (the client parses every error body);
 * - the signed blob URLs it hands out, answered as Azure Blob Storage answers the calls
 *   @azure/storage-blob's BlockBlobClient.uploadFile makes (Put Blob, Put Block, Put Block List:
 *   201 only, per its generated blockBlob operation specs), and the plain GET the cache client
 *   makes for any host other than *.blob.core.windows.net. URLs are path-style
 *   (/<account>/<container>/<blob>), as the SDK requires of an IP host.
 * Entries are matched as GitHub documents: the key exactly, then each restore key as a prefix,
 * newest first, always with the same version; an entry is immutable once saved (409 already_exists).
 * Branch scopes are not modelled: every run sees every entry.
 */
export const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.CacheService/';
type Method = 'GetCacheEntryDownloadURL' | 'CreateCacheEntry' | 'FinalizeCacheEntryUpload';

interface Entry {
  id: number;
  key: string;
  version: string;
  file: string;
  committed: boolean;
  createdAt: number;
  /** Blocks staged by Put Block, by id, until Put Block List commits them. */
  blocks: Map<string, string>;
}

/** A fault the next matching calls answer with, instead of doing their work. */
export interface CacheFault {
  /** A twirp method, or blob-put / blob-get. */
  call: Method | 'blob-put' | 'blob-get';
  /** The HTTP status to answer (500/502/503/504 are retried by the client; 501 is not). */
  status?: number;
  /** Hold the answer this long first (a slow upload or download). */
  delayMs?: number;
  /** How many calls it affects; every call when omitted. */
  times?: number;
}

export interface CacheRequest {
  call: string;
  status: number;
}

export class ActionsCacheService {
  private server: Server | undefined;
  private base = '';
  private readonly dir = mkdtempSync(join(tmpdir(), 'slipway-actions-cache-'));
  private readonly secret = randomUUID();
  private nextId = 1;
  private faults: CacheFault[] = [];
  readonly entries: Entry[] = [];
  readonly requests: CacheRequest[] = [];
  /** The runtime token this service accepts (what the runner gives JavaScript actions). */
  readonly token = `slipway-runtime-${randomUUID()}`;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.base;
  }

  async stop(): Promise<void> {
    // Close every connection first: a stalled upload (an injected delay) must not hold the stop.
    const closed = new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
    this.server?.closeAllConnections();
    await closed;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * What the runner gives a JavaScript action step for this service (actions/runner
   * NodeScriptActionHandler: ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL, and ACTIONS_CACHE_SERVICE_V2
   * when the service is v2).
   */
  runtime(): Record<'ACTIONS_RUNTIME_TOKEN' | 'ACTIONS_RESULTS_URL' | 'ACTIONS_CACHE_SERVICE_V2', string> {
    return {
      ACTIONS_RUNTIME_TOKEN: this.token,
      ACTIONS_RESULTS_URL: this.base,
      ACTIONS_CACHE_SERVICE_V2: 'True',
    };
  }

  /** Answers the next matching calls with a fault; `clearFaults` ends them. */
  fault(fault: CacheFault): void {
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Replaces a saved entry's bytes (a corrupt entry, as a truncated or damaged upload leaves). */
  corrupt(key: string): void {
    const entry = this.entries.find((e) => e.key === key && e.committed);
    if (!entry) throw new Error(`no saved cache entry with key ${key}`);
    writeFileSync(entry.file, 'not an archive');
  }

  /** Forgets every entry: a new repository, or entries evicted. */
  clear(): void {
    for (const entry of this.entries.splice(0)) rmSync(entry.file, { force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const call = url.pathname.startsWith(TWIRP_PREFIX)
      ? url.pathname.slice(TWIRP_PREFIX.length)
      : req.method === 'PUT'
        ? 'blob-put'
        : 'blob-get';
    const fault = this.takeFault(call);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    try {
      if (fault?.status) {
        await drain(req);
        this.answerFault(res, call, fault.status);
      } else if (url.pathname.startsWith(TWIRP_PREFIX)) await this.twirp(call as Method, req, res);
      else await this.blob(url, req, res);
    } catch (error) {
      json(res, 500, { code: 'internal', msg: (error as Error).message });
    }
    this.requests.push({ call, status: res.statusCode });
  }

  private takeFault(call: string): CacheFault | undefined {
    const fault = this.faults.find((f) => f.call === call && (f.times === undefined || f.times > 0));
    if (fault?.times !== undefined) fault.times--;
    return fault;
  }

  private answerFault(res: ServerResponse, call: string, status: number): void {
    if (call.startsWith('blob-')) {
      res.writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': 'InternalError' });
      res.end(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>InternalError</Code><Message>injected fault ${status}</Message></Error>`,
      );
    } else
      json(res, status, {
        code: status === 501 ? 'unimplemented' : 'internal',
        msg: `injected fault ${status}`,
      });
  }

  private async twirp(method: Method, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = JSON.parse((await drain(req)).toString() || '{}') as Record<string, unknown>;
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return json(res, 401, {
        code: 'unauthenticated',
        msg: 'the runtime token is missing or not this run’s',
      });
    if (method === 'GetCacheEntryDownloadURL') return this.lookup(body, res);
    if (method === 'CreateCacheEntry') return this.create(body, res);
    if (method === 'FinalizeCacheEntryUpload') return this.finalize(body, res);
    json(res, 404, { code: 'bad_route', msg: `no such method: ${String(method)}` });
  }

  /** The key exactly, then each restore key as a prefix (newest entry first), for the same version. */
  private lookup(body: Record<string, unknown>, res: ServerResponse): void {
    const version = String(body.version ?? '');
    const saved = this.entries
      .filter((e) => e.committed && e.version === version)
      .sort((a, b) => b.createdAt - a.createdAt);
    const exact = saved.find((e) => e.key === body.key);
    const restoreKeys = (body.restore_keys as string[] | undefined) ?? [];
    const partial = restoreKeys.map((prefix) => saved.find((e) => e.key.startsWith(prefix))).find(Boolean);
    const hit = exact ?? partial;
    if (!hit) return json(res, 200, { ok: false });
    json(res, 200, { ok: true, signed_download_url: this.blobUrl(hit, 'r'), matched_key: hit.key });
  }

  private create(body: Record<string, unknown>, res: ServerResponse): void {
    const key = String(body.key ?? '');
    const version = String(body.version ?? '');
    if (this.entries.some((e) => e.key === key && e.version === version))
      return json(res, 409, {
        code: 'already_exists',
        msg: 'cache entry with the same key, version, and scope already exists',
      });
    const id = this.nextId++;
    const entry: Entry = {
      id,
      key,
      version,
      file: join(this.dir, `entry-${id}`),
      committed: false,
      createdAt: Date.now(),
      blocks: new Map(),
    };
    writeFileSync(entry.file, '');
    this.entries.push(entry);
    json(res, 200, { ok: true, signed_upload_url: this.blobUrl(entry, 'cw') });
  }

  private finalize(body: Record<string, unknown>, res: ServerResponse): void {
    const entry = this.entries.find((e) => e.key === body.key && e.version === body.version && !e.committed);
    if (!entry)
      return json(res, 404, { code: 'not_found', msg: `no upload in progress for key ${String(body.key)}` });
    const size = statSync(entry.file).size;
    if (String(size) !== String(body.size_bytes))
      return json(res, 200, {
        ok: false,
        message: `uploaded ${size} bytes, but the client reported ${String(body.size_bytes)}`,
      });
    entry.committed = true;
    entry.createdAt = Date.now();
    json(res, 200, { ok: true, entry_id: String(entry.id) });
  }

  /** A path-style URL signed for one entry and permission, as a SAS is. */
  private blobUrl(entry: Entry, permission: 'r' | 'cw'): string {
    return `${this.base}devstoreaccount1/actions-cache/entry-${entry.id}?sp=${permission}&sig=${this.sign(entry.id, permission)}`;
  }

  private sign(id: number, permission: string): string {
    return createHmac('sha256', this.secret).update(`${id}:${permission}`).digest('hex');
  }

  /** Put Blob, Put Block, Put Block List (201 each), and GET (200 with the bytes). */
  private async blob(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = Number(/\/devstoreaccount1\/actions-cache\/entry-(\d+)$/.exec(url.pathname)?.[1]);
    const entry = this.entries.find((e) => e.id === id);
    const permission = req.method === 'PUT' ? 'cw' : 'r';
    const signature = url.searchParams.get('sig') ?? '';
    const expected = this.sign(id, permission);
    if (
      !entry ||
      url.searchParams.get('sp') !== permission ||
      signature.length !== expected.length ||
      !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))
    ) {
      await drain(req);
      res.writeHead(403, { 'content-type': 'application/xml', 'x-ms-error-code': 'AuthenticationFailed' });
      return void res.end(
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>signature does not match</Message></Error>',
      );
    }
    if (req.method === 'PUT') return this.put(entry, url, req, res);
    if (req.method !== 'GET') return void res.writeHead(405).end();
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': statSync(entry.file).size,
    });
    createReadStream(entry.file).pipe(res);
  }

  private async put(entry: Entry, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (entry.committed) {
      await drain(req);
      res.writeHead(409, { 'x-ms-error-code': 'BlobImmutable' });
      return void res.end();
    }
    const comp = url.searchParams.get('comp');
    const body = await drain(req);
    if (comp === 'block') {
      const block = join(this.dir, `entry-${entry.id}-block-${entry.blocks.size}`);
      writeFileSync(block, body);
      entry.blocks.set(url.searchParams.get('blockid') ?? '', block);
    } else if (comp === 'blocklist') {
      writeFileSync(entry.file, '');
      for (const [, id] of body.toString().matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)</g)) {
        const block = entry.blocks.get(id!);
        if (!block) return void res.writeHead(400, { 'x-ms-error-code': 'InvalidBlockList' }).end();
        appendFileSync(entry.file, readFileSync(block));
        rmSync(block, { force: true });
      }
      entry.blocks.clear();
    } else writeFileSync(entry.file, body);
    res.writeHead(201, { 'x-ms-request-id': randomUUID(), etag: `"0x${entry.id}"` });
    res.end();
  }
}

async function drain(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
