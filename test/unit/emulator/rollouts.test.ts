import { describe, expect, it } from 'vitest';
import {
  act,
  advance,
  createRollout,
  instanceJson,
  instancesAt,
  planSteps,
  replaceRollout,
  rolloutJson,
  stepSlots,
  type CreateRolloutRequest,
  type Pace,
  type Rollout,
  type Slot,
} from '../../../emulator/rollouts.js';

const OLD = { image: 'registry/app:old', instance_type: 'standard-1' };
const NEW = { image: 'registry/app:new', instance_type: 'standard-1' };
const PACE: Pace = { stepMs: 1000, graceMs: 0 };

/** `count` instances on the old image; `connected` maps an index to when its container started. */
function instances(count: number, connected: Record<number, number> = {}): Slot[] {
  return Array.from({ length: count }, (_unused, index) => ({
    index,
    id: String(index).padStart(64, '0'),
    configuration: OLD,
    version: 1,
    state: connected[index] !== undefined ? 'running' : 'inactive',
    stateAt: 0,
    connectedAt: connected[index],
  }));
}

function rollout(request: Partial<CreateRolloutRequest>, now = 0): Rollout {
  return createRollout({
    id: 'r1',
    applicationId: 'app',
    request: {
      description: 'Progressive update',
      strategy: 'rolling',
      target_configuration: NEW,
      ...request,
    },
    current: { configuration: OLD, version: 1 },
    targetVersion: 2,
    now,
  });
}

const onNew = (slots: Slot[]) =>
  slots.filter((slot) => slot.configuration.image === NEW.image).map((slot) => slot.index);
const stepStatuses = (subject: Rollout) => subject.steps.map((step) => step.status);

describe('planSteps', () => {
  it.each([
    [{ step_percentage: 100 }, [100]],
    [{ step_percentage: 50 }, [50, 100]],
    [{ step_percentage: 25 }, [25, 50, 75, 100]],
    [{ step_percentage: 5 }, Array.from({ length: 20 }, (_unused, index) => 5 * (index + 1))],
    [{ steps: [{ step_size: { percentage: 10 } }, { step_size: { percentage: 100 } }] }, [10, 100]],
  ])('%j plans cumulative steps %j', (request, percentages) => {
    expect(planSteps(request).map((step) => step.percentage)).toEqual(percentages);
  });

  it('describes steps the way wrangler does, or keeps the description sent', () => {
    expect(planSteps({ step_percentage: 50 })[0]!.description).toBe(
      'Step 1 of 2 - rollout at 50% of instances',
    );
    expect(
      planSteps({ steps: [{ step_size: { percentage: 100 }, description: 'all' }] })[0]!.description,
    ).toBe('all');
  });

  it.each([
    [{ step_percentage: 100, steps: [{ step_size: { percentage: 100 } }] }, /only one of/],
    [{}, /needs "step_percentage" or "steps"/],
    [{ step_percentage: 30 }, /one of 5, 10, 20, 25, 50, 100/],
    [{ steps: [{ step_size: { percentage: 5 } }, { step_size: { percentage: 100 } }] }, /between 10 and 100/],
    [{ steps: [{ step_size: { percentage: 50 } }, { step_size: { percentage: 40 } }] }, /go up/],
    [
      { steps: [{ step_size: { percentage: 10 } }, { step_size: { percentage: 90 } }] },
      /last step must be at 100/,
    ],
  ])('refuses %j', (request, message) => {
    expect(() => planSteps(request)).toThrow(message);
  });

  it('refuses a strategy or kind it does not emulate', () => {
    expect(() => rollout({ step_percentage: 100, strategy: 'new_instances' })).toThrow(/not emulated/);
    expect(() => rollout({ step_percentage: 100, kind: 'durable_objects_auto' })).toThrow(
      /full_auto or full_manual/,
    );
  });
});

describe('instancesAt and stepSlots', () => {
  it.each([
    [10, 20, 2],
    [10, 3, 1],
    [50, 3, 2],
    [100, 1, 1],
    [10, 1, 1],
    [25, 10, 3],
  ])('%i%% of %i instances is %i (rounded up, at least one)', (percentage, total, count) => {
    expect(instancesAt(percentage, total)).toBe(count);
  });

  it('replaces from the highest index down, so instance 0 goes last', () => {
    expect(stepSlots(10, 20)).toEqual([19, 18]);
    expect(stepSlots(100, 3)).toEqual([2, 1, 0]);
    // serving-first: instance 0 (the one serving the Durable Object here) goes in the first step.
    expect(stepSlots(10, 3, 'serving-first')).toEqual([0]);
    expect(stepSlots(50, 3, 'serving-first')).toEqual([0, 1]);
    expect(stepSlots(10, 3, 'serving-last')).toEqual([2]);
  });
});

describe('advance: a full_auto rollout over a fake clock', () => {
  it('[10, 100] on 10 instances: pending, then step by step to completed', () => {
    const slots = instances(10);
    const subject = rollout({
      steps: [{ step_size: { percentage: 10 } }, { step_size: { percentage: 100 } }],
    });
    expect(subject.status).toBe('pending');
    const timeline: Array<[number, string, number, string[], number[]]> = [
      [0, 'progressing', 1, ['progressing', 'pending'], [9]],
      [999, 'progressing', 1, ['progressing', 'pending'], [9]],
      [1000, 'progressing', 2, ['completed', 'progressing'], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      [1999, 'progressing', 2, ['completed', 'progressing'], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      [2000, 'completed', 2, ['completed', 'completed'], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    ];
    for (const [now, status, currentStep, steps, moved] of timeline) {
      advance(subject, slots, PACE, now);
      expect({
        now,
        status: subject.status,
        currentStep: subject.currentStep,
        steps: stepStatuses(subject),
      }).toEqual({
        now,
        status,
        currentStep,
        steps,
      });
      expect(onNew(slots)).toEqual(moved);
    }
    expect(slots.every((slot) => slot.version === 2)).toBe(true);
  });

  it('reports each moved instance once, with when it moved', () => {
    const slots = instances(3);
    const subject = rollout({ step_percentage: 50 });
    expect(advance(subject, slots, PACE, 0).map((moved) => [moved.slot, moved.at])).toEqual([
      [2, 0],
      [1, 0],
    ]);
    expect(advance(subject, slots, PACE, 5000).map((moved) => [moved.slot, moved.at])).toEqual([[0, 1000]]);
    expect(subject.status).toBe('completed');
  });

  it('immediate (one step of 100): every instance moves at once, the step completes after stepMs', () => {
    const slots = instances(4);
    const subject = rollout({ step_percentage: 100 });
    advance(subject, slots, PACE, 0);
    expect(onNew(slots)).toEqual([0, 1, 2, 3]);
    expect(subject.status).toBe('progressing');
    advance(subject, slots, PACE, 1000);
    expect(subject.status).toBe('completed');
  });

  it('an active instance waits out the grace period from when it connected; inactive ones do not wait', () => {
    const slots = instances(3, { 0: 500 });
    const subject = rollout({ step_percentage: 100 });
    const pace = { stepMs: 1000, graceMs: 5000 };
    const timeline: Array<[number, number[], string]> = [
      [0, [1, 2], 'progressing'],
      [5499, [1, 2], 'progressing'],
      [5500, [0, 1, 2], 'completed'],
    ];
    for (const [now, moved, status] of timeline) {
      advance(subject, slots, pace, now);
      expect([now, onNew(slots), subject.status]).toEqual([now, moved, status]);
    }
    expect(subject.steps[0]!.completedAt).toBe(5500);
  });

  it('a stuck step moves its instances but never completes, and `next` is refused', () => {
    const slots = instances(4);
    const subject = rollout({ step_percentage: 50 });
    advance(subject, slots, PACE, 1_000_000, 1);
    expect(subject.status).toBe('progressing');
    expect(stepStatuses(subject)).toEqual(['progressing', 'pending']);
    expect(onNew(slots)).toEqual([2, 3]);
    expect(() => act(subject, 'next', slots, 1_000_001, 1)).toThrow(/step 1 .* is not finished/);
  });
});

describe('actions', () => {
  it('full_manual stays pending until next, and waits for next after every step', () => {
    const slots = instances(4);
    const subject = rollout({ step_percentage: 50, kind: 'full_manual' });
    advance(subject, slots, PACE, 10_000);
    expect([subject.status, onNew(slots)]).toEqual(['pending', []]);
    act(subject, 'next', slots, 10_000);
    advance(subject, slots, PACE, 20_000);
    expect([subject.status, stepStatuses(subject), onNew(slots)]).toEqual([
      'progressing',
      ['completed', 'pending'],
      [2, 3],
    ]);
    act(subject, 'next', slots, 20_000);
    advance(subject, slots, PACE, 21_000);
    expect([subject.status, onNew(slots)]).toEqual(['completed', [0, 1, 2, 3]]);
  });

  it('next skips the rest of a finished step; refused while an instance is still in its grace period', () => {
    const slots = instances(4, { 0: 0 });
    const subject = rollout({ step_percentage: 50 });
    const pace = { stepMs: 60_000, graceMs: 10_000 };
    advance(subject, slots, pace, 0);
    act(subject, 'next', slots, 1);
    advance(subject, slots, pace, 1);
    expect([subject.currentStep, onNew(slots)]).toEqual([2, [1, 2, 3]]);
    expect(() => act(subject, 'next', slots, 2)).toThrow(/not finished/);
    advance(subject, slots, pace, 10_000);
    act(subject, 'next', slots, 10_000);
    expect(subject.status).toBe('completed');
  });

  it('previous moves the current step back and holds the rollout at the step before until next', () => {
    const slots = instances(4);
    const subject = rollout({ step_percentage: 50 });
    advance(subject, slots, PACE, 1000);
    const back = act(subject, 'previous', slots, 1000);
    expect(back.map((moved) => moved.slot).sort()).toEqual([0, 1]);
    expect([subject.currentStep, stepStatuses(subject), onNew(slots)]).toEqual([
      1,
      ['completed', 'pending'],
      [2, 3],
    ]);
    advance(subject, slots, PACE, 100_000);
    expect([subject.status, onNew(slots)]).toEqual(['progressing', [2, 3]]);
    act(subject, 'next', slots, 100_000);
    advance(subject, slots, PACE, 101_000);
    expect([subject.status, onNew(slots)]).toEqual(['completed', [0, 1, 2, 3]]);
  });

  it('previous at the first step is refused', () => {
    const slots = instances(4);
    const subject = rollout({ step_percentage: 50 });
    advance(subject, slots, PACE, 0);
    expect(() => act(subject, 'previous', slots, 0)).toThrow(/first step: use "revert"/);
  });

  it('revert moves every replaced instance back and ends the rollout reverted', () => {
    const slots = instances(4);
    const subject = rollout({ step_percentage: 50 });
    advance(subject, slots, PACE, 1000);
    const back = act(subject, 'revert', slots, 1200);
    expect(back.map((moved) => moved.slot).sort()).toEqual([0, 1, 2, 3]);
    expect(slots.every((slot) => slot.configuration.image === OLD.image && slot.version === 1)).toBe(true);
    expect([subject.status, stepStatuses(subject)]).toEqual(['reverted', ['reverted', 'reverted']]);
    advance(subject, slots, PACE, 10_000);
    expect(onNew(slots)).toEqual([]);
  });

  it.each([
    ['completed', 'revert'],
    ['replaced', 'next'],
    ['reverted', 'previous'],
  ])('a %s rollout takes no action (%s)', (status, action) => {
    const subject = rollout({ step_percentage: 100 });
    subject.status = status as Rollout['status'];
    expect(() => act(subject, action, instances(1), 0)).toThrow(`is ${status}`);
  });

  it('refuses an action that is not next, previous or revert', () => {
    expect(() => act(rollout({ step_percentage: 100 }), 'rollback', instances(1), 0)).toThrow(
      /next, previous, revert/,
    );
  });

  it('a newer rollout marks an in-flight one replaced, never a finished one', () => {
    const inFlight = rollout({ step_percentage: 50 });
    const done = rollout({ step_percentage: 100 });
    done.status = 'completed';
    replaceRollout(inFlight, 5);
    replaceRollout(done, 5);
    expect([inFlight.status, inFlight.lastUpdatedAt, done.status]).toEqual(['replaced', 5, 'completed']);
  });
});

describe('JSON as the API answers it', () => {
  it('a rollout: cc_ApplicationRollout fields, progress and version_distribution while in flight', () => {
    const slots = instances(20);
    const subject = rollout({
      steps: [{ step_size: { percentage: 10 } }, { step_size: { percentage: 100 } }],
    });
    expect(rolloutJson(subject, slots).progress).toEqual({
      current_step: 0,
      total_steps: 2,
      updated_instances: 0,
      total_instances: 20,
      version_distribution: {
        current_version_instances: 20,
        target_version_instances: 0,
        target_version_percentage: 0,
      },
    });
    advance(subject, slots, PACE, 0);
    const json = rolloutJson(subject, slots);
    expect(json).toMatchObject({
      id: 'r1',
      created_at: '1970-01-01T00:00:00.000Z',
      started_at: '1970-01-01T00:00:00.000Z',
      description: 'Progressive update',
      status: 'progressing',
      kind: 'full_auto',
      strategy: 'rolling',
      current_configuration: OLD,
      target_configuration: NEW,
      current_version: 1,
      target_version: 2,
      progress: {
        current_step: 1,
        updated_instances: 2,
        version_distribution: { target_version_instances: 2 },
      },
      health: { instances: { active: 0, assigned: 0 }, errors: [] },
    });
    expect(json.steps[0]).toEqual({
      id: 1,
      status: 'progressing',
      step_size: { percentage: 10 },
      description: 'Step 1 of 2 - rollout at 10% of instances',
      started_at: '1970-01-01T00:00:00.000Z',
    });
    advance(subject, slots, PACE, 2000);
    expect(rolloutJson(subject, slots).progress).toEqual({
      current_step: 2,
      total_steps: 2,
      updated_instances: 20,
      total_instances: 20,
    });
  });

  it('health.errors names a target instance whose container failed', () => {
    const slots = instances(1, { 0: 0 });
    const subject = rollout({ step_percentage: 100 });
    advance(subject, slots, PACE, 0);
    Object.assign(slots[0]!, { state: 'failed', exitCode: 137, stateAt: 3000 });
    expect(rolloutJson(subject, slots).health.errors).toEqual([
      expect.objectContaining({
        instance_id: slots[0]!.id,
        event: expect.objectContaining({
          type: 'Error',
          name: 'VMStopped',
          time: '1970-01-01T00:00:03.000Z',
        }),
      }),
    ]);
  });

  it('an instance: cc_ContainerInstance with its image, state and its instance type resources', () => {
    const [slot] = instances(1, { 0: 0 });
    expect(instanceJson(slot!, 'app')).toEqual({
      id: slot!.id,
      application_id: 'app',
      image: OLD.image,
      status: { state: 'running', updated_at: '1970-01-01T00:00:00.000Z' },
      configuration: { vcpu: 0.5, memory: 4096, disk: 8000 },
      started_at: '1970-01-01T00:00:00.000Z',
    });
  });
});
