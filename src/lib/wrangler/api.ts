import { UserError } from '../core/errors.js';
import { sleeper, type Deps, type Env, type Fetch } from '../core/io.js';

/** A Cloudflare API error: the envelope's first error code and message, and the HTTP status. */
export class CloudflareApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

interface Envelope<T> {
  success?: boolean;
  errors?: Array<{ code?: number; message?: string }>;
  result?: T;
}

/** The API calls wrangler has no command for, with the token and base URL wrangler uses. */
export interface CloudflareApi {
  /** `path` under /accounts/<account>/, e.g. `containers/applications`. */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  /**
   * A query to the GraphQL analytics API (POST <base>/graphql, "Cloudflare API v4 doesn't allow GETs
   * to /graphql": wrangler cli.js ~132834); its `data`. An answer with `errors` fails, even with HTTP
   * 200 ("a 200 response can contain an error", cf-docs analytics/graphql-api/errors.mdx).
   */
  graphql<T>(query: string, variables: Record<string, unknown>): Promise<T>;
}

/**
 * wrangler's own base: CLOUDFLARE_API_BASE_URL, else https://api.cloudflare.com/client/v4
 * (getCloudflareApiBaseUrl in node_modules/wrangler/wrangler-dist/cli.js; the containers client is
 * `${base}/accounts/${accountId}/containers`, getAPIUrl there).
 */
export function apiBase(env: Env): string {
  return (env.CLOUDFLARE_API_BASE_URL || 'https://api.cloudflare.com/client/v4').replace(/\/+$/, '');
}

const RETRIES = 3;

/**
 * A client for one account: bearer token in a header only, the v4 envelope unwrapped, 5xx and network
 * errors retried (3 tries with 1 s, 2 s between, as wrangler retries its uploads), API errors thrown
 * as CloudflareApiError with Cloudflare's code and words.
 */
export function cloudflareApi(
  connection: { apiToken: string; accountId: string },
  deps: Pick<Deps, 'env' | 'fetch' | 'sleep'>,
): CloudflareApi {
  const fetcher: Fetch | undefined = deps.fetch;
  if (!fetcher) throw new Error('cloudflareApi needs the fetch port');
  const base = `${apiBase(deps.env)}/accounts/${connection.accountId}/`;
  const headers = {
    authorization: `Bearer ${connection.apiToken}`,
    'content-type': 'application/json',
  };
  const sleep = sleeper(deps);
  const retried = async <T>(attemptOnce: () => Promise<Outcome<T>>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const outcome = await attemptOnce();
      if (outcome.ok) return outcome.result;
      if (!outcome.retry || attempt >= RETRIES) throw outcome.error;
      await sleep(1000 * attempt);
    }
  };
  return {
    call: <T>(method: string, path: string, body?: unknown) =>
      retried(() => once<T>(fetcher, method, base + path, headers, body)),
    graphql: <T>(query: string, variables: Record<string, unknown>) =>
      retried(() => graphqlOnce<T>(fetcher, `${apiBase(deps.env)}/graphql`, headers, { query, variables })),
  };
}

/** One GraphQL request: `data`, or the first error's message (retried on 5xx and no answer). */
async function graphqlOnce<T>(
  fetcher: Fetch,
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<Outcome<T>> {
  let response: { status: number; text(): Promise<string> };
  try {
    response = await fetcher(url, { method: 'POST', headers, body: JSON.stringify(body) });
  } catch (err) {
    return {
      ok: false,
      retry: true,
      error: new UserError(`Cloudflare GraphQL API: ${(err as Error).message}`),
    };
  }
  const text = await response.text();
  let answer: { data?: T; errors?: Array<{ message?: string }> | null } | undefined;
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    answer = undefined;
  }
  if (response.status < 400 && answer?.data && !answer.errors?.length)
    return { ok: true, result: answer.data };
  const said = answer?.errors?.[0]?.message ?? (text.trim().slice(0, 200) || 'no data');
  const error = new CloudflareApiError(
    response.status,
    undefined,
    `Cloudflare GraphQL API failed (HTTP ${response.status}): ${said}`,
  );
  return { ok: false, retry: response.status >= 500, error };
}

type Outcome<T> = { ok: true; result: T } | { ok: false; retry: boolean; error: Error };

/** One request: its result, or its error and whether a retry may help (5xx, no answer). */
async function once<T>(
  fetcher: Fetch,
  method: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<Outcome<T>> {
  const where = `${method} ${url.replace(/^.*?\/accounts\/[^/]+\//, '')}`;
  let response: { status: number; text(): Promise<string> };
  try {
    response = await fetcher(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    return {
      ok: false,
      retry: true,
      error: new UserError(`Cloudflare API ${where}: ${(err as Error).message}`),
    };
  }
  const text = await response.text();
  const envelope = parseEnvelope<T>(text);
  if (response.status < 400 && envelope && envelope.success !== false)
    return { ok: true, result: envelope.result as T };
  const first = envelope?.errors?.[0];
  const said = first?.message ?? (text.trim().slice(0, 200) || `HTTP ${response.status}`);
  const code = first?.code;
  const error = new CloudflareApiError(
    response.status,
    code,
    `Cloudflare API ${where} failed (HTTP ${response.status}${code ? `, code ${code}` : ''}): ${said}`,
  );
  return { ok: false, retry: response.status >= 500, error };
}

function parseEnvelope<T>(text: string): Envelope<T> | undefined {
  if (!text.trim()) return { success: true };
  try {
    return JSON.parse(text) as Envelope<T>;
  } catch {
    return undefined;
  }
}
