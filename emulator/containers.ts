import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';

/** A container application as the API stores it (the fields wrangler sends and reads). */
export interface ApplicationInput {
  name: string;
  configuration: { image: string; instance_type?: string };
  durable_objects?: { namespace_id: string };
  max_instances?: number;
  instances?: number;
}

/** Other fields wrangler sends (constraints, scheduling policy, …) are kept and returned as sent. */
export interface Application extends ApplicationInput {
  id: string;
  created_at: string;
  version: number;
  instances: number;
}

export interface Rollout {
  id: string;
  application_id: string;
  created_at: string;
  kind?: string;
  strategy?: string;
  step_percentage?: number;
  target_configuration: Application['configuration'];
  status: 'completed';
}

/** Memory and CPU of Cloudflare's instance types, applied to the local container. */
const INSTANCE_LIMITS: Record<string, { memory: string; cpus: string }> = {
  dev: { memory: '256m', cpus: '0.0625' },
  lite: { memory: '256m', cpus: '0.0625' },
  basic: { memory: '1g', cpus: '0.25' },
  'standard-1': { memory: '4g', cpus: '0.5' },
  'standard-2': { memory: '6g', cpus: '1' },
  'standard-3': { memory: '8g', cpus: '2' },
  'standard-4': { memory: '12g', cpus: '4' },
};

interface Running {
  id: string;
  applicationId: string;
  image: string;
  exited?: Promise<number>;
}

function docker(
  bin: string,
  args: string[],
  env?: Record<string, string>,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

/** `docker run` arguments for one instance of the application, with the instance type's limits. */
function runArgs(app: Application, envNames: string[], entrypoint: string[] | undefined): string[] {
  const limits = INSTANCE_LIMITS[app.configuration.instance_type ?? 'dev'] ?? INSTANCE_LIMITS.dev!;
  return [
    'run',
    '-d',
    '--network',
    'host',
    '--pull',
    'missing',
    '--label',
    'slipway.emulator=1',
    '--label',
    `slipway.application=${app.name}`,
    '--memory',
    limits.memory,
    '--cpus',
    limits.cpus,
    // Values come from this process's environment, never the command line.
    ...envNames.flatMap((name) => ['-e', name]),
    ...(entrypoint?.length ? ['--entrypoint', entrypoint[0]!] : []),
    app.configuration.image,
    ...(entrypoint?.slice(1) ?? []),
  ];
}

/**
 * Runs the live container application's image the way Cloudflare runs an instance: one container
 * per application, started on the Durable Object's first request, on the host network (the only
 * network these machines allow), with the instance type's memory and CPU. A rollout to a new image
 * replaces it on the next start.
 */
export class ContainerRuntime {
  readonly applications: Application[] = [];
  readonly rollouts: Rollout[] = [];
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly dockerBin: string,
    /** Extra environment for every container (e.g. no deferred tool downloads in tests). */
    private readonly extraEnv: Record<string, string>,
    private readonly log: (m: string) => void,
  ) {}

  byNamespace(namespaceId: string): Application | undefined {
    return this.applications.find((app) => app.durable_objects?.namespace_id === namespaceId);
  }

  create(body: ApplicationInput): Application {
    const app: Application = {
      ...body,
      id: randomUUID(),
      created_at: new Date().toISOString(),
      version: 1,
      instances: body.instances ?? 0,
    };
    this.applications.push(app);
    return app;
  }

  modify(id: string, body: Partial<ApplicationInput>): Application | undefined {
    const app = this.applications.find((candidate) => candidate.id === id);
    if (!app) return undefined;
    Object.assign(app, body, { configuration: { ...app.configuration, ...(body.configuration ?? {}) } });
    app.version++;
    return app;
  }

  /**
   * Moves the application to the rollout's target configuration, at once (the rollout is
   * `completed` when created). Its running instance is replaced by the route (stopInstancesOf).
   */
  rollout(id: string, body: Partial<Rollout>): Rollout | undefined {
    const app = this.applications.find((candidate) => candidate.id === id);
    if (!app) return undefined;
    const rollout: Rollout = {
      id: randomUUID(),
      application_id: id,
      created_at: new Date().toISOString(),
      kind: body.kind,
      strategy: body.strategy,
      step_percentage: body.step_percentage,
      target_configuration: { ...app.configuration, ...(body.target_configuration ?? {}) },
      status: 'completed',
    };
    app.configuration = rollout.target_configuration;
    this.rollouts.push(rollout);
    return rollout;
  }

  /** Stops the application's running containers: the next request starts one from its new image. */
  async stopInstancesOf(app: Application): Promise<void> {
    for (const instance of this.list()) if (instance.application === app.name) await this.stop(instance.id);
  }

  /** Starts (or reuses) the application's container; returns its docker id. */
  async start(app: Application, env: Record<string, string>, entrypoint?: string[]): Promise<string> {
    const current = this.running.get(app.id);
    if (current && current.image === app.configuration.image) {
      const state = await docker(this.dockerBin, ['inspect', '-f', '{{.State.Running}}', current.id]);
      if (state.out === 'true') return current.id;
    }
    if (current) await this.stop(current.id);
    const containerEnv = { ...env, ...this.extraEnv };
    const result = await docker(
      this.dockerBin,
      runArgs(app, Object.keys(containerEnv), entrypoint),
      containerEnv,
    );
    if (result.code !== 0)
      throw new Error(`could not start ${app.configuration.image}: ${result.out.split('\n').pop() ?? ''}`);
    const id = result.out.split('\n').pop()!.trim();
    this.running.set(app.id, { id, applicationId: app.id, image: app.configuration.image });
    this.log(`container ${id.slice(0, 12)} of ${app.name} started from ${app.configuration.image}`);
    return id;
  }

  /** Resolves with the container's exit code when it stops. */
  wait(id: string): Promise<number> {
    const instance = [...this.running.values()].find((candidate) => candidate.id === id);
    if (instance?.exited) return instance.exited;
    const exited = new Promise<number>((resolve) => {
      const child = spawn(this.dockerBin, ['wait', id], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', () => resolve(Number(out.trim() || '137')));
    });
    if (instance) instance.exited = exited;
    return exited;
  }

  async stop(id: string): Promise<void> {
    await docker(this.dockerBin, ['rm', '-f', id]);
    for (const [appId, instance] of this.running) if (instance.id === id) this.running.delete(appId);
  }

  /** The docker ids of the containers running now. */
  list(): Array<{ application: string; id: string; image: string }> {
    return [...this.running.values()].map((instance) => ({
      application:
        this.applications.find((app) => app.id === instance.applicationId)?.name ?? instance.applicationId,
      id: instance.id,
      image: instance.image,
    }));
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((instance) => this.stop(instance.id)));
  }
}
