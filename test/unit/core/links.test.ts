import { describe, expect, it } from 'vitest';
import {
  imageLink,
  imagePage,
  registryHost,
  repositoryPath,
  runLink,
  runUrl,
  type GitHubOwner,
} from '../../../src/lib/core/links.js';
import { isRegistryReference } from '../../../src/lib/wrangler/config.js';

const ORG: GitHubOwner = { login: 'acme', type: 'Organization' };
const USER: GitHubOwner = { login: 'octocat', type: 'User' };

describe('imagePage: the public page of a pushed image, where its registry has one', () => {
  it.each<[string, GitHubOwner | undefined, string | undefined]>([
    // Docker Hub: no host, docker.io or index.docker.io; official images (library/) under /_/.
    ['nginx', undefined, 'https://hub.docker.com/_/nginx'],
    ['nginx:1.27', undefined, 'https://hub.docker.com/_/nginx'],
    ['library/nginx', undefined, 'https://hub.docker.com/_/nginx'],
    ['docker.io/library/nginx:latest', undefined, 'https://hub.docker.com/_/nginx'],
    ['acme/gateway:v1', undefined, 'https://hub.docker.com/r/acme/gateway'],
    ['docker.io/acme/gateway@sha256:abc', undefined, 'https://hub.docker.com/r/acme/gateway'],
    ['index.docker.io/acme/gateway:v1', undefined, 'https://hub.docker.com/r/acme/gateway'],
    ['docker.io/acme/team/gateway:v1', undefined, undefined],
    // ghcr.io: the package page of the repository's owner, /orgs/ or /users/ by its type.
    ['ghcr.io/acme/gateway:sha-1', ORG, 'https://github.com/orgs/acme/packages/container/package/gateway'],
    ['ghcr.io/ACME/gateway:sha-1', ORG, 'https://github.com/orgs/ACME/packages/container/package/gateway'],
    [
      'ghcr.io/octocat/app@sha256:abc',
      USER,
      'https://github.com/users/octocat/packages/container/package/app',
    ],
    [
      'ghcr.io/acme/tools/gateway:1',
      ORG,
      'https://github.com/orgs/acme/packages/container/package/tools%2Fgateway',
    ],
    ['ghcr.io/acme/gateway:1', undefined, undefined],
    ['ghcr.io/someone-else/gateway:1', ORG, undefined],
    ['ghcr.io/acme', ORG, undefined],
    // Registries without a public page the kit can name.
    ['registry.cloudflare.com/0123abcd/gateway:slipway-1', ORG, undefined],
    ['localhost:5000/gateway:1', ORG, undefined],
    ['127.0.0.1:5000/gateway:1', ORG, undefined],
    ['localhost/gateway', undefined, undefined],
  ])('%s (owner %j) → %s', (reference, owner, page) => {
    expect(imagePage(reference, owner)).toBe(page);
  });

  it.each<[string, GitHubOwner | undefined, string]>([
    [
      'ghcr.io/acme/gateway:sha-1',
      ORG,
      '[ghcr.io/acme/gateway](https://github.com/orgs/acme/packages/container/package/gateway)',
    ],
    ['acme/gateway:v1', undefined, '[acme/gateway](https://hub.docker.com/r/acme/gateway)'],
    ['127.0.0.1:5000/gateway:1', undefined, '`127.0.0.1:5000/gateway`'],
    ['ghcr.io/acme/gateway@sha256:abc', undefined, '`ghcr.io/acme/gateway`'],
  ])('imageLink(%s): the name without tag, linked or as code', (reference, owner, markdown) => {
    expect(imageLink(reference, owner)).toBe(markdown);
  });
});

describe('registryHost and repositoryPath: how docker splits a name', () => {
  it.each([
    ['ghcr.io/acme/app:1', 'ghcr.io', 'acme/app'],
    ['localhost:5000/app@sha256:abc', 'localhost:5000', 'app'],
    ['localhost/app', 'localhost', 'app'],
    ['acme/app:1', '', 'acme/app'],
    ['app', '', 'app'],
    ['app:1', '', 'app'],
  ])('%s → host %j, repository %j', (reference, host, path) => {
    expect(registryHost(reference)).toBe(host);
    expect(repositoryPath(reference)).toBe(path);
    expect(isRegistryReference(reference), 'wrangler tells registry references the same way').toBe(
      host !== '',
    );
  });
});

describe('runUrl and runLink: the run page, only with the runner values', () => {
  const env = {
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/gateway',
    GITHUB_RUN_ID: '99',
    GITHUB_RUN_NUMBER: '12',
  };
  it.each<[string, Record<string, string>, string | undefined, string | undefined]>([
    [
      'all set',
      env,
      'https://github.com/acme/gateway/actions/runs/99',
      '[run #12](https://github.com/acme/gateway/actions/runs/99)',
    ],
    [
      'no run number: the page without its number',
      { ...env, GITHUB_RUN_NUMBER: '' },
      'https://github.com/acme/gateway/actions/runs/99',
      '[the run](https://github.com/acme/gateway/actions/runs/99)',
    ],
    [
      'a GHES server URL with a trailing slash',
      { ...env, GITHUB_SERVER_URL: 'https://ghe.example/' },
      'https://ghe.example/acme/gateway/actions/runs/99',
      '[run #12](https://ghe.example/acme/gateway/actions/runs/99)',
    ],
    ['no server URL', { ...env, GITHUB_SERVER_URL: '' }, undefined, undefined],
    ['no repository', { ...env, GITHUB_REPOSITORY: '' }, undefined, undefined],
    ['no run id', { ...env, GITHUB_RUN_ID: '' }, undefined, undefined],
    ['outside a runner', {}, undefined, undefined],
  ])('%s', (_, given, url, markdown) => {
    expect(runUrl(given)).toBe(url);
    expect(runLink(given)).toBe(markdown);
  });
});
