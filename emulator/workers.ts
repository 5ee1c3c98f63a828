import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Log, LogLevel, Miniflare, type MiniflareOptions } from 'miniflare';
import { containerShimModule } from './container-shim.js';
import type { Module, Script, Version } from './state.js';

/** A fault on a served Worker's responses (the smoke test's adversary). */
export interface WorkerFault {
  /** Worker name; any when absent. */
  script?: string;
  /** Regular expression matched against the request path; any when absent. */
  path?: string;
  /** Only while this version is live; or only while any other version is (a broken next deploy). */
  version?: string;
  notVersion?: string;
  /** unhealthy: status "unhealthy" in a JSON body; wrong-version: another version.id; status: answer it. */
  kind: 'unhealthy' | 'slow' | 'wrong-version' | 'status';
  status?: number;
  latencyMs?: number;
  /** How many matching requests it applies to (default: every one until cleared). */
  times?: number;
}

type ModuleType = 'ESModule' | 'CommonJS' | 'Text' | 'Data' | 'CompiledWasm';

/** Module types by the content type wrangler uploads them with (source maps are not code). */
function moduleType(m: Module): ModuleType | undefined {
  const t = m.type.split(';')[0]!.trim();
  if (t === 'application/javascript+module') return 'ESModule';
  if (t === 'application/javascript' || t === 'text/javascript') return 'CommonJS';
  if (t === 'text/plain') return 'Text';
  if (t === 'application/wasm') return 'CompiledWasm';
  if (t === 'application/source-map') return undefined;
  return 'Data';
}

interface Served {
  name: string;
  server: Server;
  url: string;
  mf?: Miniflare;
  /** The version the Miniflare instance runs. */
  versionId?: string;
}

/**
 * Makes deployed Workers live: each Worker gets a loopback URL (its workers.dev stand-in) where the
 * live version's uploaded modules run in Miniflare, with its vars, secrets, version metadata and
 * Durable Objects. A deployment or rollback swaps what the URL serves. Faults can be injected on
 * the responses: unhealthy, slow, wrong version, a status.
 */
export class WorkerHost {
  private readonly served = new Map<string, Served>();
  readonly faults: Array<WorkerFault & { used: number }> = [];
  /** Binding types seen in uploads that the host does not emulate (loud, like unknown routes). */
  readonly unsupported: string[] = [];

  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    /** The live version of a Worker now (state lookup). */
    private readonly live: (name: string) => { script: Script; version?: Version } | undefined,
    private readonly adminBase: () => string,
    private readonly log: (m: string) => void,
  ) {}

  url(name: string): string | undefined {
    return this.served.get(name)?.url;
  }

  list(): Record<string, { url: string; version?: string }> {
    return Object.fromEntries(
      [...this.served.values()].map((s) => [s.name, { url: s.url, version: this.live(s.name)?.version?.id }]),
    );
  }

  /** Opens a Worker's URL (once). What it serves is decided per request: always the live version. */
  async open(name: string): Promise<string> {
    const existing = this.served.get(name);
    if (existing) return existing.url;
    const server = createServer((req, res) => {
      this.handle(s, req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`emulator: ${err.message}`);
      });
    });
    const s: Served = { name, server, url: '' };
    this.served.set(name, s);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return s.url;
  }

  /** Runs the live version in Miniflare, reconfiguring after a deployment or rollback. */
  private async ensure(s: Served): Promise<Miniflare | undefined> {
    const run = async () => {
      const live = this.live(s.name);
      if (!live?.version) return undefined;
      if (s.mf && s.versionId === live.version.id) return s.mf;
      const options = this.options(live.script, live.version);
      if (s.mf) await s.mf.setOptions(options);
      else s.mf = new Miniflare(options);
      await s.mf.ready;
      s.versionId = live.version.id;
      this.log(`serving ${s.name} version ${live.version.id} at ${s.url}`);
      return s.mf;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private options(script: Script, version: Version): MiniflareOptions {
    const bindings: Record<string, unknown> = {};
    const durableObjects: Record<string, { className: string; useSQLite: boolean }> = {};
    for (const b of version.bindings) {
      const name = String(b.name);
      if (b.type === 'plain_text') bindings[name] = String(b.text);
      else if (b.type === 'json') bindings[name] = b.json;
      else if (b.type === 'secret_text') bindings[name] = version.secrets[name] ?? '';
      else if (b.type === 'inherit') bindings[name] = version.secrets[name] ?? '';
      else if (b.type === 'version_metadata')
        bindings[name] = { id: version.id, tag: version.tag ?? '', timestamp: version.createdOn };
      else if (b.type === 'durable_object_namespace' && !b.script_name)
        durableObjects[name] = { className: String(b.class_name), useSQLite: true };
      else {
        const what = `${String(b.type)} (binding ${name} of ${script.name})`;
        if (!this.unsupported.includes(what)) this.unsupported.push(what);
        this.log(`UNSUPPORTED BINDING: ${what} is not emulated; the Worker runs without it`);
      }
    }
    const containerClasses = version.containerClasses.filter((c) =>
      Object.values(durableObjects).some((d) => d.className === c),
    );
    const modules = version.modules.flatMap((m) => {
      const type = moduleType(m);
      return type ? [{ type, path: `/worker/${m.name}`, contents: m.content }] : [];
    });
    const main = modules.find((m) => m.path === `/worker/${version.mainModule}`);
    if (!main) throw new Error(`main module ${version.mainModule} was not uploaded`);
    // Container classes get the emulator's ctx.container (see container-shim.ts) through an entry
    // module that re-exports the Worker with those classes wrapped.
    const entry = containerClasses.length
      ? {
          type: 'ESModule' as const,
          path: '/worker/__slipway_entry.mjs',
          contents: [
            `import * as worker from './${version.mainModule}';`,
            `import { withContainer } from './__slipway_container.mjs';`,
            `export * from './${version.mainModule}';`,
            `export default worker.default;`,
            ...containerClasses.map(
              (c) => `export const ${c} = withContainer(worker.${c}, ${JSON.stringify(c)});`,
            ),
          ].join('\n'),
        }
      : undefined;
    const shim = containerClasses.length
      ? [
          {
            type: 'ESModule' as const,
            path: '/worker/__slipway_container.mjs',
            contents: containerShimModule(`${this.adminBase()}/__containers`, script.name),
          },
        ]
      : [];
    return {
      name: script.name,
      host: '127.0.0.1',
      port: 0,
      log: new Log(LogLevel.WARN),
      cf: false,
      modulesRoot: '/worker',
      modules: [...(entry ? [entry] : [main]), ...shim, ...modules.filter((m) => m !== main || entry)],
      compatibilityDate: version.compatibilityDate ?? '2025-01-01',
      compatibilityFlags: version.compatibilityFlags,
      bindings: bindings as MiniflareOptions['bindings'],
      durableObjects,
    } as MiniflareOptions;
  }

  private async handle(s: Served, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const mf = await this.ensure(s);
    if (!mf) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`There is nothing here yet: ${s.name} has no live version.`);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const fault = this.faults.find(
      (f) =>
        (f.times === undefined || f.used < f.times) &&
        (!f.script || f.script === s.name) &&
        (!f.version || f.version === s.versionId) &&
        (!f.notVersion || f.notVersion !== s.versionId) &&
        (!f.path || new RegExp(f.path).test(path)),
    );
    if (fault) fault.used++;
    if (fault?.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault?.kind === 'status') {
      res.writeHead(fault.status ?? 503, { 'content-type': 'text/plain' });
      res.end(`injected ${fault.status ?? 503}`);
      return;
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string') headers.set(k, v);
      else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    }
    const method = req.method ?? 'GET';
    const response = await mf.dispatchFetch(`http://${s.name}.workers.dev${req.url ?? '/'}`, {
      method,
      headers: headers as never,
      body: method === 'GET' || method === 'HEAD' ? undefined : Buffer.concat(chunks),
      redirect: 'manual',
    });
    let body = Buffer.from(await response.arrayBuffer());
    if (fault && (fault.kind === 'unhealthy' || fault.kind === 'wrong-version')) {
      try {
        const doc = JSON.parse(body.toString()) as { status?: string; version?: { id?: string } };
        if (fault.kind === 'unhealthy') doc.status = 'unhealthy';
        else doc.version = { ...doc.version, id: '00000000-0000-4000-8000-000000000000' };
        body = Buffer.from(JSON.stringify(doc));
      } catch {
        // not JSON: served as it came
      }
    }
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'content-encoding' && k !== 'transfer-encoding') out[k] = v;
    });
    out['content-length'] = String(body.length);
    res.writeHead(response.status, out);
    res.end(method === 'HEAD' ? undefined : body);
  }

  async stop(): Promise<void> {
    for (const s of this.served.values()) {
      await s.mf?.dispose().catch(() => undefined);
      await new Promise<void>((r) => s.server.close(() => r()));
    }
    this.served.clear();
  }
}
