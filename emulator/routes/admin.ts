import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import {
  faultMatches,
  imageFault,
  UNHEALTHY_DEFAULT_PATH,
  type ImageFault,
  type RolloutOptions,
} from '../containers.js';
import { send, readJson, type Call, type Fault, type Router } from '../router.js';
import { workerFault, type WorkerFault } from '../worker-faults.js';
import type { Emulated } from './context.js';

const OK = { ok: true };

interface ContainerStart {
  script: string;
  className: string;
  /** The Durable Object's id. */
  id?: string;
  env?: Record<string, string>;
  entrypoint?: string[];
}

/** The container shim's start: runs the application bound to the Durable Object class's namespace. */
async function startContainer({ state, containers }: Emulated, call: Call): Promise<void> {
  const request = readJson<ContainerStart>(call);
  const script = state.script(request.script);
  const namespace = script && state.namespace(script, request.className);
  const application = namespace ? containers.byNamespace(namespace) : undefined;
  if (!application)
    return send(call.res, 404, {
      error: `no container application is bound to ${request.className} of ${request.script}: deploy with a containers section first`,
    });
  send(call.res, 200, {
    container: await containers.start(application, request.env ?? {}, request.entrypoint, request.id),
  });
}

/** Hop-by-hop headers a proxy does not pass on (RFC 9110 §7.6.1), and the ones it recomputes. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
]);

function passOn(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(headers).filter(
      (entry): entry is [string, string | string[]] => entry[1] !== undefined && !HOP_BY_HOP.has(entry[0]),
    ),
  );
}

/** A JSON object with its status set to "unhealthy" (the `unhealthy` image fault); undefined for anything else. */
function unhealthyBody(body: Buffer): Buffer | undefined {
  try {
    const doc = JSON.parse(body.toString()) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
    return Buffer.from(JSON.stringify({ ...doc, status: 'unhealthy' }));
  } catch {
    return undefined;
  }
}

/**
 * Answers the shim with the container's response, spoiled when an `unhealthy` fault applies: a JSON
 * object gets `"status": "unhealthy"` (what an extended or json health check reads); any other
 * answer becomes a 503, so a basic check (any 2xx) fails too.
 */
function relay(call: Call, upstream: IncomingMessage, unhealthy: boolean): Promise<void> {
  const headers = passOn(upstream.headers);
  if (!unhealthy) {
    call.res.writeHead(upstream.statusCode ?? 502, headers);
    upstream.pipe(call.res);
    return new Promise((resolve) => call.res.on('close', resolve));
  }
  const json = String(upstream.headers['content-type'] ?? '').includes('json');
  const chunks: Buffer[] = [];
  upstream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) =>
    upstream.on('end', () => {
      const spoiled = json ? unhealthyBody(Buffer.concat(chunks)) : undefined;
      const body = spoiled ?? Buffer.from('unhealthy (emulator image fault)\n');
      const status = spoiled ? (upstream.statusCode ?? 502) : 503;
      const type = spoiled ? {} : { 'content-type': 'text/plain' };
      call.res.writeHead(status, { ...headers, ...type, 'content-length': body.length });
      call.res.end(body, resolve);
    }),
  );
}

/**
 * The shim's getTcpPort(port).fetch, relayed to 127.0.0.1:<port>. A request on a path of an
 * `unhealthy` fault of the container's image (default /health/extended) is spoiled. A connection
 * failure answers 502 with x-slipway-proxy-error, which the shim turns into its usual
 * "The container is not listening on port N (...)" error.
 */
async function proxyToContainer({ containers }: Emulated, call: Call): Promise<void> {
  const query = call.url.searchParams;
  const path = query.get('path') || '/';
  const image = containers.imageOf(query.get('container') ?? '');
  const pathname = new URL(path, 'http://container').pathname;
  const unhealthy =
    image !== undefined &&
    containers.faults.some(
      (fault) =>
        fault.kind === 'unhealthy' &&
        faultMatches(fault, image) &&
        new RegExp(fault.path ?? UNHEALTHY_DEFAULT_PATH).test(pathname),
    );
  await new Promise<void>((resolve) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port: Number(query.get('port')),
        path,
        method: call.req.method,
        headers: passOn(call.req.headers),
      },
      (upstream) => void relay(call, upstream, unhealthy).then(resolve),
    );
    outgoing.on('error', (err) => {
      call.res.writeHead(502, { 'x-slipway-proxy-error': err.message.replace(/[^\x20-\x7e]/g, ' ') });
      call.res.end(resolve);
    });
    outgoing.end(call.body);
  });
}

/** The container shim's calls from inside workerd (see container-shim.ts): start, wait, stop, fetch. */
function registerShimRoutes(router: Router, emulated: Emulated): void {
  const { containers } = emulated;
  const containerId = (call: Call) => call.url.searchParams.get('container') ?? '';
  router.admin('POST', '/__containers/start', (call) => startContainer(emulated, call));
  router.admin('GET', '/__containers/wait', async (call) =>
    send(call.res, 200, { exitCode: await containers.wait(containerId(call)) }),
  );
  router.admin('POST', '/__containers/stop', async (call) => {
    await containers.stop(containerId(call));
    send(call.res, 200, OK);
  });
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
    router.admin(method, '/__containers/proxy', (call) => proxyToContainer(emulated, call));
}

/**
 * Image faults (unhealthy, crash-after, stuck-at-step; matched by exact image or regex) and the
 * rollout pace (stepMs, graceMs), changed at run time.
 */
function registerContainerAdminRoutes(router: Router, { containers }: Emulated): void {
  router.admin('POST', '/__admin/container-faults', (call) => {
    try {
      containers.faults.push(imageFault(readJson<Partial<ImageFault>>(call)));
    } catch (err) {
      return send(call.res, 400, { error: (err as Error).message });
    }
    send(call.res, 200, OK);
  });
  router.admin('GET', '/__admin/container-faults', (call) => send(call.res, 200, containers.faults));
  router.admin('DELETE', '/__admin/container-faults', (call) => {
    containers.faults.length = 0;
    send(call.res, 200, OK);
  });
  router.admin('GET', '/__admin/rollout-options', (call) => send(call.res, 200, containers.options));
  router.admin('POST', '/__admin/rollout-options', (call) => {
    const body = readJson<Partial<RolloutOptions>>(call);
    for (const key of ['stepMs', 'graceMs'] as const)
      if (typeof body[key] === 'number' && body[key] >= 0) containers.options[key] = body[key];
    if (body.order === 'serving-first' || body.order === 'serving-last')
      containers.options.order = body.order;
    send(call.res, 200, containers.options);
  });
  router.admin('GET', '/__admin/containers', async (call) => {
    await containers.sync();
    send(call.res, 200, {
      applications: containers.applications,
      running: containers.list(),
      instances: Object.fromEntries(
        containers.applications.map((app) => [app.name, containers.instancesOf(app)]),
      ),
    });
  });
}

/** The admin side tests drive: API faults, Worker faults, the served Workers, the containers. */
export function registerAdminRoutes(router: Router, emulated: Emulated): void {
  const { workers } = emulated;
  router.admin('POST', '/__admin/faults', (call) => {
    router.faults.push({ ...(JSON.parse(call.body.toString()) as Fault), used: 0 });
    send(call.res, 200, OK);
  });
  router.admin('DELETE', '/__admin/faults', (call) => {
    router.faults.length = 0;
    send(call.res, 200, OK);
  });
  // A Worker fault (worker-faults.ts): 400 with the reason when it is not one.
  router.admin('POST', '/__admin/worker-faults', (call) => {
    try {
      workers.faults.push({ ...workerFault(readJson<Partial<WorkerFault>>(call)), used: 0, seen: 0 });
    } catch (err) {
      return send(call.res, 400, { error: (err as Error).message });
    }
    send(call.res, 200, OK);
  });
  router.admin('GET', '/__admin/worker-faults', (call) => send(call.res, 200, workers.faults));
  router.admin('DELETE', '/__admin/worker-faults', (call) => {
    workers.faults.length = 0;
    send(call.res, 200, OK);
  });
  // What Workers analytics answers from (analytics.ts): every request a Worker version served.
  router.admin('GET', '/__admin/invocations', (call) => send(call.res, 200, workers.invocations));
  router.admin('GET', '/__admin/workers', (call) => send(call.res, 200, workers.list()));
  registerContainerAdminRoutes(router, emulated);
  registerShimRoutes(router, emulated);
}
