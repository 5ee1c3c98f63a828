import { imageIdentity } from '../core/text.js';
import { atPointer, proofPlace, type HealthMode, type VersionProof } from './mode.js';
import { extendedHealthProblems } from './schema.js';

/** What a health endpoint answered: its HTTP status and (the start of) its body. */
export interface HealthAnswer {
  code: number;
  text: string;
  /** The HTTP reason phrase, quoted in the reason for a non-2xx answer when given. */
  statusText?: string;
  /** The response headers: where a version-header proof is read. */
  headers?: Headers;
}

/** What an answer must show to be accepted. */
export interface HealthExpectations {
  /** Health statuses accepted ("healthy", "degraded"...). */
  acceptStatus: string[];
  /**
   * basic: any 2xx passes, the body is not read. json: a 2xx whose body is a JSON object, and whose
   * `status`, when it names one, is accepted or "ok". extended: the body must be the extended-health
   * document (checked against the schema), with its version, image, status, capabilities and tools.
   */
  mode: HealthMode;
  /**
   * A 4xx that retrying cannot fix fails at once (a deployed URL that answers 403 will not change its
   * mind). Without it every non-2xx is retried: a container still booting gets until its deadline.
   */
  failOnClientError?: boolean;
  /** The version that must answer: extended compares the document's version.id, basic and json the proof. */
  expectVersion?: string;
  /**
   * The image the answering instance must run: compared with the document's `version.image` (or
   * `image.id`, `image.digest`), or in basic and json with the proof's value. A reference matches the
   * tag or digest it names.
   */
  expectImage?: string;
  /**
   * basic and json: where the answer says which version serves it. Without one, expectVersion and
   * expectImage cannot be checked there (the caller says so); extended reads the document.
   */
  proof?: VersionProof;
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
  /** The parsed body (json and extended; basic does not read it). */
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
 * accepted, a required capability or tool not ready. Failed at once: in json and extended mode a
 * body that is not JSON (json: not an object; extended: not the document), and a required tool that
 * failed.
 */
export function judgeHealth(answer: HealthAnswer, expect: HealthExpectations): HealthVerdict {
  if (answer.code < 200 || answer.code >= 300) return judgeHttpStatus(answer, expect);
  if (expect.mode === 'basic') return judgeBasic(answer, expect);
  const parsed = parseJson(answer.text);
  if (!parsed) {
    const start = answer.text.slice(0, 60).replace(/\s+/g, ' ');
    return { outcome: 'fail', reason: `the answer is not JSON (it starts "${start}")`, status: '' };
  }
  if (expect.mode === 'json') return judgeJson(parsed.value, answer, expect);
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

/** basic: any 2xx, by the version proof's header when there is one. The body is not read. */
function judgeBasic(answer: HealthAnswer, expect: HealthExpectations): HealthVerdict {
  const version = provenVersion(answer, undefined, expect.proof);
  const wrong = wrongVersion(version, expect);
  if (wrong) return { outcome: 'retry', reason: wrong, status: '', version };
  return { outcome: 'ok', status: '', version };
}

/** json: a JSON object, by the version proof when there is one, whose status (if any) is accepted or "ok". */
function judgeJson(value: unknown, answer: HealthAnswer, expect: HealthExpectations): HealthVerdict {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    return { outcome: 'fail', reason: `the answer is JSON but not an object (it is ${what})`, status: '' };
  }
  const version = provenVersion(answer, value, expect.proof);
  const seen = { status: statusOf(value), version, doc: value };
  const wrong = wrongVersion(version, expect);
  if (wrong) return { ...seen, outcome: 'retry', reason: wrong };
  if (!seen.status || seen.status === 'ok' || expect.acceptStatus.includes(seen.status))
    return { ...seen, outcome: 'ok' };
  return { ...seen, outcome: 'retry', reason: notAccepted(seen.status, expect, []) };
}

/** The version a basic or json answer proves: its proof header's value, or what its pointer names. */
function provenVersion(answer: HealthAnswer, body: unknown, proof?: VersionProof): string | undefined {
  if (proof?.header) return answer.headers?.get(proof.header)?.trim() || undefined;
  if (proof?.pointer && body !== undefined) return atPointer(body, proof.pointer);
  return undefined;
}

/**
 * Why a basic or json answer is not (yet) the expected version or image, naming what it proved and
 * where; undefined when it is, or when there is no proof to compare (nothing is invented).
 */
function wrongVersion(version: string | undefined, expect: HealthExpectations): string | undefined {
  const { proof } = expect;
  if (!proof?.header && !proof?.pointer) return undefined;
  const where = proofPlace(proof);
  if (expect.expectVersion && version !== expect.expectVersion)
    return `version ${version ?? '(none)'} answered (${where}), not the expected ${expect.expectVersion}`;
  if (expect.expectImage && !sameImage(expect.expectImage, version))
    return `image ${version ?? '(none)'} answered (${where}), not the expected ${expect.expectImage} (an instance the rollout has not replaced yet?)`;
  return undefined;
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
