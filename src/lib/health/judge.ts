import { imageIdentity } from '../core/text.js';
import { extendedHealthProblems } from './schema.js';

/** What a health endpoint answered: its HTTP status and (the start of) its body. */
export interface HealthAnswer {
  code: number;
  text: string;
  /** The HTTP reason phrase, quoted in the reason for a non-2xx answer when given. */
  statusText?: string;
}

/** What an answer must show to be accepted. */
export interface HealthExpectations {
  /** Health statuses accepted ("healthy", "degraded"...). */
  acceptStatus: string[];
  /**
   * The path serves the extended-health document: the body must be it (checked against the schema).
   * Otherwise any 2xx passes unless it names a status that is not accepted; "ok" always passes.
   */
  extended: boolean;
  /**
   * A 4xx that retrying cannot fix fails at once (a deployed URL that answers 403 will not change its
   * mind). Without it every non-2xx is retried: a container still booting gets until its deadline.
   */
  failOnClientError?: boolean;
  expectVersion?: string;
  /**
   * The image the answering instance must run: compared with the document's `version.image` (or
   * `image.id`, `image.digest`). A reference matches the tag or digest it names.
   */
  expectImage?: string;
  requireCapabilities?: string[];
  requireTools?: string[];
}

/** The judgement: accept, ask again, or give up; with what was seen. */
export interface HealthVerdict {
  outcome: 'ok' | 'retry' | 'fail';
  /** Why (for retry and fail): one line. */
  reason?: string;
  /** The health status the answer named ('' when none). */
  status: string;
  version?: string;
  /** The parsed body (the text itself on a plain path when it is not JSON). */
  doc?: unknown;
  /** Set when the body is JSON but not the extended-health document: each problem names the field. */
  problems?: string[];
}

interface HealthDoc {
  status?: unknown;
  version?: { id?: unknown; image?: unknown };
  image?: { id?: unknown; digest?: unknown };
  tools?: { status?: Record<string, string>; errors?: Record<string, string> };
  capabilities?: Record<string, boolean>;
  reasons?: string[];
}

/** Status codes worth another try: the platform is still coming up, or asked us to slow down. */
export function retryableStatus(code: number): boolean {
  return code >= 500 || code === 404 || code === 408 || code === 429;
}

/**
 * The one judge of a health answer, for boot-test and smoke-test alike. Retried: a non-2xx that may
 * pass (all of them unless `failOnClientError`), another version answering, a status not (yet)
 * accepted, a required capability or tool not ready. Failed at once: on an extended path a body that
 * is not JSON or not the extended-health document, and a required tool that failed.
 */
export function judgeHealth(answer: HealthAnswer, expect: HealthExpectations): HealthVerdict {
  if (answer.code < 200 || answer.code >= 300) return judgeHttpStatus(answer, expect);
  const parsed = parseJson(answer.text);
  if (!expect.extended) return judgePlain(parsed ?? { value: answer.text }, expect);
  if (!parsed) {
    const start = answer.text.slice(0, 60).replace(/\s+/g, ' ');
    return { outcome: 'fail', reason: `the answer is not JSON (it starts "${start}")`, status: '' };
  }
  return judgeDocument(parsed.value as HealthDoc, expect);
}

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

function judgeHttpStatus(answer: HealthAnswer, expect: HealthExpectations): HealthVerdict {
  const said = answer.text.trim().split('\n')[0]?.slice(0, 120);
  const what = `HTTP ${answer.code}${answer.statusText ? ` ${answer.statusText}` : ''}${said ? `: ${said}` : ''}`;
  if (!expect.failOnClientError || retryableStatus(answer.code))
    return { outcome: 'retry', reason: what, status: '' };
  return { outcome: 'fail', reason: `${what} (not retried: only 5xx, 404, 408 and 429 are)`, status: '' };
}

function statusOf(doc: unknown): string {
  if (typeof doc !== 'object' || !doc || !('status' in doc)) return '';
  return String((doc as HealthDoc).status);
}

/** A liveness path (/health): any 2xx whose status, if it names one, is accepted or "ok". */
function judgePlain(body: { value: unknown }, expect: HealthExpectations): HealthVerdict {
  const status = statusOf(body.value);
  const seen = { status, doc: body.value };
  if (!status || status === 'ok' || expect.acceptStatus.includes(status)) return { ...seen, outcome: 'ok' };
  return { ...seen, outcome: 'retry', reason: notAccepted(status, expect, []) };
}

function notAccepted(status: string, expect: HealthExpectations, more: string[]): string {
  return [`status ${status} (accepting ${expect.acceptStatus.join(', ')})`, ...more].join('; ');
}

/** The extended-health document: version, schema, tools, status, capabilities, in that order. */
function judgeDocument(doc: HealthDoc, expect: HealthExpectations): HealthVerdict {
  const version = typeof doc?.version?.id === 'string' ? doc.version.id : undefined;
  const seen = { status: statusOf(doc), version, doc };
  if (expect.expectVersion && version !== expect.expectVersion)
    return {
      ...seen,
      outcome: 'retry',
      reason: `version ${version ?? '(none)'} answered, not the expected ${expect.expectVersion}`,
    };
  const image = reportedImage(doc);
  if (expect.expectImage && !sameImage(expect.expectImage, image))
    return {
      ...seen,
      outcome: 'retry',
      reason: `image ${image ?? '(none reported)'} answered, not the expected ${expect.expectImage} (an instance the rollout has not replaced yet?)`,
    };
  const problems = extendedHealthProblems(doc);
  if (problems.length)
    return {
      ...seen,
      outcome: 'fail',
      problems,
      reason: `not an extended-health document: ${problems.join('; ')}`,
    };
  const failed = failedTools(doc, expect.requireTools ?? []);
  if (failed) return { ...seen, outcome: 'fail', reason: failed };
  const missing = notReady(doc, expect);
  if (!expect.acceptStatus.includes(seen.status))
    return {
      ...seen,
      outcome: 'retry',
      reason: notAccepted(seen.status, expect, [...missing, ...(doc.reasons ?? [])]),
    };
  if (missing.length) return { ...seen, outcome: 'retry', reason: missing.join('; ') };
  return { ...seen, outcome: 'ok' };
}

/** Required tools whose install failed (retrying cannot fix that), with their errors; or undefined. */
function failedTools(doc: HealthDoc, required: string[]): string | undefined {
  const tools = doc.tools?.status ?? {};
  const failed = required.filter((tool) => tools[tool] === 'failed');
  if (!failed.length) return undefined;
  return failed
    .map((tool) => `tool ${tool} failed: ${doc.tools?.errors?.[tool] ?? 'no error given'}`)
    .join('; ');
}

/** Required capabilities not (yet) on and required tools not (yet) installed, in words. */
function notReady(doc: HealthDoc, expect: HealthExpectations): string[] {
  const tools = doc.tools?.status ?? {};
  return [
    ...(expect.requireCapabilities ?? [])
      .filter((name) => doc.capabilities?.[name] !== true)
      .map((name) => `capability ${name} is ${doc.capabilities?.[name] === false ? 'false' : 'missing'}`),
    ...(expect.requireTools ?? [])
      .filter((tool) => tools[tool] !== 'installed')
      .map((tool) => `tool ${tool} is ${tools[tool] ?? 'not listed'}`),
  ];
}

/** The image the document says its instance runs: version.image, else image.id or image.digest. */
function reportedImage(doc: HealthDoc): string | undefined {
  const candidates = [doc?.version?.image, doc?.image?.id, doc?.image?.digest];
  return candidates.find((value): value is string => typeof value === 'string' && value !== '');
}

/**
 * Whether a reported image is the expected one: the same text, the same tag or digest, or one
 * digest or image id a prefix (12 hex digits at least) of the other.
 */
export function sameImage(expected: string, reported: string | undefined): boolean {
  if (!reported) return false;
  if (expected === reported) return true;
  const [want, got] = [imageIdentity(expected), imageIdentity(reported)].map((id) =>
    id.replace(/^sha256:/, ''),
  );
  if (want === got) return true;
  const hex = /^[0-9a-f]{12,}$/;
  return hex.test(want!) && hex.test(got!) && (want!.startsWith(got!) || got!.startsWith(want!));
}
