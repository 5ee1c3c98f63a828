import { execFile, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  act,
  advance,
  createRollout,
  IN_FLIGHT,
  replaceRollout,
  type Configuration,
  type CreateRolloutRequest,
  type InstanceOrder,
  type Pace,
  type Replacement,
  type Rollout,
  type Slot,
} from './rollouts.js';
import { dockerLimits, instanceType } from '../src/lib/core/instance-types.js';

/** A container application as the API stores it (the fields wrangler sends and reads). */
export interface ApplicationInput {
  name: string;
  configuration: Configuration;
  durable_objects?: { namespace_id: string };
  max_instances?: number;
  instances?: number;
  scheduling_policy?: string;
  /** Seconds an active instance is left alone by a rollout (Cloudflare's default 0). */
  rollout_active_grace_period?: number;
}

/**
 * The application as the API answers it (Cloudflare's CcScheduledApplication: id, account_id,
 * configuration, created_at, updated_at, instances, version, active_rollout_id, …). Other fields
 * wrangler sends (constraints, affinities, …) are kept and returned as sent.
 */
export interface Application extends ApplicationInput {
  id: string;
  account_id?: string;
  created_at: string;
  updated_at: string;
  version: number;
  instances: number;
  /** The rollout in flight ("An identifier for a specific rollout within an application"). */
  active_rollout_id?: string;
}

/** How fast rollouts go here (ms): the hold per step, and the cap on an application's grace period. */
export interface RolloutOptions {
  stepMs: number;
  graceMs: number;
  /** Which instances a rollout moves first (rollouts.ts, InstanceOrder). */
  order: InstanceOrder;
}

export const DEFAULT_ROLLOUT_OPTIONS: RolloutOptions = { stepMs: 1000, graceMs: 0, order: 'serving-last' };

/** A fault tied to an image, by exact reference or by a regular expression. */
export interface ImageFault {
  kind: 'unhealthy' | 'crash-after' | 'stuck-at-step';
  image?: string;
  regex?: string;
  /** crash-after: seconds after the container starts. */
  seconds?: number;
  /** stuck-at-step: the step (from 1) a rollout to the image never completes. */
  step?: number;
  /** unhealthy: the request paths it applies to, a regular expression (default ^/health/extended$). */
  path?: string;
}

/** The paths an unhealthy fault spoils when it names none: the extended-health document's. */
export const UNHEALTHY_DEFAULT_PATH = '^/health/extended$';

interface Running {
  id: string;
  applicationId: string;
  image: string;
  exited?: Promise<number>;
  /** Stopped by the emulator (not a crash). */
  stopping?: boolean;
  crashTimer?: NodeJS.Timeout;
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

/** `docker run` arguments for one instance, with its configuration's image and instance type's limits. */
function runArgs(
  app: Application,
  configuration: Configuration,
  envNames: string[],
  entrypoint: string[] | undefined,
): string[] {
  // The instance type's memory and CPU (one table: src/lib/core/instance-types.ts, from Cloudflare's limits page).
  const limits = dockerLimits(instanceType(configuration.instance_type ?? '') ?? 'lite');
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
    configuration.image,
    ...(entrypoint?.slice(1) ?? []),
  ];
}

/** How many logical instances an application has: its max_instances (at least one). */
function slotCount(app: Application): number {
  return Math.max(1, app.max_instances ?? app.instances ?? 1);
}

/** A stable 64-hex instance id (cc_ContainerInstanceID is a 64-character hex actor id). */
function instanceId(applicationId: string, index: number): string {
  return createHash('sha256').update(`${applicationId}/${index}`).digest('hex');
}

export function faultMatches(fault: ImageFault, image: string): boolean {
  return fault.image === image || (fault.regex !== undefined && new RegExp(fault.regex).test(image));
}

/** Checks an admin fault request; returns the fault or throws with what is wrong. */
export function imageFault(body: Partial<ImageFault>): ImageFault {
  if (!['unhealthy', 'crash-after', 'stuck-at-step'].includes(body.kind ?? ''))
    throw new Error('kind must be unhealthy, crash-after or stuck-at-step');
  if (!body.image && !body.regex) throw new Error('a container fault needs "image" or "regex"');
  if (body.regex) new RegExp(body.regex);
  if (body.path) new RegExp(body.path);
  if (body.kind === 'crash-after' && !(typeof body.seconds === 'number' && body.seconds >= 0))
    throw new Error('crash-after needs "seconds"');
  if (body.kind === 'stuck-at-step' && !(Number.isInteger(body.step) && body.step! >= 1))
    throw new Error('stuck-at-step needs "step" (from 1)');
  return body as ImageFault;
}

/**
 * Container applications, their logical instances (max_instances of them) and rollouts, and the
 * one real container: docker on the host network (the only network these machines allow; every
 * instance listens on the same port, so one runs at a time). Instance 0 serves the Worker's
 * Durable Object: its container runs instance 0's image, started on the Durable Object's first
 * request, and is replaced (stopped; the next request starts the new image) only when a rollout
 * moves instance 0. The other instances are bookkeeping: they keep their image until a rollout
 * moves them.
 */
export class ContainerRuntime {
  readonly applications: Application[] = [];
  readonly rollouts: Rollout[] = [];
  readonly faults: ImageFault[] = [];
  readonly options: RolloutOptions;
  private readonly slots = new Map<string, Slot[]>();
  private readonly lastVersion = new Map<string, number>();
  private readonly running = new Map<string, Running>();
  private ticker?: NodeJS.Timeout;
  private readonly replacing = new Set<Promise<void>>();

  constructor(
    private readonly dockerBin: string,
    /** Extra environment for every container (e.g. no deferred tool downloads in tests). */
    private readonly extraEnv: Record<string, string>,
    private readonly log: (m: string) => void,
    options: Partial<RolloutOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...DEFAULT_ROLLOUT_OPTIONS, ...options };
  }

  byNamespace(namespaceId: string): Application | undefined {
    return this.applications.find((app) => app.durable_objects?.namespace_id === namespaceId);
  }

  find(id: string): Application | undefined {
    return this.applications.find((candidate) => candidate.id === id);
  }

  create(body: ApplicationInput, accountId?: string): Application {
    const at = new Date(this.now()).toISOString();
    const app: Application = {
      ...body,
      id: randomUUID(),
      ...(accountId ? { account_id: accountId } : {}),
      created_at: at,
      updated_at: at,
      version: 1,
      instances: body.instances ?? 0,
    };
    this.applications.push(app);
    this.lastVersion.set(app.id, 1);
    this.slots.set(app.id, []);
    this.resize(app);
    return app;
  }

  /** Gives the application max_instances slots: new ones run its configuration, extra ones go. */
  private resize(app: Application): void {
    const slots = this.slots.get(app.id)!;
    const count = slotCount(app);
    slots.splice(count);
    for (let index = slots.length; index < count; index++)
      slots.push({
        index,
        id: instanceId(app.id, index),
        configuration: app.configuration,
        version: app.version,
        state: 'inactive',
        stateAt: this.now(),
      });
  }

  /**
   * PATCH: the application's settings change at once, its configuration does not. Cloudflare's
   * reference ("Modify an application"): "For scheduler-backed applications, changes that replace
   * instance deployment configuration, including the image, require a rollout" (wrangler sends
   * this PATCH, then POSTs the rollout: cli.js 153561-153600). No instance moves here.
   */
  modify(id: string, body: Partial<ApplicationInput>): Application | undefined {
    const app = this.find(id);
    if (!app) return undefined;
    const { configuration: _configuration, ...settings } = body as Partial<Application>;
    for (const key of ['id', 'name', 'version', 'created_at', 'account_id', 'active_rollout_id'] as const)
      delete settings[key];
    Object.assign(app, settings, { updated_at: new Date(this.now()).toISOString() });
    this.resize(app);
    return app;
  }

  instancesOf(app: Application): Slot[] {
    return this.slots.get(app.id) ?? [];
  }

  rolloutsOf(app: Application): Rollout[] {
    return this.rollouts.filter((rollout) => rollout.applicationId === app.id);
  }

  /** The grace an active instance gets: the application's, capped by the emulator's option. */
  private paceOf(app: Application): Pace {
    const graceMs = Math.min((app.rollout_active_grace_period ?? 0) * 1000, this.options.graceMs);
    return { stepMs: this.options.stepMs, graceMs };
  }

  /** The step a stuck-at-step fault holds a rollout to its target image at, if one does. */
  private stuckAt(rollout: Rollout): number | undefined {
    const image = rollout.targetConfiguration.image;
    return this.faults.find((fault) => fault.kind === 'stuck-at-step' && faultMatches(fault, image))?.step;
  }

  /**
   * POST rollouts: the application's configuration becomes the target at once (what new instances
   * get; its version the target version); its instances move step by step. A rollout in flight is
   * `replaced`. full_auto starts step 1 now, so the answer is already `progressing`.
   */
  async startRollout(app: Application, request: CreateRolloutRequest): Promise<Rollout> {
    await this.sync();
    const now = this.now();
    const targetVersion = (this.lastVersion.get(app.id) ?? app.version) + 1;
    const rollout = createRollout({
      id: randomUUID(),
      applicationId: app.id,
      request,
      current: { configuration: app.configuration, version: app.version },
      targetVersion,
      now,
      order: this.options.order,
    });
    for (const older of this.rolloutsOf(app)) replaceRollout(older, now);
    this.lastVersion.set(app.id, targetVersion);
    this.rollouts.push(rollout);
    Object.assign(app, {
      configuration: rollout.targetConfiguration,
      version: targetVersion,
      active_rollout_id: rollout.id,
      updated_at: new Date(now).toISOString(),
    });
    await this.sync();
    return rollout;
  }

  /** POST rollouts/:id {action}: next, previous or revert (revert puts the application back too). */
  async actOn(app: Application, rollout: Rollout, action: string): Promise<Rollout> {
    await this.sync();
    const moved = act(rollout, action, this.instancesOf(app), this.now(), this.stuckAt(rollout));
    if (rollout.status === 'reverted')
      Object.assign(app, {
        configuration: rollout.currentConfiguration,
        version: rollout.currentVersion,
        updated_at: new Date(this.now()).toISOString(),
      });
    if (!IN_FLIGHT.has(rollout.status) && app.active_rollout_id === rollout.id) delete app.active_rollout_id;
    await this.apply(app, moved);
    await this.sync();
    return rollout;
  }

  /**
   * Brings every rollout in flight up to now and replaces instance 0's container when a rollout
   * moved it. Runs on a short timer while rollouts are in flight, and before every read.
   */
  async sync(): Promise<void> {
    for (const rollout of this.rollouts) {
      if (!IN_FLIGHT.has(rollout.status)) continue;
      const app = this.find(rollout.applicationId);
      if (!app) continue;
      const moved = advance(
        rollout,
        this.instancesOf(app),
        this.paceOf(app),
        this.now(),
        this.stuckAt(rollout),
      );
      if (!IN_FLIGHT.has(rollout.status) && app.active_rollout_id === rollout.id)
        delete app.active_rollout_id;
      this.track(this.apply(app, moved));
    }
    this.keepTicking();
    // Containers being replaced by any sync (the timer's too) are gone before this one returns.
    await Promise.all(this.replacing);
  }

  private track(work: Promise<void>): void {
    this.replacing.add(work);
    void work.finally(() => this.replacing.delete(work)).catch((err: Error) => this.log(err.message));
  }

  private keepTicking(): void {
    const inFlight = this.rollouts.some((rollout) => IN_FLIGHT.has(rollout.status));
    if (inFlight && !this.ticker) {
      this.ticker = setInterval(() => void this.sync().catch((err: Error) => this.log(err.message)), 25);
      this.ticker.unref();
    } else if (!inFlight && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  /** Instance 0 moved: its running container goes; the next request starts the new image. */
  private async apply(app: Application, moved: Replacement[]): Promise<void> {
    for (const replacement of moved) {
      this.log(`${app.name} instance ${replacement.slot} now runs ${replacement.configuration.image}`);
      const current = this.running.get(app.id);
      if (replacement.slot === 0 && current) await this.stop(current.id);
    }
  }

  /**
   * Starts (or reuses) the container of the application's instance 0; returns its docker id. The
   * runtime's own variables come first ("The container runtime automatically sets"
   * CLOUDFLARE_APPLICATION_ID and CLOUDFLARE_DURABLE_OBJECT_ID, among others whose values the
   * emulator cannot know: developers.cloudflare.com/containers/platform-details/environment-variables/),
   * then the Durable Object's own ("supplied values will override predefined values").
   */
  async start(
    app: Application,
    env: Record<string, string>,
    entrypoint?: string[],
    durableObjectId?: string,
  ): Promise<string> {
    await this.sync();
    const slot = this.instancesOf(app)[0]!;
    const current = this.running.get(app.id);
    if (current && current.image === slot.configuration.image) {
      const state = await docker(this.dockerBin, ['inspect', '-f', '{{.State.Running}}', current.id]);
      if (state.out === 'true') return current.id;
    }
    if (current) await this.stop(current.id);
    const containerEnv = {
      CLOUDFLARE_APPLICATION_ID: app.id,
      ...(durableObjectId ? { CLOUDFLARE_DURABLE_OBJECT_ID: durableObjectId } : {}),
      ...env,
      ...this.extraEnv,
    };
    const result = await docker(
      this.dockerBin,
      runArgs(app, slot.configuration, Object.keys(containerEnv), entrypoint),
      containerEnv,
    );
    if (result.code !== 0)
      throw new Error(`could not start ${slot.configuration.image}: ${result.out.split('\n').pop() ?? ''}`);
    const id = result.out.split('\n').pop()!.trim();
    this.running.set(app.id, { id, applicationId: app.id, image: slot.configuration.image });
    Object.assign(slot, {
      state: 'running',
      stateAt: this.now(),
      connectedAt: this.now(),
      exitCode: undefined,
    });
    this.log(`container ${id.slice(0, 12)} of ${app.name} started from ${slot.configuration.image}`);
    this.watch(app, slot, id);
    return id;
  }

  /** Follows the container to its exit: a crash marks instance 0 failed; a crash-after fault kills it. */
  private watch(app: Application, slot: Slot, id: string): void {
    const running = this.running.get(app.id)!;
    const crash = this.faults.find(
      (fault) => fault.kind === 'crash-after' && faultMatches(fault, running.image),
    );
    if (crash) {
      running.crashTimer = setTimeout(() => {
        this.log(`crash-after fault: killing ${id.slice(0, 12)} (${running.image})`);
        void docker(this.dockerBin, ['kill', id]);
      }, crash.seconds! * 1000);
      running.crashTimer.unref();
    }
    void this.wait(id).then((exitCode) => {
      clearTimeout(running.crashTimer);
      if (running.stopping || this.running.get(app.id)?.id !== id) return;
      Object.assign(slot, { state: exitCode === 0 ? 'stopped' : 'failed', stateAt: this.now(), exitCode });
      slot.connectedAt = undefined;
    });
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
    for (const [appId, instance] of this.running) {
      if (instance.id !== id) continue;
      instance.stopping = true;
      clearTimeout(instance.crashTimer);
      const slot = this.slots.get(appId)?.[0];
      if (slot?.state === 'running')
        Object.assign(slot, { state: 'stopped', stateAt: this.now(), connectedAt: undefined });
    }
    await docker(this.dockerBin, ['rm', '-f', id]);
    for (const [appId, instance] of this.running) if (instance.id === id) this.running.delete(appId);
  }

  /** The image of a running container, by docker id. */
  imageOf(containerId: string): string | undefined {
    return [...this.running.values()].find((instance) => instance.id === containerId)?.image;
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
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    await Promise.all([...this.running.values()].map((instance) => this.stop(instance.id)));
  }
}
