import { judgeHealth, type HealthAnswer, type HealthExpectations } from '../health/judge.js';
import type { HealthMode, VersionProof } from '../health/mode.js';

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

/** What smoke-test demands of the answer (the judge's expectations). */
export interface Expectations {
  /** basic (any 2xx), json (a JSON object) or extended (the extended-health document). */
  health: HealthMode;
  /** basic and json: where the answer names its version (a header, or json: a JSON pointer). */
  proof?: VersionProof;
  expectVersion?: string;
  /** The image the answering instance must run (see HealthExpectations.expectImage). */
  expectImage?: string;
  acceptStatus: string[];
  requireCapabilities: string[];
  requireTools: string[];
}

/** One GET: where, with which headers, how long to wait, how much body to read. */
export interface ProbeRequest {
  target: URL;
  headers: Headers;
  timeoutMs: number;
  /** What the full attempt-timeout is, to say whether the deadline cut this attempt short. */
  attemptTimeoutMs: number;
  maxBodyBytes: number;
}

type Probed = Omit<Attempt, 'n' | 'at'>;

const MAX_REDIRECTS = 5;

/** A body read up to `max` bytes: past that, `over` and no text (the rest is not read). */
async function readLimited(
  response: Response,
  max: number,
): Promise<{ text: string; over: boolean; bytes: number }> {
  if (!response.body) return { text: '', over: false, bytes: 0 };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > max) {
      await reader.cancel().catch(() => undefined);
      return { text: '', over: true, bytes };
    }
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), over: false, bytes };
}

function describeFetchError(err: unknown, request: ProbeRequest): string {
  const error = err as Error & { cause?: { code?: string; message?: string } };
  if (error.name === 'TimeoutError' || error.name === 'AbortError')
    return request.timeoutMs < request.attemptTimeoutMs
      ? `no answer within the ${request.timeoutMs / 1000}s left before the deadline`
      : `no answer within attempt-timeout (${request.attemptTimeoutMs / 1000}s)`;
  const cause = error.cause?.code ?? error.cause?.message;
  return `connection failed: ${cause ? `${cause}` : error.message}`;
}

/** A redirect to follow (same origin, within the limit), or the failure that stops at it. */
async function followRedirect(response: Response, url: URL, target: URL, hop: number): Promise<URL | Probed> {
  const next = new URL(response.headers.get('location')!, url);
  await response.body?.cancel().catch(() => undefined);
  if (next.origin !== target.origin)
    return {
      code: response.status,
      outcome: 'fail',
      reason: `redirected to another origin (${next.origin}); only same-origin redirects are followed`,
    };
  if (hop >= MAX_REDIRECTS)
    return { code: response.status, outcome: 'fail', reason: `more than ${MAX_REDIRECTS} redirects` };
  return next;
}

/** Reads the answer (a short excerpt of a non-2xx, at most max-body-bytes of a 2xx) and judges it. */
async function judgeResponse(
  response: Response,
  request: ProbeRequest,
  expect: Expectations,
): Promise<Probed> {
  const { status: code, statusText } = response;
  const success = code >= 200 && code < 300;
  // A non-2xx (and a basic 2xx, whose body is not judged) is read from its first bytes only; a json
  // or extended 2xx is read whole, up to max-body-bytes.
  const body =
    success && expect.health !== 'basic'
      ? await readLimited(response, request.maxBodyBytes)
      : { ...(await readLimited(response, 512).catch(() => ({ text: '', bytes: 0 }))), over: false };
  if (body.over)
    return {
      code,
      outcome: 'fail',
      reason: `the answer is larger than max-body-bytes (${request.maxBodyBytes} bytes; read ${body.bytes} before stopping)`,
    };
  const answer: HealthAnswer = { code, text: body.text, statusText, headers: response.headers };
  const judged: HealthExpectations = {
    acceptStatus: expect.acceptStatus,
    expectVersion: expect.expectVersion,
    expectImage: expect.expectImage,
    requireCapabilities: expect.requireCapabilities,
    requireTools: expect.requireTools,
    mode: expect.health,
    proof: expect.proof,
    // A 403 from a deployed URL will not change its mind.
    failOnClientError: true,
  };
  const verdict = judgeHealth(answer, judged);
  return {
    code,
    outcome: verdict.outcome,
    reason: verdict.reason,
    version: verdict.version,
    healthStatus: verdict.status || undefined,
    doc: verdict.doc,
  };
}

/** One attempt: a GET (following same-origin redirects), judged. Never throws. */
export async function probe(request: ProbeRequest, expect: Expectations): Promise<Probed> {
  let url = request.target;
  try {
    for (let hop = 0; ; hop++) {
      const response = await fetch(url, {
        headers: request.headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      if (response.status < 300 || response.status >= 400 || !response.headers.get('location'))
        return await judgeResponse(response, request, expect);
      const next = await followRedirect(response, url, request.target, hop);
      if (!(next instanceof URL)) return next;
      url = next;
    }
  } catch (err) {
    return { code: 0, outcome: 'retry', reason: describeFetchError(err, request) };
  }
}
