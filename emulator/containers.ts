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
    return this.applications.find((a) => a.durable_objects?.namespace_id === namespaceId);
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
    const app = this.applications.find((a) => a.id === id);
    if (!app) return undefined;
    Object.assign(app, body, { configuration: { ...app.configuration, ...(body.configuration ?? {}) } });
    app.version++;
    return app;
  }

  rollout(id: string, body: Partial<Rollout>): Rollout | undefined {
    const app = this.applications.find((a) => a.id === id);
    if (!app) return undefined;
    const r: Rollout = {
      id: randomUUID(),
      application_id: id,
      created_at: new Date().toISOString(),
      kind: body.kind,
      strategy: body.strategy,
      step_percentage: body.step_percentage,
      target_configuration: { ...app.configuration, ...(body.target_configuration ?? {}) },
      status: 'completed',
    };
    app.configuration = r.target_configuration;
    this.rollouts.push(r);
    return r;
  }

  /** Starts (or reuses) the application's container; returns its docker id. */
  async start(app: Application, env: Record<string, string>, entrypoint?: string[]): Promise<string> {
    const current = this.running.get(app.id);
    if (current && current.image === app.configuration.image) {
      const state = await docker(this.dockerBin, ['inspect', '-f', '{{.State.Running}}', current.id]);
      if (state.out === 'true') return current.id;
    }
    if (current) await this.stop(current.id);
    const limits = INSTANCE_LIMITS[app.configuration.instance_type ?? 'dev'] ?? INSTANCE_LIMITS.dev!;
    const all = { ...env, ...this.extraEnv };
    const args = [
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
      ...Object.keys(all).flatMap((k) => ['-e', k]),
      ...(entrypoint?.length ? ['--entrypoint', entrypoint[0]!] : []),
      app.configuration.image,
      ...(entrypoint?.slice(1) ?? []),
    ];
    const r = await docker(this.dockerBin, args, all);
    if (r.code !== 0)
      throw new Error(`could not start ${app.configuration.image}: ${r.out.split('\n').pop() ?? ''}`);
    const id = r.out.split('\n').pop()!.trim();
    this.running.set(app.id, { id, applicationId: app.id, image: app.configuration.image });
    this.log(`container ${id.slice(0, 12)} of ${app.name} started from ${app.configuration.image}`);
    return id;
  }

  /** Resolves with the container's exit code when it stops. */
  wait(id: string): Promise<number> {
    const r = [...this.running.values()].find((x) => x.id === id);
    if (r?.exited) return r.exited;
    const exited = new Promise<number>((resolve) => {
      const child = spawn(this.dockerBin, ['wait', id], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', () => resolve(Number(out.trim() || '137')));
    });
    if (r) r.exited = exited;
    return exited;
  }

  async stop(id: string): Promise<void> {
    await docker(this.dockerBin, ['rm', '-f', id]);
    for (const [k, v] of this.running) if (v.id === id) this.running.delete(k);
  }

  /** The docker ids of the containers running now. */
  list(): Array<{ application: string; id: string; image: string }> {
    return [...this.running.values()].map((r) => ({
      application: this.applications.find((a) => a.id === r.applicationId)?.name ?? r.applicationId,
      id: r.id,
      image: r.image,
    }));
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => this.stop(r.id)));
  }
}
