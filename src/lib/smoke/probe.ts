import { extendedHealthProblems } from '../health/schema.js';

/** What one attempt saw, and what to do about it. */
export interface Attempt {
  n: number;
  /** Seconds since the start. */
  at: number;
  /** HTTP status, or 0 for a connection error or timeout. */
  code: number;
  version?: string;
  healthStatus?: string;
  outcome: 'ok' | 'retry' | 'fail';
  /** Why (for retry and fail): one line. */
  reason?: string;
  doc?: unknown;
}

export interface Expectations {
  expectVersion?: string;
  acceptStatus: string[];
  requireCapabilities: string[];
  requireTools: string[];
}

interface HealthDoc {
  status?: string;
  version?: { id?: string };
  tools?: { status?: Record<string, string>; errors?: Record<string, string> };
  capabilities?: Record<string, boolean>;
  reasons?: string[];
}

/** Status codes worth another try: the platform is still coming up, or asked us to slow down. */
export function retryableStatus(code: number): boolean {
  return code >= 500 || code === 404 || code === 408 || code === 429;
}

/**
 * Judges a 2xx answer's body. Retried: another version answering, a status not (yet) accepted, a
 * required capability or tool not ready. Failed at once: not JSON, not the extended-health shape, a
 * required tool that failed.
 */
export function judgeBody(text: string, e: Expectations): Omit<Attempt, 'n' | 'at' | 'code'> {
  let doc: HealthDoc;
  try {
    doc = JSON.parse(text) as HealthDoc;
  } catch {
    const start = text.slice(0, 60).replace(/\s+/g, ' ');
    return { outcome: 'fail', reason: `the answer is not JSON (it starts "${start}")` };
  }
  const version = typeof doc?.version?.id === 'string' ? doc.version.id : undefined;
  const healthStatus = typeof doc?.status === 'string' ? doc.status : undefined;
  const seen = { version, healthStatus, doc };
  if (e.expectVersion && version !== e.expectVersion)
    return {
      ...seen,
      outcome: 'retry',
      reason: `version ${version ?? '(none)'} answered, not the expected ${e.expectVersion}`,
    };
  const problems = extendedHealthProblems(doc);
  if (problems.length)
    return { ...seen, outcome: 'fail', reason: `not an extended-health document: ${problems.join('; ')}` };
  const tools = doc.tools?.status ?? {};
  const failed = e.requireTools.filter((t) => tools[t] === 'failed');
  if (failed.length)
    return {
      ...seen,
      outcome: 'fail',
      reason: failed.map((t) => `tool ${t} failed: ${doc.tools?.errors?.[t] ?? 'no error given'}`).join('; '),
    };
  const missing = [
    ...e.requireCapabilities
      .filter((c) => doc.capabilities?.[c] !== true)
      .map((c) => `capability ${c} is ${doc.capabilities?.[c] === false ? 'false' : 'missing'}`),
    ...e.requireTools
      .filter((t) => tools[t] !== 'installed')
      .map((t) => `tool ${t} is ${tools[t] ?? 'not listed'}`),
  ];
  if (!e.acceptStatus.includes(healthStatus ?? ''))
    return {
      ...seen,
      outcome: 'retry',
      reason: [
        `status ${healthStatus} (accepting ${e.acceptStatus.join(', ')})`,
        ...missing,
        ...(doc.reasons ?? []),
      ].join('; '),
    };
  if (missing.length) return { ...seen, outcome: 'retry', reason: missing.join('; ') };
  return { ...seen, outcome: 'ok' };
}
