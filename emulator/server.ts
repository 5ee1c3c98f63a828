import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContainerRuntime, type RolloutOptions } from './containers.js';
import { API, fail, Router, type Fault, type RequestRecord } from './router.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerContainerRoutes } from './routes/containers.js';
import type { Emulated } from './routes/context.js';
import { registerDeploymentRoutes } from './routes/deployments.js';
import { registerGraphqlRoutes } from './routes/graphql.js';
import { registerNamespaceRoutes } from './routes/namespaces.js';
import { registerScriptRoutes } from './routes/scripts.js';
import { registerSubdomainRoutes } from './routes/subdomain.js';
import { registerVersionRoutes } from './routes/versions.js';
import { CloudflareState } from './state.js';
import { WorkerHost } from './workers.js';

export { CloudflareApiError, type Fault } from './router.js';

export interface EmulatorOptions {
  log?: (message: string) => void;
  /** The docker client that runs container applications (default: SLIPWAY_DOCKER or docker). */
  docker?: string;
  /** Environment added to every container the emulator runs. */
  containerEnv?: Record<string, string>;
  /**
   * How fast container rollouts go: `stepMs` each step holds (default 1000), `graceMs` the cap on an
   * application's rollout_active_grace_period (default 0). POST /__admin/rollout-options changes them.
   */
  rollout?: Partial<RolloutOptions>;
}

/** Each resource's routes, registered on the one router (see routes/). */
const ROUTE_MODULES = [
  registerScriptRoutes,
  registerVersionRoutes,
  registerDeploymentRoutes,
  registerSubdomainRoutes,
  registerNamespaceRoutes,
  registerContainerRoutes,
  registerGraphqlRoutes,
  registerAdminRoutes,
];

/**
 * A local stand-in for the Cloudflare API routes wrangler 4.x uses to deploy, list and roll back
 * Workers. Unknown routes are logged and answered with a loud error, so a newer wrangler's new call
 * is noticed rather than silently faked.
 */
export class CloudflareEmulator {
  readonly state = new CloudflareState();
  readonly faults: Array<Fault & { used: number }>;
  /** Every request, method and path, in order: tests assert on what wrangler did. */
  readonly requests: RequestRecord[];
  readonly unknown: string[];
  /** Deployed Workers, live on loopback URLs. */
  readonly workers: WorkerHost;
  /** Container applications and the containers running their images. */
  readonly containers: ContainerRuntime;
  private readonly router: Router;
  private server?: Server;
  private base = '';

  constructor(options: EmulatorOptions = {}) {
    const log = options.log ?? (() => undefined);
    this.workers = new WorkerHost(
      (name) => this.liveWorker(name),
      () => this.base,
      log,
      () => this.state.subdomain,
    );
    this.containers = new ContainerRuntime(
      options.docker ?? (process.env.SLIPWAY_DOCKER || 'docker'),
      options.containerEnv ?? {},
      log,
      options.rollout,
    );
    this.router = new Router(log);
    this.faults = this.router.faults;
    this.requests = this.router.requests;
    this.unknown = this.router.unknown;
    const emulated: Emulated = { state: this.state, workers: this.workers, containers: this.containers, log };
    for (const register of ROUTE_MODULES) register(this.router, emulated);
  }

  /** A Worker's script and its live version now (what its URL serves). */
  private liveWorker(name: string) {
    const script = this.state.script(name);
    return script ? { script, version: this.state.liveVersion(script) } : undefined;
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.router.handle(req, res).catch((err: Error) => fail(res, 500, 10013, err.message));
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
