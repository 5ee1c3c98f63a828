import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Log, LogLevel, Miniflare, type MiniflareOptions } from 'miniflare';
import type { Invocation, InvocationStatus } from './analytics.js';
import { containerShimModule } from './container-shim.js';
import { answerException, FRONT_WORKER, FRONT_WORKER_SCRIPT, THREW_HEADER } from './exceptions.js';
import { readBody } from './router.js';
import { previewHost, previewVersion } from './previews.js';
import type { Deployment, Module, Script, Version } from './state.js';
import { OVERRIDES_HEADER, routeRequest, VERSION_KEY_HEADER, type Route } from './traffic.js';
import { takeFault, type ActiveFault, type WorkerFault } from './worker-faults.js';

export type { WorkerFault } from './worker-faults.js';

type ModuleType = 'ESModule' | 'CommonJS' | 'Text' | 'Data' | 'CompiledWasm';

interface WorkerModule {
  type: ModuleType;
  path: string;
  contents: Uint8Array | string;
}

type DurableObjects = Record<string, { className: string; useSQLite: boolean }>;

/** Module types by the content type wrangler uploads them with (source maps are not code). */
function moduleType(module: Module): ModuleType | undefined {
  const contentType = module.type.split(';')[0]!.trim();
  if (contentType === 'application/javascript+module') return 'ESModule';
  if (contentType === 'application/javascript' || contentType === 'text/javascript') return 'CommonJS';
  if (contentType === 'text/plain') return 'Text';
  if (contentType === 'application/wasm') return 'CompiledWasm';
  if (contentType === 'application/source-map') return undefined;
  return 'Data';
}

/** The uploaded modules Miniflare can load, under /worker/. */
function uploadedModules(version: Version): WorkerModule[] {
  return version.modules.flatMap((module) => {
    const type = moduleType(module);
    return type ? [{ type, path: `/worker/${module.name}`, contents: module.content }] : [];
  });
}

/** An entry module that re-exports the Worker with its container classes wrapped (withContainer). */
function containerEntry(mainModule: string, containerClasses: string[]): WorkerModule {
  return {
    type: 'ESModule',
    path: '/worker/__slipway_entry.mjs',
    contents: [
      `import * as worker from './${mainModule}';`,
      `import { withContainer } from './__slipway_container.mjs';`,
      `export * from './${mainModule}';`,
      `export default worker.default;`,
      ...containerClasses.map(
        (className) =>
          `export const ${className} = withContainer(worker.${className}, ${JSON.stringify(className)});`,
      ),
    ].join('\n'),
  };
}

/** The request's headers, repeated ones kept, for dispatchFetch. */
function requestHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const each of value) headers.append(name, each);
  }
  return headers;
}

/** An unhealthy or wrong-version fault rewrites a JSON body; anything else is served as it came. */
function faultedBody(fault: WorkerFault | undefined, body: Buffer): Buffer {
  if (!fault || (fault.kind !== 'unhealthy' && fault.kind !== 'wrong-version')) return body;
  try {
    const doc = JSON.parse(body.toString()) as { status?: string; version?: { id?: string } };
    if (fault.kind === 'unhealthy') doc.status = 'unhealthy';
    else doc.version = { ...doc.version, id: '00000000-0000-4000-8000-000000000000' };
    return Buffer.from(JSON.stringify(doc));
  } catch {
    return body; // not JSON: served as it came
  }
}

/** Writes Miniflare's response with the (maybe rewritten) body and its true length. */
function writeResponse(res: ServerResponse, response: Response, body: Buffer, method: string): void {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'content-encoding' && name !== 'transfer-encoding')
      headers[name] = value;
  });
  headers['content-length'] = String(body.length);
  res.writeHead(response.status, headers);
  res.end(method === 'HEAD' ? undefined : body);
}

/** One version of a Worker running in its own Miniflare. */
class Instance {
  miniflare?: Miniflare;
  /** Settles when the Miniflare is ready (or failed to start). */
  readonly ready: Promise<Miniflare>;
  /** Requests it is serving now: a retired instance is disposed when the last one ends. */
  inFlight = 0;

  constructor(
    readonly versionId: string,
    options: () => MiniflareOptions,
  ) {
    this.ready = this.start(options);
  }

  private async start(options: () => MiniflareOptions): Promise<Miniflare> {
    this.miniflare = new Miniflare(options());
    await this.miniflare.ready;
    return this.miniflare;
  }

  /** Stops the Miniflare, once it has started (or failed to). */
  async dispose(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.miniflare?.dispose().catch(() => undefined);
  }
}

/** What a request to a served host goes to: a version of a script, or why there is nothing there. */
type Target = { script: Script; version: Version } | { missing: string };

interface Served {
  /** The Worker's name (its invocations are recorded under it). */
  name: string;
  /** The host name the Worker sees in request URLs. */
  host: string;
  server: Server;
  url: string;
  /** The version a request goes to, decided per request. */
  target: (req: IncomingMessage) => Target;
  /** A Miniflare per version served (the current deployment's, or a preview's), made on first use. */
  instances: Map<string, Instance>;
  /** Versions that left the deployment while serving a request: disposed when it ends. */
  retiring: Set<Instance>;
  /** Requests routed by share so far (the position in traffic.ts's deterministic sequence). */
  routedByShare: number;
}

/** The headers that steer a request to a version (traffic.ts); repeated field lines joined with commas. */
function steeringHeaders(req: IncomingMessage): { overrides?: string; versionKey?: string } {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(', ') : value);
  return {
    overrides: first(req.headers[OVERRIDES_HEADER]),
    versionKey: first(req.headers[VERSION_KEY_HEADER]),
  };
}

/**
 * Makes deployed Workers live: each Worker gets a loopback URL (its workers.dev stand-in) where the
 * versions of its current deployment run in Miniflare, one instance per version, each with its vars,
 * secrets, version metadata and Durable Objects. Each request goes to a version as Cloudflare's
 * gradual deployments route it (traffic.ts: by share, by the Cloudflare-Workers-Version-Key header,
 * or to the version a Cloudflare-Workers-Version-Overrides header names). A version's instance starts
 * on its first request and is disposed when a deployment leaves it out. A version's preview URLs
 * (`<first 8 of its id>-<worker>`, `<alias>-<worker>`) get loopback URLs of their own through
 * openPreview, serving that version whatever the split (previews.ts). Faults can be injected on the
 * responses: unhealthy, slow, wrong version, a status, an exception (worker-faults.ts).
 *
 * Every request a version serves is recorded in `invocations` (the data of Workers analytics,
 * analytics.ts): `scriptThrewException` when the Worker threw (or dispatchFetch rejected, or an
 * `exception` fault hit it), answered with Cloudflare's 1101 page (exceptions.ts); `internalError`
 * when its Miniflare would not start; `clientDisconnected` when the client left before the answer
 * was sent; else `success`, whatever the HTTP status the Worker answered (a `status` fault is a
 * Worker's own answer too). A request to a Worker with no live version is no invocation.
 *
 * Not emulated: Cloudflare gives each Durable Object one version per deployment, whichever version
 * the calling Worker runs (gradual deployments docs, "Gradual deployments for Durable Objects"); here
 * each version's Miniflare has its own Durable Objects, running that version's code. Containers are
 * shared: the container shim names a container by script, class and object id, not by version.
 */
export class WorkerHost {
  private readonly served = new Map<string, Served>();
  /** Preview hosts (openPreview), by host name. */
  private readonly previews = new Map<string, Served>();
  readonly faults: ActiveFault[] = [];
  /** Every request a version served, oldest first. */
  readonly invocations: Invocation[] = [];
  /** Binding types seen in uploads that the host does not emulate (loud, like unknown routes). */
  readonly unsupported: string[] = [];

  constructor(
    /** The live version of a Worker now (state lookup); its script holds the current deployment. */
    private readonly live: (name: string) => { script: Script; version?: Version } | undefined,
    private readonly adminBase: () => string,
    private readonly log: (message: string) => void,
    /** The account's workers.dev subdomain (preview host names). */
    private readonly subdomain: () => string = () => 'slipway-test',
  ) {}

  url(name: string): string | undefined {
    return this.served.get(name)?.url;
  }

  /** Each Worker's URL, its top-share version, its deployment's split and the versions running. */
  list(): Record<
    string,
    { url: string; version?: string; versions: Deployment['versions']; running: string[] }
  > {
    return Object.fromEntries(
      [...this.served.values()].map((served) => {
        const live = this.live(served.name);
        const entry = {
          url: served.url,
          version: live?.version?.id,
          versions: live?.script.deployments[0]?.versions ?? [],
          running: [...served.instances.keys()],
        };
        return [served.name, entry];
      }),
    );
  }

  /**
   * Opens a Worker's URL (once). What it serves is decided per request, from the current deployment.
   * Called again after a deployment: versions it left out are disposed now rather than on the next
   * request.
   */
  async open(name: string): Promise<string> {
    const existing = this.served.get(name);
    if (existing) {
      this.retire(existing, this.keptVersions(this.currentDeployment(name)));
      return existing.url;
    }
    const served = this.makeServed(name, `${name}.workers.dev`, (req) => this.productionTarget(served, req));
    this.served.set(name, served);
    return this.listen(served);
  }

  /**
   * Opens a preview host on its own loopback URL (once): `<label>-<worker>`, where the label is a
   * version id's first 8 characters or an alias (previews.ts). Each request goes to the version the
   * label names now, whatever the deployment's split: an alias uploaded again serves its new version.
   * A label Cloudflare would serve no preview at (unknown, an alias past the 1000 retained, a Worker
   * with a Durable Object, preview URLs off) answers 404: Cloudflare's answer for a workers.dev host
   * with nothing behind it is not documented (nor found in wrangler), so the emulator says so plainly.
   * Its requests are recorded as invocations of that version, as the production host's are (whether
   * Workers analytics counts preview requests is not documented either; "You cannot view logs for
   * Preview URLs today", preview-urls.mdx, is about logs).
   */
  async openPreview(worker: string, label: string): Promise<string> {
    const host = previewHost(worker, label, this.subdomain());
    const existing = this.previews.get(host);
    if (existing) return existing.url;
    const served = this.makeServed(worker, host, () => this.previewTarget(served, label));
    this.previews.set(host, served);
    return this.listen(served);
  }

  /** A host's server, not yet listening: each request goes to `target`'s version. */
  private makeServed(name: string, host: string, target: (req: IncomingMessage) => Target): Served {
    const server = createServer((req, res) => {
      this.handle(served, req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`emulator: ${err.message}`);
      });
    });
    const served: Served = {
      name,
      host,
      server,
      url: '',
      target,
      instances: new Map(),
      retiring: new Set(),
      routedByShare: 0,
    };
    return served;
  }

  /** Listens on a loopback port; the served host's URL. */
  private async listen(served: Served): Promise<string> {
    await new Promise<void>((resolve) => served.server.listen(0, '127.0.0.1', resolve));
    served.url = `http://127.0.0.1:${(served.server.address() as AddressInfo).port}`;
    return served.url;
  }

  /** The production host's version for a request: the current deployment's, by traffic.ts. */
  private productionTarget(served: Served, req: IncomingMessage): Target {
    const current = this.currentDeployment(served.name);
    this.retire(served, this.keptVersions(current));
    const route = current && this.route(served, current.deployment, req);
    const version = route && current.script.versions.find((candidate) => candidate.id === route.versionId);
    if (!current || !version)
      return { missing: `There is nothing here yet: ${served.name} has no live version.` };
    return { script: current.script, version };
  }

  /** A preview host's version: the one its label names now; the one it named before is stopped. */
  private previewTarget(served: Served, label: string): Target {
    const script = this.live(served.name)?.script;
    const version = script && previewVersion(script, label);
    this.retire(served, new Set(version ? [version.id] : []));
    if (!script || !version) return { missing: `emulator: no preview at ${served.host} (404)` };
    return { script, version };
  }

  /** The Worker's current deployment (the newest), when it has a live version. */
  private currentDeployment(name: string): { script: Script; deployment: Deployment } | undefined {
    const live = this.live(name);
    const deployment = live?.script.deployments[0];
    return live?.version && deployment ? { script: live.script, deployment } : undefined;
  }

  /** The versions of the current deployment, which the production host keeps running. */
  private keptVersions(current: { deployment: Deployment } | undefined): Set<string> {
    return new Set(current?.deployment.versions.map((entry) => entry.version_id));
  }

  /** Disposes the instances of versions the host no longer serves (after their requests end). */
  private retire(served: Served, kept: Set<string>): void {
    for (const [versionId, instance] of served.instances) {
      if (kept.has(versionId)) continue;
      served.instances.delete(versionId);
      this.log(`${served.host} no longer serves ${served.name} version ${versionId}: stopping it`);
      if (instance.inFlight) served.retiring.add(instance);
      else void instance.dispose();
    }
  }

  /** The version's instance, started on first use; a start that fails is forgotten (retried next time). */
  private instance(served: Served, script: Script, version: Version): Instance {
    const existing = served.instances.get(version.id);
    if (existing) return existing;
    const instance = new Instance(version.id, () => this.options(script, version));
    served.instances.set(version.id, instance);
    instance.ready.then(
      () => this.log(`serving ${served.name} version ${version.id} at ${served.url}`),
      () => {
        if (served.instances.get(version.id) === instance) served.instances.delete(version.id);
        void instance.dispose();
      },
    );
    return instance;
  }

  private options(script: Script, version: Version): MiniflareOptions {
    const { bindings, durableObjects } = this.miniflareBindings(script, version);
    const containerClasses = version.containerClasses.filter((className) =>
      Object.values(durableObjects).some((durableObject) => durableObject.className === className),
    );
    const compatibilityDate = version.compatibilityDate ?? '2025-01-01';
    // The front Worker gets every request first and marks the version's exceptions (exceptions.ts).
    const front = {
      name: FRONT_WORKER,
      modules: true,
      script: FRONT_WORKER_SCRIPT,
      compatibilityDate,
      serviceBindings: { WORKER: script.name },
    };
    const worker = {
      name: script.name,
      modulesRoot: '/worker',
      modules: this.miniflareModules(script, version, containerClasses),
      compatibilityDate,
      compatibilityFlags: version.compatibilityFlags,
      bindings: bindings as MiniflareOptions['bindings'],
      durableObjects,
    };
    return {
      host: '127.0.0.1',
      port: 0,
      log: new Log(LogLevel.WARN),
      cf: false,
      workers: [front, worker],
    } as MiniflareOptions;
  }

  /** Miniflare bindings for the version's uploaded ones; types not emulated are reported, loudly. */
  private miniflareBindings(script: Script, version: Version) {
    const bindings: Record<string, unknown> = {};
    const durableObjects: DurableObjects = {};
    for (const binding of version.bindings) {
      const name = String(binding.name);
      if (binding.type === 'plain_text') bindings[name] = String(binding.text);
      else if (binding.type === 'json') bindings[name] = binding.json;
      else if (binding.type === 'secret_text') bindings[name] = version.secrets[name] ?? '';
      else if (binding.type === 'inherit') bindings[name] = version.secrets[name] ?? '';
      else if (binding.type === 'version_metadata')
        bindings[name] = { id: version.id, tag: version.tag ?? '', timestamp: version.createdOn };
      else if (binding.type === 'durable_object_namespace' && !binding.script_name)
        durableObjects[name] = { className: String(binding.class_name), useSQLite: true };
      else {
        const what = `${String(binding.type)} (binding ${name} of ${script.name})`;
        if (!this.unsupported.includes(what)) this.unsupported.push(what);
        this.log(`UNSUPPORTED BINDING: ${what} is not emulated; the Worker runs without it`);
      }
    }
    return { bindings, durableObjects };
  }

  /** The modules to load, main module first (or the container entry that wraps it). */
  private miniflareModules(script: Script, version: Version, containerClasses: string[]): WorkerModule[] {
    const modules = uploadedModules(version);
    const main = modules.find((module) => module.path === `/worker/${version.mainModule}`);
    if (!main) throw new Error(`main module ${version.mainModule} was not uploaded`);
    if (!containerClasses.length) return [main, ...modules.filter((module) => module !== main)];
    // Container classes get the emulator's ctx.container (see container-shim.ts) through an entry
    // module that re-exports the Worker with those classes wrapped.
    const shim: WorkerModule = {
      type: 'ESModule',
      path: '/worker/__slipway_container.mjs',
      contents: containerShimModule(`${this.adminBase()}/__containers`, script.name),
    };
    return [containerEntry(version.mainModule, containerClasses), shim, ...modules];
  }

  private async handle(served: Served, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = served.target(req);
    if ('missing' in target) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(target.missing);
      return;
    }
    const { script, version } = target;
    const instance = this.instance(served, script, version);
    instance.inFlight++;
    const datetime = Date.now();
    let status: InvocationStatus = 'success';
    try {
      status = await this.invoke(served, instance, version.id, req, res);
    } finally {
      instance.inFlight--;
      if (!instance.inFlight && served.retiring.delete(instance)) void instance.dispose();
      // Closed before the whole answer was written: the client left (metrics-and-analytics.mdx).
      if (status === 'success' && res.destroyed && !res.writableFinished) status = 'clientDisconnected';
      this.invocations.push({ datetime, scriptName: served.name, scriptVersion: version.id, status });
    }
  }

  /**
   * Serves the request from the version's instance. A Worker that threw, or whose dispatchFetch
   * rejected, is answered as Cloudflare answers an exception (scriptThrewException). A Miniflare that
   * would not start is the runtime failing, not the Worker's code: `internalError` ("Workers runtime
   * encountered an error", metrics-and-analytics.mdx), answered with the reason for whoever debugs it.
   */
  private async invoke(
    served: Served,
    instance: Instance,
    versionId: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<InvocationStatus> {
    let miniflare: Miniflare;
    try {
      miniflare = await instance.ready;
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`emulator: ${served.name} version ${versionId} would not start: ${(err as Error).message}`);
      return 'internalError';
    }
    try {
      return await this.serve(served, miniflare, versionId, req, res);
    } catch (err) {
      this.log(`${served.name} version ${versionId} could not serve ${req.url}: ${(err as Error).message}`);
      answerException(req, res);
      return 'scriptThrewException';
    }
  }

  /** The version this request goes to (traffic.ts), counting the requests routed by share. */
  private route(served: Served, deployment: Deployment, req: IncomingMessage): Route | undefined {
    const route = routeRequest({
      worker: served.name,
      split: deployment.versions,
      ...steeringHeaders(req),
      sequence: served.routedByShare,
    });
    if (route?.by === 'share') served.routedByShare++;
    return route;
  }

  /** Serves the request from the version's Miniflare, with the faults in force for that version. */
  private async serve(
    served: Served,
    miniflare: Miniflare,
    versionId: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<InvocationStatus> {
    const requestBody = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const fault = takeFault(this.faults, { script: served.name, versionId, path });
    if (fault?.latencyMs) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
    if (fault?.kind === 'exception') {
      answerException(req, res);
      return 'scriptThrewException';
    }
    if (fault?.kind === 'status') {
      res.writeHead(fault.status ?? 503, { 'content-type': 'text/plain' });
      res.end(`injected ${fault.status ?? 503}`);
      return 'success';
    }
    const method = req.method ?? 'GET';
    const response = await miniflare.dispatchFetch(`http://${served.host}${req.url ?? '/'}`, {
      method,
      headers: requestHeaders(req) as never,
      body: method === 'GET' || method === 'HEAD' ? undefined : requestBody,
      redirect: 'manual',
    });
    if (response.headers.has(THREW_HEADER)) {
      this.log(`${served.name} version ${versionId} threw on ${req.url}: ${await response.text()}`);
      answerException(req, res);
      return 'scriptThrewException';
    }
    writeResponse(res, response, faultedBody(fault, Buffer.from(await response.arrayBuffer())), method);
    return 'success';
  }

  async stop(): Promise<void> {
    for (const served of [...this.served.values(), ...this.previews.values()]) {
      const instances = [...served.instances.values(), ...served.retiring];
      served.instances.clear();
      served.retiring.clear();
      await Promise.all(instances.map((instance) => instance.dispose()));
      await new Promise<void>((resolve) => served.server.close(() => resolve()));
    }
    this.served.clear();
    this.previews.clear();
  }
}
