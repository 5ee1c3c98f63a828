/**
 * Cloudflare Containers rollouts as a pure state machine: no I/O, no timers, no clock of its own
 * (every call is given `now`, in ms). The records passed in are updated in place; what an instance
 * must do in the real world (its container restarted on another image) comes back as a list.
 *
 * Sources (none written by this project):
 * - Cloudflare API reference, Containers › Applications › Rollouts, and its OpenAPI
 *   (api-evangelist/cloudflare openapi/cloudflare-rollouts-api-openapi.yml: cc_ApplicationRollout,
 *   cc_RolloutStep, cc_ApplicationRolloutProgress, cc_ApplicationHealth,
 *   cc_ContainersCreateApplicationRolloutRequest); the same shapes in cloudflare/cloudflare-typescript
 *   src/resources/containers/applications/rollouts.ts.
 * - wrangler 4.86's containers client (node_modules/wrangler/wrangler-dist/cli.js 43190-43620:
 *   ApplicationRollout.status, RolloutStep.status, CreateApplicationRolloutRequest,
 *   UpdateApplicationRolloutRequest.action; 43900-44060: RolloutsService routes) and
 *   cloudflare/workers-sdk packages/containers-shared/src/client/models/UpdateApplicationRolloutRequest.ts
 *   ("next: The rollout will go forward one step. It will succeed if the current step is finished.
 *   previous: The rollout will go back one step. revert: The rollout goes back to the first step in
 *   one go.").
 * - https://developers.cloudflare.com/containers/platform-details/rollouts/ and
 *   cloudflare/cloudflare-docs src/content/docs/containers/configuration/rollouts.mdx (steps, the
 *   "at least one instance" rule, the active grace period measured from when an instance connected
 *   to its Durable Object, immediate = one step of 100).
 */

/** ModifyUserDeploymentConfiguration: image, instance_type and whatever else was sent. */
export type Configuration = { image: string; instance_type?: string } & Record<string, unknown>;

/** cc_ContainerInstanceStatusState (container-instances OpenAPI). */
export type InstanceState =
  'provisioning' | 'running' | 'failed' | 'stopping' | 'stopped' | 'unhealthy' | 'inactive' | 'unknown';

/** One logical instance of an application (one of its max_instances). */
export interface Slot {
  index: number;
  /** 64 hex characters, as cc_ContainerInstanceID. */
  id: string;
  configuration: Configuration;
  version: number;
  state: InstanceState;
  stateAt: number;
  exitCode?: number;
  /** When its Durable Object connected to it (its container started), while it is active. */
  connectedAt?: number;
}

export type RolloutStatus = 'pending' | 'progressing' | 'completed' | 'reverted' | 'replaced';
export type StepStatus = 'pending' | 'progressing' | 'reverting' | 'completed' | 'reverted';
export type RolloutKind = 'full_auto' | 'full_manual';
export type RolloutAction = 'next' | 'previous' | 'revert';

export interface Step {
  id: number;
  /** Cumulative share of instances on the target once this step is done. */
  percentage: number;
  description: string;
  status: StepStatus;
  startedAt?: number;
  completedAt?: number;
  /** When the last of its instances was replaced. */
  lastReplacedAt?: number;
  reason?: string;
}

export interface Rollout {
  id: string;
  applicationId: string;
  description: string;
  kind: RolloutKind;
  strategy: 'rolling';
  status: RolloutStatus;
  createdAt: number;
  lastUpdatedAt: number;
  startedAt?: number;
  currentConfiguration: Configuration;
  targetConfiguration: Configuration;
  currentVersion: number;
  targetVersion: number;
  steps: Step[];
  /** The step in progress or last done, from 1 (0: none started; "Initialized to 0"). */
  currentStep: number;
  /** Indexes of the instances this rollout moved to its target. */
  replaced: number[];
  /** After `previous`: the rollout waits at its step for `next`, even when full_auto. */
  held: boolean;
  /** Which instances go first (see stepSlots). */
  order: InstanceOrder;
}

/** How fast rollouts go: the hold per step and the grace an active instance gets (both ms). */
export interface Pace {
  stepMs: number;
  graceMs: number;
}

/** An instance moved to another configuration: its container (if any) must be replaced. */
export interface Replacement {
  slot: number;
  configuration: Configuration;
  at: number;
}

/** A rollout request the API refuses (400), with Cloudflare-like wording. */
export class RolloutRequestError extends Error {}

/** CreateApplicationRolloutRequest as sent (wrangler cli.js 153590-153600 sends these fields). */
export interface CreateRolloutRequest {
  description?: string;
  strategy?: string;
  kind?: string;
  step_percentage?: number;
  steps?: Array<{ step_size?: { percentage?: number }; description?: string }>;
  target_configuration?: Partial<Configuration>;
}

/** step_percentage's enum: "Applicable values: 5, 10, 20, 25, 50, 100" (OpenAPI). */
const STEP_PERCENTAGES = [5, 10, 20, 25, 50, 100];

/** wrangler's own step description (configRolloutStepsToAPI, cli.js 153633-153646). */
function stepDescription(index: number, total: number, percentage: number): string {
  return `Step ${index} of ${total} - rollout at ${percentage}% of instances`;
}

/**
 * The steps of a rolling rollout: step_percentage p gives 100/p steps of p ("These create
 * rollouts with 20, 10, 5, 4, 2, 1 steps respectively"); `steps` are cumulative percentages
 * ("Min 10% and Max 100%"). "Specify only one of step_percentage or steps". Requiring the last
 * step at 100 and ascending steps is this emulator's own strictness.
 */
export function planSteps(request: CreateRolloutRequest): Array<Pick<Step, 'percentage' | 'description'>> {
  const { step_percentage: size, steps } = request;
  if (size !== undefined && steps !== undefined)
    throw new RolloutRequestError('specify only one of "step_percentage" or "steps"');
  if (size !== undefined) {
    if (!STEP_PERCENTAGES.includes(size))
      throw new RolloutRequestError(`step_percentage must be one of ${STEP_PERCENTAGES.join(', ')}`);
    const count = 100 / size;
    return Array.from({ length: count }, (_unused, index) => ({
      percentage: size * (index + 1),
      description: stepDescription(index + 1, count, size * (index + 1)),
    }));
  }
  if (!steps?.length) throw new RolloutRequestError('a rolling rollout needs "step_percentage" or "steps"');
  const percentages = steps.map((step) => step.step_size?.percentage ?? NaN);
  percentages.forEach((percentage, index) => {
    if (!Number.isInteger(percentage) || percentage < 10 || percentage > 100)
      throw new RolloutRequestError(`steps[${index}].step_size.percentage must be between 10 and 100`);
    if (index > 0 && percentage <= percentages[index - 1]!)
      throw new RolloutRequestError('step percentages must go up');
  });
  if (percentages.at(-1) !== 100) throw new RolloutRequestError('the last step must be at 100%');
  return steps.map((step, index) => ({
    percentage: percentages[index]!,
    description: step.description ?? stepDescription(index + 1, steps.length, percentages[index]!),
  }));
}

/** The kind: "Defaults to full_auto"; full_manual waits for `next` at every step. */
export function rolloutKind(kind: string | undefined): RolloutKind {
  if (kind === undefined || kind === 'full_auto' || kind === 'full_manual') return kind ?? 'full_auto';
  throw new RolloutRequestError(`kind must be full_auto or full_manual, not ${kind}`);
}

/**
 * How many instances are on the target once a step at `percentage` is done: the share, rounded up,
 * and at least one ("The platform raises this percentage when necessary so the step represents at
 * least one instance at the configured max_instances").
 */
export function instancesAt(percentage: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(total, Math.max(1, Math.ceil((total * percentage) / 100)));
}

/**
 * The order a rollout moves instances in. Cloudflare does not say in which order it picks them;
 * this is the emulator's, and a test chooses it: `serving-last` (the default) moves instance 0, the
 * one serving the Worker's Durable Object here, in the last step (the first steps replace idle
 * instances, as they may on Cloudflare); `serving-first` moves it in the first step (the first step
 * reaches live traffic, as it does on Cloudflare when the replaced instances are in use).
 */
export type InstanceOrder = 'serving-last' | 'serving-first';

/** The instances a step at `percentage` has on the target, in the rollout's order. */
export function stepSlots(
  percentage: number,
  total: number,
  order: InstanceOrder = 'serving-last',
): number[] {
  const count = instancesAt(percentage, total);
  return Array.from({ length: count }, (_unused, offset) =>
    order === 'serving-first' ? offset : total - 1 - offset,
  );
}

export interface NewRollout {
  id: string;
  applicationId: string;
  request: CreateRolloutRequest;
  current: { configuration: Configuration; version: number };
  targetVersion: number;
  now: number;
  order?: InstanceOrder;
}

/** A rollout as created: `pending`, every step pending, nothing replaced yet. */
export function createRollout({
  id,
  applicationId,
  request,
  current,
  targetVersion,
  now,
  order = 'serving-last',
}: NewRollout): Rollout {
  if (request.strategy !== undefined && request.strategy !== 'rolling')
    throw new RolloutRequestError(`strategy ${request.strategy} is not emulated: use "rolling"`);
  const plan = planSteps(request);
  return {
    id,
    applicationId,
    description: request.description ?? '',
    kind: rolloutKind(request.kind),
    strategy: 'rolling',
    status: 'pending',
    createdAt: now,
    lastUpdatedAt: now,
    currentConfiguration: current.configuration,
    targetConfiguration: { ...current.configuration, ...request.target_configuration } as Configuration,
    currentVersion: current.version,
    targetVersion,
    steps: plan.map((step, index) => ({ id: index + 1, ...step, status: 'pending' })),
    currentStep: 0,
    replaced: [],
    held: false,
    order,
  };
}

export const IN_FLIGHT: ReadonlySet<RolloutStatus> = new Set(['pending', 'progressing']);

/** A newer rollout on the same application takes over: the older one is `replaced`. */
export function replaceRollout(rollout: Rollout, now: number): void {
  if (!IN_FLIGHT.has(rollout.status)) return;
  rollout.status = 'replaced';
  rollout.lastUpdatedAt = now;
}

function sameConfiguration(left: Configuration, right: Configuration): boolean {
  return JSON.stringify(left) === JSON.stringify(right);
}

/** Moves one instance to a configuration; a running container must be replaced by the caller. */
function moveSlot(slot: Slot, configuration: Configuration, version: number, at: number): Replacement[] {
  const restart = !sameConfiguration(slot.configuration, configuration);
  slot.configuration = configuration;
  slot.version = version;
  if (!restart) return [];
  // "Once stopped, the instance is replaced with a new instance running the updated code": no
  // container until its Durable Object starts one again.
  slot.state = 'inactive';
  slot.stateAt = at;
  slot.connectedAt = undefined;
  slot.exitCode = undefined;
  return [{ slot: slot.index, configuration, at }];
}

function startStep(rollout: Rollout, stepId: number, at: number): void {
  const step = rollout.steps[stepId - 1]!;
  step.status = 'progressing';
  step.startedAt = at;
  step.completedAt = undefined;
  step.lastReplacedAt = undefined;
  rollout.currentStep = stepId;
  rollout.status = 'progressing';
  rollout.startedAt ??= at;
  rollout.lastUpdatedAt = at;
}

/** The instances the current step still has to move. */
function dueSlots(rollout: Rollout, slots: Slot[]): Slot[] {
  const step = rollout.steps[rollout.currentStep - 1];
  if (!step) return [];
  return stepSlots(step.percentage, slots.length, rollout.order)
    .filter((index) => !rollout.replaced.includes(index))
    .map((index) => slots[index]!);
}

/**
 * When an instance may be replaced: at the step's start, or, while it is active, once it has been
 * connected to its Durable Object for the grace period ("Container instances connected to their
 * Durable Object for less than this many seconds are left alone until they pass the window").
 */
function eligibleAt(slot: Slot, stepStart: number, pace: Pace): number {
  return slot.connectedAt === undefined ? stepStart : Math.max(stepStart, slot.connectedAt + pace.graceMs);
}

/** Whether a step has moved all its instances (and is not held back by a stuck-at-step fault). */
function stepFinished(rollout: Rollout, slots: Slot[], stuckAt: number | undefined): boolean {
  return dueSlots(rollout, slots).length === 0 && stuckAt !== rollout.currentStep;
}

type Event = { at: number; apply: () => Replacement[] };

function replaceEvent(rollout: Rollout, slots: Slot[], pace: Pace): Event | undefined {
  const step = rollout.steps[rollout.currentStep - 1]!;
  const candidates = dueSlots(rollout, slots).map((slot) => ({
    slot,
    at: eligibleAt(slot, step.startedAt!, pace),
  }));
  const first = candidates.sort((left, right) => left.at - right.at)[0];
  if (!first) return undefined;
  return {
    at: first.at,
    apply: () => {
      rollout.replaced.push(first.slot.index);
      step.lastReplacedAt = first.at;
      rollout.lastUpdatedAt = first.at;
      return moveSlot(first.slot, rollout.targetConfiguration, rollout.targetVersion, first.at);
    },
  };
}

/** Ends the current step at `at`; the next one starts at once unless the rollout waits for `next`. */
function completeStep(rollout: Rollout, at: number, advance: boolean): void {
  const step = rollout.steps[rollout.currentStep - 1]!;
  step.status = 'completed';
  step.completedAt = at;
  rollout.lastUpdatedAt = at;
  if (rollout.currentStep === rollout.steps.length) rollout.status = 'completed';
  else if (advance) startStep(rollout, rollout.currentStep + 1, at);
}

function autoAdvances(rollout: Rollout): boolean {
  return rollout.kind === 'full_auto' && !rollout.held;
}

/** The next thing that happens to a rollout on its own, if anything does. */
function nextEvent(
  rollout: Rollout,
  slots: Slot[],
  pace: Pace,
  stuckAt: number | undefined,
): Event | undefined {
  if (rollout.status === 'pending')
    return autoAdvances(rollout)
      ? { at: rollout.createdAt, apply: () => (startStep(rollout, 1, rollout.createdAt), []) }
      : undefined;
  if (rollout.status !== 'progressing') return undefined;
  const step = rollout.steps[rollout.currentStep - 1]!;
  if (step.status !== 'progressing') return undefined;
  const replacement = replaceEvent(rollout, slots, pace);
  if (replacement || stuckAt === step.id) return replacement;
  const at = Math.max(step.startedAt! + pace.stepMs, step.lastReplacedAt ?? 0);
  return { at, apply: () => (completeStep(rollout, at, autoAdvances(rollout)), []) };
}

/**
 * Everything that happens to the rollout up to `now`, in order: full_auto starts step 1 on creation
 * ("starts progressing steps upon rollout creation"), each step moves its instances and completes
 * `stepMs` after it started, then the next step starts. `stuckAt`: a step that never completes.
 */
export function advance(
  rollout: Rollout,
  slots: Slot[],
  pace: Pace,
  now: number,
  stuckAt?: number,
): Replacement[] {
  const moved: Replacement[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const event = nextEvent(rollout, slots, pace, stuckAt);
    if (!event || event.at > now) break;
    moved.push(...event.apply());
  }
  return moved;
}

/** `next`: starts the next step now; refused while the current step has instances left to move. */
function nextStep(rollout: Rollout, slots: Slot[], now: number, stuckAt: number | undefined): Replacement[] {
  rollout.held = false;
  if (rollout.status === 'pending') return (startStep(rollout, 1, now), []);
  const step = rollout.steps[rollout.currentStep - 1]!;
  if (step.status === 'progressing') {
    if (!stepFinished(rollout, slots, stuckAt))
      throw new RolloutRequestError(`step ${step.id} of rollout ${rollout.id} is not finished`);
    completeStep(rollout, now, true);
  } else startStep(rollout, rollout.currentStep + 1, now);
  return [];
}

/** Moves the given instances back to the rollout's current configuration. */
function moveBack(rollout: Rollout, slots: Slot[], indexes: number[], now: number): Replacement[] {
  rollout.replaced = rollout.replaced.filter((index) => !indexes.includes(index));
  // An instance max_instances no longer counts (a PATCH made it smaller) has nothing to move back.
  return indexes
    .filter((index) => index < slots.length)
    .flatMap((index) => moveSlot(slots[index]!, rollout.currentConfiguration, rollout.currentVersion, now));
}

/** `previous`: the current step's instances go back; the rollout waits at the step before. */
function previousStep(rollout: Rollout, slots: Slot[], now: number): Replacement[] {
  if (rollout.currentStep < 2)
    throw new RolloutRequestError(`rollout ${rollout.id} is at its first step: use "revert"`);
  const step = rollout.steps[rollout.currentStep - 1]!;
  const keep = new Set(
    stepSlots(rollout.steps[rollout.currentStep - 2]!.percentage, slots.length, rollout.order),
  );
  const back = rollout.replaced.filter((index) => !keep.has(index));
  Object.assign(step, { status: 'pending', startedAt: undefined, completedAt: undefined });
  rollout.currentStep -= 1;
  rollout.held = true;
  rollout.lastUpdatedAt = now;
  return moveBack(rollout, slots, back, now);
}

/** `revert`: every instance it replaced goes back at once; the rollout ends `reverted`. */
function revertRollout(rollout: Rollout, slots: Slot[], now: number): Replacement[] {
  for (const step of rollout.steps)
    if (step.status === 'progressing' || step.status === 'completed') {
      step.status = 'reverted';
      step.completedAt = now;
    }
  rollout.status = 'reverted';
  rollout.lastUpdatedAt = now;
  return moveBack(rollout, slots, [...rollout.replaced], now);
}

/** UpdateApplicationRolloutRequest.action on a pending or progressing rollout. */
export function act(
  rollout: Rollout,
  action: string,
  slots: Slot[],
  now: number,
  stuckAt?: number,
): Replacement[] {
  if (!IN_FLIGHT.has(rollout.status))
    throw new RolloutRequestError(`rollout ${rollout.id} is ${rollout.status}: no action applies`);
  if (action === 'next') return nextStep(rollout, slots, now, stuckAt);
  if (action === 'previous') return previousStep(rollout, slots, now);
  if (action === 'revert') return revertRollout(rollout, slots, now);
  throw new RolloutRequestError(`action must be one of next, previous, revert (not ${String(action)})`);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** cc_RolloutStep: id, status, step_size, description, started_at, completed_at, reason. */
function stepJson(step: Step) {
  return {
    id: step.id,
    status: step.status,
    step_size: { percentage: step.percentage },
    description: step.description,
    ...(step.startedAt !== undefined ? { started_at: iso(step.startedAt) } : {}),
    ...(step.completedAt !== undefined ? { completed_at: iso(step.completedAt) } : {}),
    ...(step.reason ? { reason: step.reason } : {}),
  };
}

/**
 * cc_ApplicationRolloutProgress. version_distribution is "Populated during active rollouts" and for
 * "rolling" holds the instance counts and the current step's percentage.
 */
function progressJson(rollout: Rollout, slots: Slot[]) {
  const total = slots.length;
  const step = rollout.steps[rollout.currentStep - 1];
  const onTarget = step ? instancesAt(step.percentage, total) : 0;
  return {
    current_step: rollout.currentStep,
    total_steps: rollout.steps.length,
    updated_instances: rollout.replaced.length,
    total_instances: total,
    ...(IN_FLIGHT.has(rollout.status)
      ? {
          version_distribution: {
            current_version_instances: total - onTarget,
            target_version_instances: onTarget,
            target_version_percentage: step?.percentage ?? 0,
          },
        }
      : {}),
  };
}

/**
 * cc_ApplicationHealth: instance counts (active: container running; assigned: none here, the
 * emulator's Durable Object and container come up together) and errors: the rollout's target
 * instances whose container exited with an error, as a placement event (cc_PlacementEvent).
 */
function healthJson(rollout: Rollout, slots: Slot[]) {
  const failed = slots.filter((slot) => slot.state === 'failed' && slot.version === rollout.targetVersion);
  return {
    instances: { active: slots.filter((slot) => slot.state === 'running').length, assigned: 0 },
    errors: failed.map((slot) => ({
      instance_id: slot.id,
      event: {
        id: `${slot.id.slice(0, 16)}-${slot.stateAt}`,
        time: iso(slot.stateAt),
        type: 'Error',
        name: 'VMStopped',
        message: `the container exited with code ${slot.exitCode ?? 'unknown'}`,
        details: { exit_code: slot.exitCode },
        statusChange: {},
      },
    })),
  };
}

/** cc_ApplicationRollout as GET/POST rollouts answer it (fields it cannot know are left out). */
export function rolloutJson(rollout: Rollout, slots: Slot[]) {
  return {
    id: rollout.id,
    created_at: iso(rollout.createdAt),
    last_updated_at: iso(rollout.lastUpdatedAt),
    ...(rollout.startedAt !== undefined ? { started_at: iso(rollout.startedAt) } : {}),
    description: rollout.description,
    status: rollout.status,
    kind: rollout.kind,
    strategy: rollout.strategy,
    current_configuration: rollout.currentConfiguration,
    target_configuration: rollout.targetConfiguration,
    current_version: rollout.currentVersion,
    target_version: rollout.targetVersion,
    steps: rollout.steps.map(stepJson),
    progress: progressJson(rollout, slots),
    health: healthJson(rollout, slots),
  };
}

/**
 * What an instance type allocates (cc_InstanceType: "lite": 1/16 vCPU, 256 MiB, 2 GB disk;
 * "basic": 1/4 vCPU, 1 GiB, 4 GB; "standard-1": 1/2 vCPU, 4 GiB, 8 GB; "standard-2": 1 vCPU,
 * 6 GiB, 12 GB; "standard-3": 2 vCPU, 8 GiB, 16 GB; "standard-4": 4 vCPU, 12 GiB, 20 GB), as
 * cc_ContainerInstanceConfiguration (memory in MiB, disk in decimal MB). wrangler's "dev" is lite.
 */
const RESOURCES: Record<string, { vcpu: number; memory: number; disk: number }> = {
  lite: { vcpu: 0.0625, memory: 256, disk: 2000 },
  dev: { vcpu: 0.0625, memory: 256, disk: 2000 },
  basic: { vcpu: 0.25, memory: 1024, disk: 4000 },
  'standard-1': { vcpu: 0.5, memory: 4096, disk: 8000 },
  'standard-2': { vcpu: 1, memory: 6144, disk: 12000 },
  'standard-3': { vcpu: 2, memory: 8192, disk: 16000 },
  'standard-4': { vcpu: 4, memory: 12288, disk: 20000 },
};

/** The resources of a configuration: its instance type's, or its own vcpu/memory_mib/disk. */
export function instanceResources(configuration: Configuration) {
  const custom = configuration as { vcpu?: number; memory_mib?: number; disk?: { size_mb?: number } };
  const typed = RESOURCES[configuration.instance_type ?? 'lite'];
  if (typed && configuration.instance_type) return typed;
  if (custom.vcpu !== undefined && custom.memory_mib !== undefined)
    return { vcpu: custom.vcpu, memory: custom.memory_mib, disk: custom.disk?.size_mb ?? 2000 };
  return typed ?? RESOURCES.lite!;
}

/** cc_ContainerInstance: id, application_id, image, status, configuration, started_at. */
export function instanceJson(slot: Slot, applicationId: string) {
  return {
    id: slot.id,
    application_id: applicationId,
    image: slot.configuration.image,
    status: {
      state: slot.state,
      updated_at: iso(slot.stateAt),
      ...(slot.exitCode !== undefined ? { exit_code: slot.exitCode } : {}),
    },
    configuration: instanceResources(slot.configuration),
    ...(slot.connectedAt !== undefined && slot.state === 'running'
      ? { started_at: iso(slot.connectedAt) }
      : {}),
  };
}
