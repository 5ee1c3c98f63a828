import { UserError } from '../core/errors.js';
import type { VersionShare } from '../wrangler/output.js';

/**
 * A gradual deploy's plan and its judgements, pure: the steps, the split each step deploys, and
 * whether a step's measures pass the gate.
 *
 * Cloudflare's gradual deployments (developers.cloudflare.com/workers/versions-and-deployments/
 * gradual-deployments/): `wrangler versions upload` makes a version that serves nothing, `wrangler
 * versions deploy A@p% B@q%` splits traffic between at most two versions (wrangler's max-versions,
 * cli.js ~301474, "when server-side limitation is lifted"), the shares summing to 100 (± 0.001,
 * validateTrafficSubtotal). Version overrides reach a version "even when at 0%" (same page, "Version
 * overrides"), so the new version is probed at 0% before it takes any traffic.
 */

/** `gradual-steps`: whole percentages, rising, each 1..100, the last 100 (added when missing). */
export function parseSteps(name: string, value: string): number[] {
  const text = value.trim() || '10,50,100';
  const steps = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  steps.forEach((step, index) => {
    if (!Number.isInteger(step) || step < 1 || step > 100 || (index > 0 && step <= steps[index - 1]!))
      throw new UserError(
        `Input "${name}" is "${value}": give rising whole percentages from 1 to 100, such as 10,50,100.`,
      );
  });
  return steps.at(-1) === 100 ? steps : [...steps, 100];
}

/** `max-error-rate`: "5%" or "0.05", as a fraction; empty: no error gate. */
export function parseErrorRate(name: string, value: string): number | undefined {
  const text = value.trim();
  if (!text) return undefined;
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const rate = percent ? Number(percent[1]) / 100 : Number(text);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    throw new UserError(`Input "${name}" is "${value}": give a share of requests such as 5% or 0.05.`);
  return rate;
}

/**
 * The deployment a step makes: the new version at `percentage`, the rest on the version that
 * served most before (a deployment holds at most two versions). At 100 the new version alone.
 */
export function stepSplit(newVersion: string, before: VersionShare[], percentage: number): VersionShare[] {
  const old = before[0]?.version_id;
  if (percentage >= 100 || !old || old === newVersion) return [{ version_id: newVersion, percentage: 100 }];
  return [
    { version_id: newVersion, percentage },
    { version_id: old, percentage: 100 - percentage },
  ];
}

/** `wrangler versions deploy`'s positional specs for a split: `<id>@<p>%`. */
export function splitSpecs(split: VersionShare[]): string[] {
  return split.map((share) => `${share.version_id}@${share.percentage}%`);
}

/** Whether two deployments split traffic the same way (order aside; shares within 0.001). */
export function sameSplit(a: VersionShare[], b: VersionShare[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((share) =>
    b.some(
      (other) =>
        other.version_id === share.version_id && Math.abs(other.percentage - share.percentage) < 1e-3,
    ),
  );
}

/** What the new version did over one step, from Workers analytics. */
export interface ErrorMeasure {
  requests: number;
  errors: number;
}

/**
 * The error gate's verdict on one step: fail when the error rate is over the limit with at least
 * `minRequests` requests seen; with fewer, the rate says too little to fail on (said, not hidden).
 */
export function judgeErrors(
  measure: ErrorMeasure,
  maxErrorRate: number,
  minRequests: number,
): { pass: boolean; note: string } {
  const rate = measure.requests ? measure.errors / measure.requests : 0;
  const figures = `${measure.errors} errors in ${measure.requests} requests (${formatRate(rate)})`;
  if (measure.requests < minRequests)
    return { pass: true, note: `${figures}: under min-requests ${minRequests}, not judged` };
  if (rate > maxErrorRate)
    return { pass: false, note: `${figures}, over max-error-rate ${formatRate(maxErrorRate)}` };
  return { pass: true, note: `${figures}, within ${formatRate(maxErrorRate)}` };
}

export function formatRate(rate: number): string {
  return `${Number((rate * 100).toFixed(2))}%`;
}
