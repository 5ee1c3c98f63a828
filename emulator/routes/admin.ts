import { send, readJson, type Call, type Fault, type Router } from '../router.js';
import type { WorkerFault } from '../workers.js';
import type { Emulated } from './context.js';

const OK = { ok: true };

interface ContainerStart {
  script: string;
  className: string;
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
    container: await containers.start(application, request.env ?? {}, request.entrypoint),
  });
}

/** The container shim's calls from inside workerd (see container-shim.ts): start, wait, stop. */
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
}

/** The admin side tests drive: API faults, Worker faults, the served Workers, the containers. */
export function registerAdminRoutes(router: Router, emulated: Emulated): void {
  const { workers, containers } = emulated;
  router.admin('POST', '/__admin/faults', (call) => {
    router.faults.push({ ...(JSON.parse(call.body.toString()) as Fault), used: 0 });
    send(call.res, 200, OK);
  });
  router.admin('DELETE', '/__admin/faults', (call) => {
    router.faults.length = 0;
    send(call.res, 200, OK);
  });
  router.admin('POST', '/__admin/worker-faults', (call) => {
    workers.faults.push({ ...readJson<WorkerFault>(call), used: 0 });
    send(call.res, 200, OK);
  });
  router.admin('DELETE', '/__admin/worker-faults', (call) => {
    workers.faults.length = 0;
    send(call.res, 200, OK);
  });
  router.admin('GET', '/__admin/workers', (call) => send(call.res, 200, workers.list()));
  router.admin('GET', '/__admin/containers', (call) =>
    send(call.res, 200, { applications: containers.applications, running: containers.list() }),
  );
  registerShimRoutes(router, emulated);
}
