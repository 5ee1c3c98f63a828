import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where wrangler finds the Cloudflare API on the emulator's base URL. */
export const API = '/client/v4';
/** Emulator-only paths: tests' admin calls and the container shim's calls from inside workerd. */
const ADMIN_PREFIXES = ['/__admin/', '/__containers/'];

/** A fault to inject on matching API requests: an HTTP status, a Cloudflare error code, latency, a drop. */
export interface Fault {
  method?: string;
  /** Regular expression matched against the path (without /client/v4). */
  path: string;
  status?: number;
  code?: number;
  message?: string;
  latencyMs?: number;
  drop?: boolean;
  /** How many matching requests it applies to (default 1). */
  times?: number;
}

/** One API request as the request log keeps it (status 0: the connection was dropped). */
export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

/** What a route handler is given: the request, its read body, the response and the path's :params. */
export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: Buffer;
  params: Record<string, string>;
}

type Handler = (call: Call) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

/** A Cloudflare API error: answered in Cloudflare's envelope with its HTTP status and error code. */
export class CloudflareApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function fail(res: ServerResponse, status: number, code: number, message: string): void {
  send(res, status, { success: false, errors: [{ code, message }], messages: [], result: null });
}

/** Answers 200 with `result` in Cloudflare's success envelope. */
export function reply(call: Call, result: unknown): void {
  send(call.res, 200, { success: true, errors: [], messages: [], result });
}

/** The request body as JSON; an empty body reads as `{}`. */
export function readJson<T>(call: Call): T {
  return JSON.parse(call.body.toString() || '{}') as T;
}

function compile(method: string, path: string, handler: Handler): Route {
  const keys: string[] = [];
  const pattern = new RegExp(
    `^${path.replace(/:(\w+)/g, (_whole, key: string) => (keys.push(key), '([^/]+)'))}$`,
  );
  return { method, pattern, keys, handler };
}

function match(routes: Route[], method: string, path: string) {
  for (const route of routes) {
    if (route.method !== method) continue;
    const found = route.pattern.exec(path);
    if (!found) continue;
    const params = Object.fromEntries(
      route.keys.map((key, index) => [key, decodeURIComponent(found[index + 1]!)]),
    );
    return { route, params };
  }
  return undefined;
}

/** The whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The emulator's one router. API routes (under /client/v4, with :params) answer in Cloudflare's
 * envelope, go through the injected faults and are logged in `requests`; an unknown API route is
 * answered with a loud 501 and recorded in `unknown`, so a newer wrangler's new call is noticed
 * rather than silently faked. Admin routes answer plain JSON and are neither faulted nor logged.
 */
export class Router {
  readonly faults: Array<Fault & { used: number }> = [];
  readonly requests: RequestRecord[] = [];
  readonly unknown: string[] = [];
  private readonly apiRoutes: Route[] = [];
  private readonly adminRoutes: Route[] = [];

  constructor(private readonly log: (message: string) => void) {}

  /** A Cloudflare API route; `path` is relative to /client/v4 and may hold :params. */
  on(method: string, path: string, handler: Handler): void {
    this.apiRoutes.push(compile(method, path, handler));
  }

  /** An emulator-only route under /__admin/ or /__containers/. */
  admin(method: string, path: string, handler: Handler): void {
    this.adminRoutes.push(compile(method, path, handler));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const call: Call = { req, res, url, body: await readBody(req), params: {} };
    const method = req.method ?? 'GET';
    if (ADMIN_PREFIXES.some((prefix) => url.pathname.startsWith(prefix)))
      return this.handleAdmin(call, method);
    const record = (status: number) =>
      this.requests.push({ method, path: url.pathname.replace(API, ''), status });
    if (!url.pathname.startsWith(API)) {
      record(404);
      return fail(res, 404, 7000, `no route for ${url.pathname}`);
    }
    const path = url.pathname.slice(API.length);
    if (await this.injectFault(call, method, path, record)) return;
    const found = match(this.apiRoutes, method, path);
    if (!found) return this.unhandled(res, `${method} ${path}`, record);
    try {
      await found.route.handler({ ...call, params: found.params });
      record(res.statusCode);
    } catch (err) {
      const error =
        err instanceof CloudflareApiError ? err : new CloudflareApiError(500, 10013, (err as Error).message);
      record(error.status);
      fail(res, error.status, error.code, error.message);
    }
  }

  /** Applies the first matching fault still in force; true when it answered (or dropped) the request. */
  private async injectFault(
    call: Call,
    method: string,
    path: string,
    record: (status: number) => void,
  ): Promise<boolean> {
    const fault = this.faults.find(
      (candidate) =>
        candidate.used < (candidate.times ?? 1) &&
        (!candidate.method || candidate.method === method) &&
        new RegExp(candidate.path).test(path),
    );
    if (!fault) return false;
    fault.used++;
    this.log(`fault injected on ${method} ${path}: ${JSON.stringify(fault)}`);
    if (fault.latencyMs) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
    if (fault.drop) {
      record(0);
      call.req.socket.destroy();
      return true;
    }
    if (!fault.status && !fault.code) return false;
    const status = fault.status ?? 400;
    record(status);
    fail(call.res, status, fault.code ?? 10000 + status, fault.message ?? `injected failure (${status})`);
    return true;
  }

  private unhandled(res: ServerResponse, line: string, record: (status: number) => void): void {
    this.unknown.push(line);
    this.log(`UNHANDLED ROUTE: ${line} (a newer wrangler's call? add it to the emulator)`);
    record(501);
    fail(res, 501, 7003, `The Slipway Cloudflare emulator does not implement ${line}`);
  }

  private async handleAdmin(call: Call, method: string): Promise<void> {
    const found = match(this.adminRoutes, method, call.url.pathname);
    if (!found) return send(call.res, 404, { error: `no admin route ${method} ${call.url.pathname}` });
    try {
      await found.route.handler({ ...call, params: found.params });
    } catch (err) {
      send(call.res, 500, { error: (err as Error).message });
    }
  }
}
