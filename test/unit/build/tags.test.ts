import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../harness/runner.js';
import {
  fullReferences,
  ociLabels,
  planTags,
  runContextFrom,
  sanitizeTag,
  validateImageName,
} from '../../../src/lib/build/tags.js';

const event = (name: string): unknown =>
  JSON.parse(readFileSync(join(ROOT, 'test/fixtures/events', `${name}.json`), 'utf8'));
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

describe('tags from real event payloads', () => {
  const cases: Array<[string, string, string, string, string[], string]> = [
    // [case, event name, payload fixture, GITHUB_REF, tags, version]
    [
      'push to the default branch',
      'push',
      'push-main',
      'refs/heads/main',
      ['latest', 'sha-a1b2c3d'],
      'sha-a1b2c3d',
    ],
    [
      'push to another branch',
      'push',
      'push-branch',
      'refs/heads/feature/faster-boot',
      ['dev-a1b2c3d'],
      'dev-a1b2c3d',
    ],
    ['semver tag', 'push', 'push-tag', 'refs/tags/v1.4.2', ['v1.4.2', 'v1.4', 'v1'], '1.4.2'],
    [
      '0.x semver tag (no major-only tag)',
      'push',
      'push-tag-zero',
      'refs/tags/v0.3.1',
      ['v0.3.1', 'v0.3'],
      '0.3.1',
    ],
    [
      'pre-release tag: only its full version, never latest',
      'push',
      'push-prerelease',
      'refs/tags/v2.0.0-rc.1',
      ['v2.0.0-rc.1'],
      '2.0.0-rc.1',
    ],
    ['pull request', 'pull_request', 'pull-request', 'refs/pull/42/merge', ['pr-42'], 'pr-42'],
    [
      'workflow_dispatch of a branch: like a push of it',
      'workflow_dispatch',
      'workflow-dispatch',
      'refs/heads/release/2026-11',
      ['dev-a1b2c3d'],
      'dev-a1b2c3d',
    ],
    [
      'workflow_dispatch of the default branch',
      'workflow_dispatch',
      'workflow-dispatch-main',
      'refs/heads/main',
      ['latest', 'sha-a1b2c3d'],
      'sha-a1b2c3d',
    ],
  ];
  it.each(cases)('%s', (_case, eventName, fixture, ref, tags, version) => {
    const ctx = runContextFrom(
      { GITHUB_EVENT_NAME: eventName, GITHUB_REF: ref, GITHUB_SHA: SHA, GITHUB_REPOSITORY: 'acme/gateway' },
      event(fixture),
    );
    expect(planTags(ctx)).toEqual({ tags, version });
  });

  it('gives latest to nothing but the default branch', () => {
    for (const [, eventName, fixture, ref] of cases) {
      const ctx = runContextFrom(
        { GITHUB_EVENT_NAME: eventName, GITHUB_REF: ref, GITHUB_SHA: SHA },
        event(fixture),
      );
      expect(planTags(ctx).tags.includes('latest'), `${fixture} ${ref}`).toBe(ref === 'refs/heads/main');
    }
  });

  it('reads the PR number from the payload, else from the ref', () => {
    expect(planTags({ eventName: 'pull_request', ref: 'refs/pull/7/merge', sha: SHA }).tags).toEqual([
      'pr-7',
    ]);
    expect(() => planTags({ eventName: 'pull_request', ref: '', sha: SHA })).toThrow(
      /no pull request number/,
    );
  });

  it('tags a non-semver tag with itself, sanitised', () => {
    expect(planTags({ eventName: 'push', ref: 'refs/tags/release/nov', sha: SHA }).tags).toEqual([
      'release-nov',
    ]);
    expect(sanitizeTag('.hidden')).toBe('hidden');
  });

  it('outside a runner: dev-local', () => {
    expect(planTags(runContextFrom({}, {}))).toEqual({ tags: ['dev-local'], version: 'dev-local' });
  });

  it.each([
    ['an organization', { login: 'acme', type: 'Organization' }, { login: 'acme', type: 'Organization' }],
    ['a user', { login: 'octocat', type: 'User' }, { login: 'octocat', type: 'User' }],
    ['a type the package pages do not have', { login: 'bot', type: 'Bot' }, undefined],
    ['no login', { type: 'User' }, undefined],
    ['no owner', undefined, undefined],
  ])("the repository's owner from the event (for the image's package page): %s", (_, owner, expected) => {
    expect(runContextFrom({}, { repository: { full_name: 'x/y', owner } }).owner).toEqual(expected);
  });
});

describe('image names, references and labels', () => {
  it.each([
    ['app'],
    ['ghcr.io/acme/gateway'],
    ['127.0.0.1:5000/slipway/app'],
    ['localhost/app'],
    ['a/b-c_d.e'],
  ])('accepts %s', (n) => {
    expect(validateImageName(n)).toBe(n);
  });
  it.each([['App'], ['ghcr.io/acme/app:v1'], ['app@sha256:abc'], [''], ['-app']])(
    'rejects %s with the fix',
    (n) => {
      expect(() => validateImageName(n)).toThrow(/give an image name without tag, lower-case/);
    },
  );
  it('adds extra tags and full references, without duplicates', () => {
    expect(
      fullReferences('ghcr.io/a/b', ['latest'], ['edge', 'ghcr.io/a/b:latest', 'docker.io/a/b:v1']),
    ).toEqual(['ghcr.io/a/b:latest', 'ghcr.io/a/b:edge', 'docker.io/a/b:v1']);
    expect(() => fullReferences('a', [], ['bad tag'])).toThrow(/neither a tag .* nor a reference/);
  });
  it.each([
    ['SOURCE_DATE_EPOCH', { SOURCE_DATE_EPOCH: '1767225600' }, {}, '2026-01-01T00:00:00.000Z'],
    [
      'the head commit',
      {},
      { head_commit: { timestamp: '2026-02-03T04:05:06+01:00' } },
      '2026-02-03T03:05:06.000Z',
    ],
    [
      'SOURCE_DATE_EPOCH over the head commit',
      { SOURCE_DATE_EPOCH: '0' },
      { head_commit: { timestamp: '2026-02-03T04:05:06Z' } },
      '1970-01-01T00:00:00.000Z',
    ],
    ['neither (the build time)', { SOURCE_DATE_EPOCH: 'soon' }, {}, '2026-11-22T00:00:00.000Z'],
  ])('the created label comes from %s', (_name, env, payload, created) => {
    const labels = Object.fromEntries(
      ociLabels(runContextFrom(env, payload), '1', new Date('2026-11-22T00:00:00Z')),
    );
    expect(labels['org.opencontainers.image.created']).toBe(created);
  });
  it('sets the OCI labels source, revision, created and version', () => {
    const labels = Object.fromEntries(
      ociLabels(
        { eventName: 'push', ref: '', sha: SHA, serverUrl: 'https://github.com', repository: 'acme/gateway' },
        '1.4.2',
        new Date('2026-11-22T00:00:00Z'),
      ),
    );
    expect(labels).toEqual({
      'org.opencontainers.image.source': 'https://github.com/acme/gateway',
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.created': '2026-11-22T00:00:00.000Z',
      'org.opencontainers.image.version': '1.4.2',
    });
  });
});
