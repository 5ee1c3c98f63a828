/**
 * Faults on a served Worker's responses (the smoke test's and the error gate's adversary), and which
 * one applies to a request. Pure: the host (workers.ts) asks `takeFault` per request.
 */

export const WORKER_FAULT_KINDS = ['unhealthy', 'slow', 'wrong-version', 'status', 'exception'] as const;

/** A fault on a served Worker's responses. */
export interface WorkerFault {
  /** Worker name; any when absent. */
  script?: string;
  /** Regular expression matched against the request path; any when absent. */
  path?: string;
  /** Only on requests this version serves; or only on those any other version serves (a broken next deploy). */
  version?: string;
  notVersion?: string;
  /**
   * unhealthy: status "unhealthy" in a JSON body; wrong-version: another version.id; status: answer
   * it (the Worker returned it: a success in Workers analytics); slow: only the latency; exception:
   * the Worker threw (error 1101, counted as scriptThrewException; see workers.ts).
   */
  kind: (typeof WORKER_FAULT_KINDS)[number];
  status?: number;
  latencyMs?: number;
  /** How many matching requests it applies to (default: every one until cleared). */
  times?: number;
  /**
   * The share of matching requests it applies to, 0-100 (default 100), deterministically: the
   * requests where the running share reaches a new whole request (10: every 10th; 25: every 4th;
   * 50: every 2nd). Models a fault that shows only under load.
   */
  percent?: number;
}

/** A fault in force, with how many requests it was applied to and how many matched it. */
export type ActiveFault = WorkerFault & { used: number; seen?: number };

/** What the host knows of a request when it looks for a fault. */
export interface FaultTarget {
  script: string;
  versionId: string;
  path: string;
}

/** A fault as the admin route receives it, checked; throws with the reason for a bad one. */
export function workerFault(body: Partial<WorkerFault>): WorkerFault {
  if (!WORKER_FAULT_KINDS.includes(body.kind as WorkerFault['kind']))
    throw new Error(`kind must be one of ${WORKER_FAULT_KINDS.join(', ')}`);
  if (body.path !== undefined) new RegExp(body.path);
  if (
    body.percent !== undefined &&
    !(typeof body.percent === 'number' && body.percent >= 0 && body.percent <= 100)
  )
    throw new Error('percent must be a number from 0 to 100');
  if (body.times !== undefined && !(Number.isInteger(body.times) && body.times >= 0))
    throw new Error('times must be a whole number');
  return body as WorkerFault;
}

/**
 * Whether the n-th matching request (from 0) is one of the `percent` share: the whole part of the
 * running share, (n + 1) × percent / 100, grows on it. Over any N requests, N × percent / 100 of
 * them (rounded down) are hit, evenly spaced.
 */
export function onTurn(percent: number | undefined, n: number): boolean {
  const share = percent ?? 100;
  return Math.floor(((n + 1) * share) / 100) > Math.floor((n * share) / 100);
}

function matches(fault: ActiveFault, target: FaultTarget): boolean {
  return (
    (fault.times === undefined || fault.used < fault.times) &&
    (!fault.script || fault.script === target.script) &&
    (!fault.version || fault.version === target.versionId) &&
    (!fault.notVersion || fault.notVersion !== target.versionId) &&
    (!fault.path || new RegExp(fault.path).test(target.path))
  );
}

/**
 * The first fault in force that matches the request (Worker, the version serving it, path) and whose
 * turn it is (percent), counted as used. Each matching fault it reaches counts the request as seen.
 */
export function takeFault(faults: ActiveFault[], target: FaultTarget): ActiveFault | undefined {
  for (const fault of faults) {
    if (!matches(fault, target)) continue;
    const seen = fault.seen ?? 0;
    fault.seen = seen + 1;
    if (!onTurn(fault.percent, seen)) continue;
    fault.used++;
    return fault;
  }
  return undefined;
}
