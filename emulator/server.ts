import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContainerRuntime, type ApplicationInput, type Rollout } from './containers.js';
import { CloudflareState, type Deployment, type Module, type Script, type Version } from './state.js';
import { WorkerHost, type WorkerFault } from './workers.js';

export interface EmulatorOptions {
  log?: (m: string) => void;
  /** The docker client that runs container applications (default: SLIPWAY_DOCKER or docker). */
  docker?: string;
  /** Environment added to every container the emulator runs. */
  containerEnv?: Record<string, string>;
}

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

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: Buffer;
  params: Record<string, string>;
}

type Handler = (c: Ctx) => Promise<void> | void;

const envelope = (result: unknown) => ({ success: true, errors: [], messages: [], result });
const API = '/client/v4';

export class CloudflareApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function fail(res: ServerResponse, status: number, code: number, message: string): void {
  send(res, status, { success: false, errors: [{ code, message }], messages: [], result: null });
}

/** Parses a multipart upload (wrangler's script and version uploads) with the platform's FormData. */
async function multipart(c: Ctx): Promise<{ metadata: Record<string, unknown>; modules: Module[] }> {
  const form = await new Response(c.body, {
    headers: { 'content-type': c.req.headers['content-type'] ?? '' },
  }).formData();
  let metadata: Record<string, unknown> = {};
  const modules: Module[] = [];
  for (const [name, value] of form.entries()) {
    if (name === 'metadata') {
      metadata = JSON.parse(typeof value === 'string' ? value : await value.text()) as Record<
        string,
        unknown
      >;
    } else if (typeof value !== 'string') {
      modules.push({
        name: value.name || name,
        type: value.type,
        content: Buffer.from(await value.arrayBuffer()),
      });
    }
  }
  return { metadata, modules };
}

function versionResult(state: CloudflareState, s: Script, v: Version) {
  return {
    id: v.id,
    number: v.number,
    metadata: {
      author_email: 'slipway@example.test',
      author_id: 'emulator',
      created_on: v.createdOn,
      modified_on: v.createdOn,
      source: 'wrangler',
      hasPreview: false,
    },
    annotations: {
      ...(v.message ? { 'workers/message': v.message } : {}),
      ...(v.tag ? { 'workers/tag': v.tag } : {}),
      'workers/triggered_by': 'upload',
    },
    resources: {
      script: { etag: v.id.replace(/-/g, ''), handlers: ['fetch'], last_deployed_from: 'wrangler' },
      script_runtime: {
        compatibility_date: v.compatibilityDate,
        compatibility_flags: v.compatibilityFlags,
        usage_model: 'standard',
      },
      bindings: v.bindings.map((b) =>
        b.type === 'durable_object_namespace' && !b.script_name
          ? { ...b, namespace_id: state.namespace(s, String(b.class_name)) }
          : b,
      ),
    },
    script_name: s.name,
  };
}

function deploymentResult(d: Deployment) {
  return {
    id: d.id,
    source: d.source,
    strategy: 'percentage',
    author_email: 'slipway@example.test',
    created_on: d.createdOn,
    annotations: d.message ? { 'workers/message': d.message } : {},
    versions: d.versions,
  };
}

/**
 * A local stand-in for the Cloudflare API routes wrangler 4.x uses to deploy, list and roll back
 * Workers. Unknown routes are logged and answered with a loud error, so a newer wrangler's new call
 * is noticed rather than silently faked.
 */
export class CloudflareEmulator {
  readonly state = new CloudflareState();
  readonly faults: Array<Fault & { used: number }> = [];
  /** Every request, method and path, in order: tests assert on what wrangler did. */
  readonly requests: Array<{ method: string; path: string; status: number }> = [];
  readonly unknown: string[] = [];
  /** Deployed Workers, live on loopback URLs. */
  readonly workers: WorkerHost;
  /** Container applications and the containers running their images. */
  readonly containers: ContainerRuntime;
  private readonly log: (m: string) => void;
  private server?: Server;
  private base = '';
  private readonly routes: Array<{ method: string; pattern: RegExp; keys: string[]; handler: Handler }> = [];

  constructor(opts: EmulatorOptions = {}) {
    this.log = opts.log ?? (() => undefined);
    this.workers = new WorkerHost(
      (name) => {
        const script = this.state.script(name);
        return script ? { script, version: this.state.liveVersion(script) } : undefined;
      },
      () => this.base,
      this.log,
    );
    this.containers = new ContainerRuntime(
      opts.docker ?? (process.env.SLIPWAY_DOCKER || 'docker'),
      opts.containerEnv ?? {},
      this.log,
    );
    const r = (method: string, path: string, handler: Handler) => {
      const keys: string[] = [];
      const pattern = new RegExp(
        `^${path.replace(/:(\w+)/g, (_m, k: string) => (keys.push(k), '([^/]+)'))}$`,
      );
      this.routes.push({ method, pattern, keys, handler });
    };
    const script = (c: Ctx) => {
      const s = this.state.script(c.params.name!);
      if (!s)
        throw new CloudflareApiError(404, 10007, `This Worker does not exist on your account. [code: 10007]`);
      return s;
    };
    const A = '/accounts/:account';
    r('GET', `${A}/workers/services/:name`, (c) => {
      const s = script(c);
      send(
        c.res,
        200,
        envelope({
          id: s.name,
          default_environment: {
            environment: 'production',
            script: { id: s.name, tag: s.tag, etag: s.tag, migration_tag: s.migrationTag },
          },
          created_on: s.createdOn,
        }),
      );
    });
    r('GET', `${A}/workers/scripts`, (c) =>
      send(
        c.res,
        200,
        envelope(
          [...this.state.scripts.values()].map((s) => ({
            id: s.name,
            tag: s.tag,
            etag: s.tag,
            created_on: s.createdOn,
            migration_tag: s.migrationTag,
          })),
        ),
      ),
    );
    r('GET', `${A}/workers/durable_objects/namespaces`, (c) =>
      send(
        c.res,
        200,
        envelope(
          [...this.state.scripts.values()].flatMap((s) =>
            [...s.namespaces].map(([cls, id]) => ({
              id,
              name: `${s.name}_${cls}`,
              script: s.name,
              class: cls,
            })),
          ),
        ),
      ),
    );
    r('GET', `${A}/workers/scripts/:name/deployments`, (c) =>
      send(c.res, 200, envelope({ deployments: script(c).deployments.map(deploymentResult) })),
    );
    r('GET', `${A}/workers/scripts/:name/settings`, (c) =>
      send(
        c.res,
        200,
        envelope({
          bindings: [],
          logpush: false,
          tail_consumers: null,
          compatibility_date: this.state.liveVersion(script(c))?.compatibilityDate,
        }),
      ),
    );
    r('GET', `${A}/workers/scripts/:name/script-settings`, (c) =>
      send(c.res, 200, envelope({ logpush: false, tail_consumers: null, observability: null })),
    );
    r('PATCH', `${A}/workers/scripts/:name/script-settings`, (c) =>
      send(c.res, 200, envelope({ logpush: false, tail_consumers: null, observability: null })),
    );
    r('PUT', `${A}/workers/scripts/:name`, async (c) => {
      const s = this.state.ensureScript(c.params.name!);
      const v = await this.versionFromUpload(s, c);
      const d = this.state.deploy(s, [{ version_id: v.id, percentage: 100 }], v.message);
      await this.workers.open(s.name);
      send(
        c.res,
        200,
        envelope({
          id: s.name,
          tag: s.tag,
          etag: v.id.replace(/-/g, ''),
          deployment_id: v.id,
          startup_time_ms: 1,
          created_on: s.createdOn,
          modified_on: d.createdOn,
          handlers: ['fetch'],
          compatibility_date: v.compatibilityDate,
        }),
      );
    });
    r('POST', `${A}/workers/scripts/:name/versions`, async (c) => {
      const s = script(c);
      const v = await this.versionFromUpload(s, c);
      send(c.res, 200, envelope({ ...versionResult(this.state, s, v), startup_time_ms: 1 }));
    });
    r('GET', `${A}/workers/scripts/:name/versions`, (c) => {
      const s = script(c);
      send(
        c.res,
        200,
        envelope({ items: [...s.versions].reverse().map((v) => versionResult(this.state, s, v)) }),
      );
    });
    r('GET', `${A}/workers/scripts/:name/versions/:id`, (c) => {
      const s = script(c);
      const v = s.versions.find((x) => x.id === c.params.id);
      if (!v) throw new CloudflareApiError(404, 10223, `The version ${c.params.id} does not exist.`);
      send(c.res, 200, envelope(versionResult(this.state, s, v)));
    });
    r('POST', `${A}/workers/scripts/:name/deployments`, async (c) => {
      const s = script(c);
      const body = JSON.parse(c.body.toString() || '{}') as {
        versions?: Deployment['versions'];
        annotations?: Record<string, string>;
      };
      const versions = body.versions ?? [];
      for (const v of versions) {
        if (!s.versions.some((x) => x.id === v.version_id))
          throw new CloudflareApiError(400, 10021, `version ${v.version_id} does not exist`);
      }
      if (versions.reduce((n, v) => n + v.percentage, 0) !== 100)
        throw new CloudflareApiError(400, 10021, 'version percentages must add up to 100');
      // Rolling back across a change of secrets needs force (wrangler re-posts with ?force=true).
      const live = this.state.liveVersion(s);
      const target = s.versions.find((x) => x.id === versions[0]?.version_id);
      const forced = c.url.searchParams.get('force') === 'true';
      // Only deploying an older version (a rollback) across a change of secrets is refused.
      const names = (v: Version) => Object.keys(v.secrets);
      const changed =
        live && target && target.number < live.number
          ? [...new Set([...names(live), ...names(target)])]
              .filter((k) => live.secrets[k] !== target.secrets[k])
              .sort()
          : [];
      if (changed.length && !forced) {
        throw new CloudflareApiError(
          400,
          10220,
          `Rolling back would change secrets. The following secrets have changed: ${changed.join(', ')} [code: 10220]`,
        );
      }
      const d = this.state.deploy(s, versions, body.annotations?.['workers/message']);
      await this.workers.open(s.name);
      send(c.res, 200, envelope(deploymentResult(d)));
    });
    r('GET', `${A}/workers/subdomain`, (c) =>
      send(c.res, 200, envelope({ subdomain: this.state.subdomain })),
    );
    r('GET', `${A}/workers/scripts/:name/subdomain`, (c) =>
      send(c.res, 200, envelope({ enabled: script(c).workersDev, previews_enabled: false })),
    );
    r('POST', `${A}/workers/scripts/:name/subdomain`, (c) => {
      const s = script(c);
      const body = JSON.parse(c.body.toString() || '{}') as { enabled?: boolean };
      s.workersDev = body.enabled ?? true;
      send(c.res, 200, envelope({ enabled: s.workersDev, previews_enabled: false }));
    });

    // Containers (wrangler's containers client: the same envelope under /accounts/:a/containers).
    r('GET', `${A}/containers/me`, (c) =>
      send(
        c.res,
        200,
        envelope({
          external_account_id: c.params.account,
          legacy_identity: c.params.account,
          limits: {
            account_id: c.params.account,
            vcpu_per_deployment: 4,
            memory_mib_per_deployment: 12288,
            disk_mb_per_deployment: 20000,
            total_vcpu: 100,
            total_memory_mib: 409600,
            node_group: 'default',
            ipv4s: 0,
            network_modes: ['public'],
          },
          locations: [],
          defaults: { vcpus: 0.0625, memory_mib: 256, disk_mb: 2000 },
        }),
      ),
    );
    r('POST', `${A}/containers/registries/:domain/credentials`, (c) => {
      // The local registry needs no login; the password is still a one-off value, as on Cloudflare.
      send(
        c.res,
        200,
        envelope({
          account_id: c.params.account,
          registry_host: c.params.domain,
          username: 'v1',
          password: randomBytes(24).toString('hex'),
        }),
      );
    });
    r('GET', `${A}/containers/applications`, (c) => send(c.res, 200, envelope(this.containers.applications)));
    r('POST', `${A}/containers/applications`, (c) => {
      const body = JSON.parse(c.body.toString() || '{}') as ApplicationInput;
      if (!body.name || !body.configuration?.image)
        throw new CloudflareApiError(400, 10021, 'an application needs a name and configuration.image');
      if (this.containers.applications.some((a) => a.name === body.name))
        throw new CloudflareApiError(409, 10021, `an application named ${body.name} already exists`);
      send(c.res, 200, envelope(this.containers.create(body)));
    });
    r('PATCH', `${A}/containers/applications/:id`, (c) => {
      const app = this.containers.modify(
        c.params.id!,
        JSON.parse(c.body.toString() || '{}') as Partial<ApplicationInput>,
      );
      if (!app) throw new CloudflareApiError(404, 10021, `no application ${c.params.id}`);
      send(c.res, 200, envelope(app));
    });
    r('POST', `${A}/containers/applications/:id/rollouts`, async (c) => {
      const before = this.containers.applications.find((a) => a.id === c.params.id)?.configuration.image;
      const rollout = this.containers.rollout(
        c.params.id!,
        JSON.parse(c.body.toString() || '{}') as Partial<Rollout>,
      );
      if (!rollout) throw new CloudflareApiError(404, 10021, `no application ${c.params.id}`);
      // Instances move to the new image: the running one stops, the next request starts the new one.
      if (rollout.target_configuration.image !== before) {
        for (const x of this.containers.list())
          if (x.application === this.containers.applications.find((a) => a.id === c.params.id)?.name)
            await this.containers.stop(x.id);
      }
      send(c.res, 200, envelope(rollout));
    });
  }

  private async versionFromUpload(s: Script, c: Ctx): Promise<Version> {
    const { metadata, modules } = await multipart(c);
    const annotations = (metadata.annotations ?? {}) as Record<string, string>;
    const migrations = metadata.migrations as { new_tag?: string } | undefined;
    if (migrations?.new_tag) s.migrationTag = migrations.new_tag;
    const bindings = ((metadata.bindings ?? []) as Array<Record<string, unknown>>).map((b) => ({ ...b }));
    const secrets: Record<string, string> = {};
    for (const b of bindings) {
      if (b.type === 'secret_text') {
        secrets[String(b.name)] = String(b.text);
        delete b.text; // never returned, as the API does
      }
    }
    // bindings_inherit=strict: secrets not re-sent are inherited from the live version.
    const live = this.state.liveVersion(s);
    for (const b of bindings) {
      if (b.type === 'inherit' && live?.secrets[String(b.name)] !== undefined)
        secrets[String(b.name)] = live.secrets[String(b.name)]!;
    }
    return this.state.addVersion(s, {
      message: annotations['workers/message'],
      tag: annotations['workers/tag'],
      mainModule: String(metadata.main_module ?? modules[0]?.name ?? ''),
      modules,
      bindings,
      compatibilityDate: metadata.compatibility_date as string | undefined,
      compatibilityFlags: (metadata.compatibility_flags as string[] | undefined) ?? [],
      secrets,
      containerClasses: ((metadata.containers ?? []) as Array<{ class_name: string }>).map(
        (x) => x.class_name,
      ),
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    const record = (status: number) =>
      this.requests.push({ method, path: url.pathname.replace(API, ''), status });

    if (url.pathname === '/__admin/faults' && method === 'POST') {
      this.faults.push({ ...(JSON.parse(body.toString()) as Fault), used: 0 });
      return send(res, 200, { ok: true });
    }
    if (url.pathname === '/__admin/faults' && method === 'DELETE') {
      this.faults.length = 0;
      return send(res, 200, { ok: true });
    }
    if (url.pathname.startsWith('/__admin/') || url.pathname.startsWith('/__containers/'))
      return this.admin(method, url, body, res);
    if (!url.pathname.startsWith(API)) {
      record(404);
      return fail(res, 404, 7000, `no route for ${url.pathname}`);
    }
    const path = url.pathname.slice(API.length);

    const fault = this.faults.find(
      (f) => f.used < (f.times ?? 1) && (!f.method || f.method === method) && new RegExp(f.path).test(path),
    );
    if (fault) {
      fault.used++;
      this.log(`fault injected on ${method} ${path}: ${JSON.stringify(fault)}`);
      if (fault.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
      if (fault.drop) {
        record(0);
        req.socket.destroy();
        return;
      }
      if (fault.status || fault.code) {
        const status = fault.status ?? 400;
        record(status);
        return fail(
          res,
          status,
          fault.code ?? 10000 + status,
          fault.message ?? `injected failure (${status})`,
        );
      }
    }

    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (!m) continue;
      const params = Object.fromEntries(route.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)]));
      try {
        await route.handler({ req, res, url, body, params });
        record(res.statusCode);
      } catch (err) {
        const e =
          err instanceof CloudflareApiError
            ? err
            : new CloudflareApiError(500, 10013, (err as Error).message);
        record(e.status);
        fail(res, e.status, e.code, e.message);
      }
      return;
    }
    const line = `${method} ${path}`;
    this.unknown.push(line);
    this.log(`UNHANDLED ROUTE: ${line} (a newer wrangler's call? add it to the emulator)`);
    record(501);
    fail(res, 501, 7003, `The Slipway Cloudflare emulator does not implement ${line}`);
  }

  /** The admin side: Worker faults and URLs, containers, and the container shim's calls. */
  private async admin(method: string, url: URL, body: Buffer, res: ServerResponse): Promise<void> {
    const json = () => JSON.parse(body.toString() || '{}') as Record<string, unknown>;
    const route = `${method} ${url.pathname}`;
    try {
      if (route === 'POST /__admin/worker-faults') {
        this.workers.faults.push({ ...(json() as unknown as WorkerFault), used: 0 });
        return send(res, 200, { ok: true });
      }
      if (route === 'DELETE /__admin/worker-faults') {
        this.workers.faults.length = 0;
        return send(res, 200, { ok: true });
      }
      if (route === 'GET /__admin/workers') return send(res, 200, this.workers.list());
      if (route === 'GET /__admin/containers')
        return send(res, 200, {
          applications: this.containers.applications,
          running: this.containers.list(),
        });
      if (route === 'POST /__containers/start') {
        const b = json() as {
          script: string;
          className: string;
          env?: Record<string, string>;
          entrypoint?: string[];
        };
        const script = this.state.script(b.script);
        const namespace = script && this.state.namespace(script, b.className);
        const app = namespace ? this.containers.byNamespace(namespace) : undefined;
        if (!app)
          return send(res, 404, {
            error: `no container application is bound to ${b.className} of ${b.script}: deploy with a containers section first`,
          });
        return send(res, 200, { container: await this.containers.start(app, b.env ?? {}, b.entrypoint) });
      }
      if (route === 'GET /__containers/wait')
        return send(res, 200, {
          exitCode: await this.containers.wait(url.searchParams.get('container') ?? ''),
        });
      if (route === 'POST /__containers/stop') {
        await this.containers.stop(url.searchParams.get('container') ?? '');
        return send(res, 200, { ok: true });
      }
    } catch (err) {
      return send(res, 500, { error: (err as Error).message });
    }
    return send(res, 404, { error: `no admin route ${route}` });
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => fail(res, 500, 10013, err.message));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return `${this.base}${API}`;
  }

  async stop(): Promise<void> {
    await this.workers.stop();
    await this.containers.stopAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
