import { createHash } from 'node:crypto';
import { UserError } from '../core/errors.js';

/** The repository of a registry that holds stage artifacts (build-image's `cache-registry`). */
export interface RegistryRepository {
  /** As given (host/name), for messages. */
  reference: string;
  /** host[:port] as given. */
  host: string;
  /** The API's origin: plain http for a loopback registry, https otherwise. */
  origin: string;
  /** `<name>` of the distribution API's /v2/<name>/… routes. */
  name: string;
  /** Where the runner's docker login keeps this registry's credentials (config.json `auths` key). */
  credentialsKey: string;
}

/**
 * A repository `<name>`, from the OCI distribution spec (spec.md, "Pulling manifests"):
 * `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
 */
const NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

/** Docker Hub answers the API at registry-1.docker.io and keeps its login under the v1 index URL (docker/cli). */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * `cache-registry`: `host[:port]/repository`, e.g. `ghcr.io/acme/slipway-cache` or
 * `127.0.0.1:5000/slipway-cache`. A tag, a digest, a scheme or a missing host is one line naming the
 * input and the fix (the store tags every entry itself).
 */
export function parseCacheRegistry(input: string, value: string): RegistryRepository {
  const reference = value.trim();
  const bad = (why: string) =>
    new UserError(`Input "${input}" is "${reference}": ${why}, e.g. ghcr.io/acme/slipway-cache.`);
  if (reference.includes('://')) throw bad('give host/repository without a scheme');
  const slash = reference.indexOf('/');
  const host = slash > 0 ? reference.slice(0, slash) : '';
  const name = slash > 0 ? reference.slice(slash + 1) : reference;
  // Docker's rule for the first component: a registry host has a dot or a port, or is localhost.
  if (!host || !(host.includes('.') || host.includes(':') || host === 'localhost'))
    throw bad('it names no registry host: give host/repository');
  if (name.includes('@') || name.includes(':'))
    throw bad('give the repository without a tag or digest (each stage entry is tagged by its key)');
  if (!NAME.test(name))
    throw bad(
      'the repository must be lower-case letters and digits with . _ - or / between them (OCI distribution spec)',
    );
  const hub = DOCKER_HUB.has(host);
  return {
    reference,
    host,
    name,
    origin: hub ? 'https://registry-1.docker.io' : `${isLoopback(host) ? 'http' : 'https'}://${host}`,
    credentialsKey: hub ? 'https://index.docker.io/v1/' : host,
  };
}

/**
 * A registry on this machine: localhost, 127.0.0.0/8 or [::1]. It is spoken to in plain http, as
 * Docker does ("Local registries, whose IP address falls in the 127.0.0.0/8 range, are
 * automatically marked as insecure": dockerd reference, insecure registries); anything else is https.
 */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * The tag of a key's entry: `slipway-stage-` and the sha256 of the key (78 characters). Keys are
 * readable but unbounded (a long stage name); a tag must be `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`
 * (OCI distribution spec, "Pulling manifests"). The key itself is in the manifest's annotations.
 */
export function tagForKey(key: string): string {
  return `slipway-stage-${createHash('sha256').update(key).digest('hex')}`;
}
