import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Deps, Fetch, FetchInit } from '../core/io.js';
import { isLoopback } from './registry-ref.js';

/**
 * What the stage store may show a registry. Every value is masked (Log.secret) as soon as it is
 * known, travels only in an Authorization header or a request body, and is never printed, put in a
 * URL or on a command line.
 */
export interface RegistryCredentials {
  /** Basic credentials: docker login's `auth`, or a credential helper's Username and Secret. */
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker login's `identitytoken`, a helper's `<token>` user). */
  identityToken?: string;
  /** cache-registry-token: sent as a Bearer token; at a token service, the password of Basic credentials. */
  token?: string;
}

/** The parts of docker's config.json read here (docker/cli cli/config/configfile/file.go). */
interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

type AuthDeps = Pick<Deps, 'env' | 'run' | 'log'>;

/**
 * The runner's docker login for a registry, as the docker CLI finds it: `$DOCKER_CONFIG/config.json`
 * (default ~/.docker/config.json); a `credHelpers` entry for the host, else `credsStore`, is asked
 * first (`docker-credential-<helper> get`), then the `auths` entry (matched by host name, with or
 * without a scheme, as docker/cli's ConvertToHostname does). Undefined when there is none.
 */
export async function dockerLogin(key: string, deps: AuthDeps): Promise<RegistryCredentials | undefined> {
  const dir = deps.env.DOCKER_CONFIG || join(deps.env.HOME || homedir(), '.docker');
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return undefined;
  let config: DockerConfig;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as DockerConfig;
  } catch {
    throw new Error(`${file} is not JSON, so the runner's docker login cannot be read`);
  }
  const helper = config.credHelpers?.[key] ?? config.credsStore;
  const fromHelper = helper ? await credentialHelper(helper, key, deps) : undefined;
  const entry =
    config.auths?.[key] ?? Object.entries(config.auths ?? {}).find(([k]) => hostOf(k) === key)?.[1];
  const credentials = fromHelper ?? (entry && fromEntry(entry));
  if (credentials) maskCredentials(credentials, deps.log);
  return credentials;
}

/** A login key's host: `https://ghcr.io/v1/` → ghcr.io (docker/cli credentials.ConvertToHostname). */
function hostOf(key: string): string {
  return key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0]!;
}

/** An `auths` entry: `auth` is base64 of user:password (docker/cli configfile decodeAuth). */
function fromEntry(entry: NonNullable<DockerConfig['auths']>[string]): RegistryCredentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0)
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/\0+$/, '') };
  }
  return entry.username && entry.password
    ? { username: entry.username, password: entry.password }
    : undefined;
}

/**
 * `docker-credential-<helper> get` with the server on stdin; it answers JSON `{ServerURL, Username,
 * Secret}`, a Username of `<token>` meaning Secret is an identity token, and "credentials not found
 * in native keychain" when it has none (docker/docker-credential-helpers client/client.go,
 * credentials/error.go; docker/cli credentials/native_store.go). Silent: its output is never shown.
 */
async function credentialHelper(
  helper: string,
  key: string,
  deps: AuthDeps,
): Promise<RegistryCredentials | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper))
    throw new Error(`the credential helper name "${helper}" is not valid`);
  const program = `docker-credential-${helper}`;
  let result;
  try {
    result = await deps.run(program, ['get'], { input: key, silent: true });
  } catch {
    throw new Error(`${program} (named in the docker config) could not be run`);
  }
  if (result.code !== 0) {
    if (/credentials not found/i.test(`${result.stdout}${result.stderr}`)) return undefined;
    throw new Error(`${program} get exited ${result.code}`);
  }
  let answer: { Username?: string; Secret?: string };
  try {
    answer = JSON.parse(result.stdout) as typeof answer;
  } catch {
    throw new Error(`${program} get did not answer JSON`);
  }
  if (!answer.Secret) return undefined;
  return answer.Username === '<token>'
    ? { identityToken: answer.Secret }
    : { username: answer.Username ?? '', password: answer.Secret };
}

export function maskCredentials(credentials: RegistryCredentials, log: Deps['log']): void {
  for (const value of [credentials.password, credentials.identityToken, credentials.token])
    if (value) log.secret(value);
}

/** One `WWW-Authenticate` challenge: its scheme (lower-cased) and parameters (RFC 9110 section 11.6.1). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * The first challenge of a `WWW-Authenticate` header, e.g. `Bearer realm="https://auth.docker.io/token",
 * service="registry.docker.io",scope="repository:samalba/my-app:pull,push"` (distribution's token
 * authentication spec, docs/content/spec/auth/token.md; RFC 6750 section 3).
 */
export function parseChallenge(header: string | null): Challenge | undefined {
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/.exec(header ?? '');
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const [, name, quoted, bare] of match[2]!.matchAll(
    /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g,
  ))
    params[name!.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare!;
  return { scheme: match[1]!.toLowerCase(), params };
}

/** Basic credentials for a request to a registry or a token service, when there are any. */
export function basicAuthorization(
  credentials: RegistryCredentials | undefined,
  actor: string,
): string | undefined {
  const pair =
    credentials?.username !== undefined && credentials.password !== undefined
      ? `${credentials.username}:${credentials.password}`
      : credentials?.token
        ? `${actor}:${credentials.token}`
        : undefined;
  return pair === undefined ? undefined : `Basic ${Buffer.from(pair).toString('base64')}`;
}

/**
 * Answers a Bearer challenge (distribution's token spec): GET `realm?service=…&scope=…` with Basic
 * credentials (none: anonymous), or with an identity token the OAuth2 form POST of
 * `grant_type=refresh_token` (docs/content/spec/auth/oauth.md). The token comes back as `token` or
 * `access_token`; it is masked and only ever sent in the Authorization header. Credentials are
 * never sent to a plain-http token service off this machine, and a redirect from the token service
 * is not followed (the credentials would go with it): it is a failed answer.
 */
export async function fetchToken(
  fetcher: Fetch,
  challenge: Challenge,
  credentials: RegistryCredentials | undefined,
  deps: Pick<Deps, 'log' | 'env'>,
): Promise<string> {
  const realm = challenge.params.realm ? safeUrl(challenge.params.realm) : undefined;
  if (!realm) throw new Error('the registry asked for a token without a valid realm');
  const { service, scope } = challenge.params;
  const basic = basicAuthorization(credentials, deps.env.GITHUB_ACTOR || 'slipway');
  if ((basic || credentials?.identityToken) && realm.protocol === 'http:' && !isLoopback(realm.host))
    throw new Error(`refusing to send credentials to the plain-http token service ${realm.origin}`);
  const request = credentials?.identityToken
    ? refreshRequest(realm, credentials.identityToken, service, scope)
    : getRequest(realm, service, scope, basic);
  const response = await fetcher(request.url, { ...request.init, signal: AbortSignal.timeout(60_000) });
  const text = await response.text().catch(() => '');
  if (response.status !== 200) {
    const refused = response.status === 401 || response.status === 403;
    throw new Error(
      `the token service ${realm.origin}${realm.pathname} answered ${response.status}` +
        (refused
          ? ": the credentials were refused (the runner's docker login, or cache-registry-token)"
          : ''),
    );
  }
  let body: { token?: string; access_token?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: no token, said below
  }
  const token = body.token || body.access_token;
  if (!token) throw new Error(`the token service ${realm.origin}${realm.pathname} answered no token`);
  deps.log.secret(token);
  return token;
}

function safeUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The token spec's GET: service and each space-separated scope as query parameters; credentials in the header. */
function getRequest(
  realm: URL,
  service: string | undefined,
  scope: string | undefined,
  basic: string | undefined,
): { url: string; init: FetchInit } {
  const url = new URL(realm);
  if (service) url.searchParams.set('service', service);
  for (const one of (scope ?? '').split(' ').filter(Boolean)) url.searchParams.append('scope', one);
  return {
    url: url.href,
    init: { method: 'GET', headers: basic ? { Authorization: basic } : {}, redirect: 'manual' },
  };
}

/** The OAuth2 refresh-token POST (distribution's oauth.md): the token in the form body, never the URL. */
function refreshRequest(
  realm: URL,
  refreshToken: string,
  service: string | undefined,
  scope: string | undefined,
): { url: string; init: FetchInit } {
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: 'slipway',
  });
  if (service) form.set('service', service);
  if (scope) form.set('scope', scope);
  return {
    url: realm.href,
    init: {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    },
  };
}
