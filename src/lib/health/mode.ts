/**
 * What a health answer is held to, for boot-test and smoke-test alike:
 * - basic: any 2xx; the body is not read as anything (any service's `/healthz → 200 ok`).
 * - json: a 2xx whose body is a JSON object; a `status` field, when present, is accepted or "ok".
 * - extended: the extended-health document (schemas/extended-health.schema.json) and its rules.
 */
export const HEALTH_MODES = ['basic', 'json', 'extended'] as const;

export type HealthMode = (typeof HEALTH_MODES)[number];

/** The mode when the `health` input is empty. */
export const DEFAULT_HEALTH_MODE: HealthMode = 'basic';

/** The health path when none is given: / for basic and json, /health/extended for extended. */
export function defaultHealthPath(mode: HealthMode): string {
  return mode === 'extended' ? '/health/extended' : '/';
}

/**
 * Where a basic or json answer says which version serves it (the extended document says it in
 * version.id): a response header, or (json) a JSON pointer into the body.
 */
export interface VersionProof {
  /** A response header holding the version, e.g. x-version. */
  header?: string;
  /** A JSON pointer (RFC 6901) to the version in the body, e.g. /version or /build/id. */
  pointer?: string;
}

/** Where the proof is, in words: "header x-version", "body /version". */
export function proofPlace(proof: VersionProof): string {
  return proof.header ? `header ${proof.header}` : `body ${proof.pointer}`;
}

/**
 * The value a JSON pointer (RFC 6901: "/a/b", ~1 for "/", ~0 for "~") names in a document: a
 * string, or a number as text; undefined when there is nothing there or something else.
 */
export function atPointer(doc: unknown, pointer: string): string | undefined {
  let here: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof here !== 'object' || here === null || !Object.hasOwn(here, key)) return undefined;
    here = (here as Record<string, unknown>)[key];
  }
  if (typeof here === 'string' && here !== '') return here;
  return typeof here === 'number' ? String(here) : undefined;
}
