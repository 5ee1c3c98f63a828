import { createHash } from 'node:crypto';

/**
 * Which version of a Worker's current deployment serves a request, as Cloudflare's gradual
 * deployments route it. Pure: the host passes in the deployment, the request's headers and how many
 * requests it has routed by share so far.
 *
 * Sources (Cloudflare docs, cloudflare/cloudflare-docs):
 * - Gradual deployments, https://developers.cloudflare.com/workers/configuration/versions-and-deployments/gradual-deployments/
 *   ("Version affinity": "By default, the percentages configured when using gradual deployments
 *   operate on a per-request basis — a request has a X% probability of invoking one of two versions").
 * - Version overrides, https://developers.cloudflare.com/workers/versions-and-deployments/version-overrides/
 * - Version affinity, https://developers.cloudflare.com/workers/versions-and-deployments/gradual-deployments/version-affinity/
 * - RFC 8941 (Structured Field Values for HTTP), which the override header's docs point to.
 */

/** The deployment's versions and their shares of traffic, in the order the deployment lists them. */
export type Split = ReadonlyArray<{ version_id: string; percentage: number }>;

/** Version overrides docs: "set the Cloudflare-Workers-Version-Overrides header on the request". */
export const OVERRIDES_HEADER = 'cloudflare-workers-version-overrides';
/** Version affinity docs: "Set the Cloudflare-Workers-Version-Key header on the incoming request". */
export const VERSION_KEY_HEADER = 'cloudflare-workers-version-key';

/** What the host knows of one request when it routes it. */
export interface TrafficRequest {
  worker: string;
  split: Split;
  /** The Cloudflare-Workers-Version-Overrides field value, if any. */
  overrides?: string;
  /** The Cloudflare-Workers-Version-Key field value, if any. */
  versionKey?: string;
  /** How many requests of this Worker were routed by share before this one. */
  sequence: number;
}

export interface Route {
  versionId: string;
  /** override: the header named a version of the deployment; key: version affinity; share: percentages. */
  by: 'override' | 'key' | 'share';
}

/**
 * The version a request goes to: the override when it names a version of the current deployment,
 * else by the version key when one is set, else by share. Undefined when the split is empty.
 * An override is checked first: the docs describe it as sending "a request to a specific version",
 * and a request whose override is not applied is "routed according to the percentages".
 */
export function routeRequest(request: TrafficRequest): Route | undefined {
  const overridden = versionOverride(request.overrides, request.worker, request.split);
  if (overridden) return { versionId: overridden, by: 'override' };
  if (request.versionKey) {
    const keyed = pickByShare(request.split, keyPoint(request.versionKey));
    if (keyed) return { versionId: keyed, by: 'key' };
  }
  const shared = pickByShare(request.split, sequencePoint(request.sequence));
  return shared ? { versionId: shared, by: 'share' } : undefined;
}

/**
 * The version an override header names for this Worker, when it is in the current deployment.
 * Version overrides docs: each key "indicates the name of the Worker the override should be applied
 * to", the value "must be a String"; "A version override will only be applied if the specified
 * version is in the current deployment" (even one "set to serve 0% of traffic"); when "The header
 * value may not be a valid Dictionary", or the override is otherwise not applied, "the request will
 * be routed according to the percentages": so nothing here is an error, only not applied.
 */
export function versionOverride(field: string | undefined, worker: string, split: Split): string | undefined {
  if (field === undefined) return undefined;
  const versionId = parseDictionaryStrings(field)?.get(worker);
  return versionId !== undefined && split.some((entry) => entry.version_id === versionId)
    ? versionId
    : undefined;
}

/**
 * The version whose band of [0, 1) holds the point: each version of the split gets a band as wide as
 * its share, in the deployment's order. A 0% version gets no band. Points past the last band (shares
 * that add up to a little under 100) go to the last version with a share.
 */
export function pickByShare(split: Split, point: number): string | undefined {
  const shared = split.filter((entry) => entry.percentage > 0);
  let bandEnd = 0;
  for (const entry of shared) {
    bandEnd += entry.percentage / 100;
    if (point < bandEnd) return entry.version_id;
  }
  return shared.at(-1)?.version_id;
}

/**
 * The n-th point of a deterministic sequence spread evenly over [0, 1) (the golden-ratio, or
 * Fibonacci-hashing, sequence: n × 2^32/φ mod 2^32, over 2^32). Cloudflare chooses per request at
 * random; the emulator uses this so that over N requests each version's count is within a couple of
 * its share of N, and a test can assert the proportions without flakiness.
 */
export function sequencePoint(n: number): number {
  return (Math.imul(n, 0x9e3779b9) >>> 0) / 2 ** 32;
}

/**
 * A version key's point in [0, 1). Version affinity docs: "The platform hashes the key and uses the
 * result with the configured percentages to deterministically assign a version"; keys on the new
 * version "will remain on it" as its percentage grows. Cloudflare's hash is not documented: the
 * emulator uses SHA-256 (the first 32 bits). The point does not depend on the deployment, and the
 * bands keep the deployment's order, so growing a version's share only moves keys onto it.
 */
export function keyPoint(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/** A cursor over a field value being parsed. */
interface Input {
  text: string;
  at: number;
}

/** RFC 8941 §3.2 / §4.2.2: a member's value; only Strings matter to the override header. */
type MemberValue = { kind: 'string'; value: string } | { kind: 'other' };

class ParseError extends Error {}

/**
 * RFC 8941 §4.2 and §4.2.2 (Parsing a Dictionary): the members whose value is a String (§3.3.3),
 * keyed by member key; members with another type of value are kept as undefined. Undefined when the
 * field is not a valid Dictionary ("fail parsing" anywhere fails the whole field, §4.2). A key seen
 * twice keeps its last value (§4.2.2: "overwrite its value").
 */
export function parseDictionaryStrings(field: string): Map<string, string | undefined> | undefined {
  const input: Input = { text: field, at: 0 };
  const members = new Map<string, string | undefined>();
  try {
    skip(input, ' '); // §4.2 step 2: discard leading SP
    while (input.at < input.text.length) {
      const key = parseKey(input);
      const member = parseMemberValue(input);
      members.set(key, member.kind === 'string' ? member.value : undefined);
      skip(input, ' \t'); // OWS
      if (input.at >= input.text.length) break;
      if (input.text[input.at++] !== ',') throw new ParseError('expected ","');
      skip(input, ' \t');
      if (input.at >= input.text.length) throw new ParseError('trailing comma');
    }
  } catch (error) {
    if (error instanceof ParseError) return undefined;
    throw error;
  }
  return members;
}

function peek(input: Input): string | undefined {
  return input.text[input.at];
}

function skip(input: Input, characters: string): void {
  while (input.at < input.text.length && characters.includes(input.text[input.at]!)) input.at++;
}

/** §4.2.2: "=" then an Item or Inner List; a member without "=" is Boolean true, with parameters. */
function parseMemberValue(input: Input): MemberValue {
  if (peek(input) !== '=') {
    parseParameters(input);
    return { kind: 'other' };
  }
  input.at++;
  return parseItemOrInnerList(input);
}

/** §4.2.1.1: an Inner List when it starts with "(", else an Item. */
function parseItemOrInnerList(input: Input): MemberValue {
  if (peek(input) === '(') {
    parseInnerList(input);
    return { kind: 'other' };
  }
  const item = parseBareItem(input);
  parseParameters(input);
  return item;
}

/** §4.2.1.2 Parsing an Inner List: "(" Items separated by SP ")", then parameters. */
function parseInnerList(input: Input): void {
  input.at++;
  for (;;) {
    skip(input, ' ');
    if (input.at >= input.text.length) throw new ParseError('unterminated inner list');
    if (peek(input) === ')') break;
    parseBareItem(input);
    parseParameters(input);
    const next = peek(input);
    if (next !== ' ' && next !== ')') throw new ParseError('bad inner list');
  }
  input.at++;
  parseParameters(input);
}

/** §4.2.3.2 Parsing Parameters: ";" key ["=" bare item], repeated. */
function parseParameters(input: Input): void {
  while (peek(input) === ';') {
    input.at++;
    skip(input, ' ');
    parseKey(input);
    if (peek(input) === '=') {
      input.at++;
      parseBareItem(input);
    }
  }
}

/** §4.2.3.3 Parsing a Key: ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ). */
function parseKey(input: Input): string {
  const match = /^[a-z*][a-z0-9_\-.*]*/.exec(input.text.slice(input.at));
  if (!match) throw new ParseError('bad key');
  input.at += match[0].length;
  return match[0];
}

/** §4.2.3.1 Parsing a Bare Item, by its first character. */
function parseBareItem(input: Input): MemberValue {
  const first = peek(input) ?? '';
  if (first === '"') return { kind: 'string', value: parseString(input) };
  const pattern = bareItemPattern(first);
  const match = pattern?.exec(input.text.slice(input.at));
  if (!match) throw new ParseError('bad item');
  input.at += match[0].length;
  return { kind: 'other' };
}

/**
 * The other bare items' grammars: Integer and Decimal (§4.2.4: at most 15 digits; a Decimal at most
 * 12 before the "." and 1 to 3 after), Token (§4.2.6: ALPHA or "*", then tchar, ":" or "/"),
 * Byte Sequence (§4.2.7: base64 between colons), Boolean (§4.2.8: "?0" or "?1").
 */
function bareItemPattern(first: string): RegExp | undefined {
  if (first === '-' || /[0-9]/.test(first)) return /^-?(?:[0-9]{1,12}\.[0-9]{1,3}|[0-9]{1,15})(?![0-9.])/;
  if (/[A-Za-z*]/.test(first)) return /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/;
  if (first === ':') return /^:[A-Za-z0-9+/=]*:/;
  if (first === '?') return /^\?[01]/;
  return undefined;
}

/** §4.2.5 Parsing a String: DQUOTE, printable ASCII with \" and \\ escapes, DQUOTE. */
function parseString(input: Input): string {
  let value = '';
  input.at++;
  for (;;) {
    if (input.at >= input.text.length) throw new ParseError('unterminated string');
    const character = input.text[input.at++]!;
    if (character === '"') return value;
    if (character === '\\') {
      const escaped = input.text[input.at++];
      if (escaped !== '"' && escaped !== '\\') throw new ParseError('bad escape');
      value += escaped;
    } else if (character < ' ' || character > '~') throw new ParseError('not printable ASCII');
    else value += character;
  }
}
