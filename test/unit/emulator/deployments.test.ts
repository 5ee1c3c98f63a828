import { describe, expect, it } from 'vitest';
import { checkRequest, checkVersions, type DeploymentRequest } from '../../../emulator/routes/deployments.js';
import { hasPreview } from '../../../emulator/routes/versions.js';
import { CloudflareApiError } from '../../../emulator/router.js';
import { CloudflareState, type Version } from '../../../emulator/state.js';

const V1 = '11111111-1111-4111-8111-111111111111';
const V2 = '22222222-2222-4222-8222-222222222222';
const V3 = '33333333-3333-4333-8333-333333333333';

const refusal = (run: () => unknown): CloudflareApiError | undefined => {
  try {
    run();
  } catch (err) {
    if (err instanceof CloudflareApiError) return err;
    throw err;
  }
  return undefined;
};

describe('POST deployments as the API enforces them (10021)', () => {
  const split = (...shares: Array<[string, number]>): DeploymentRequest => ({
    strategy: 'percentage',
    versions: shares.map(([version_id, percentage]) => ({ version_id, percentage })),
  });

  it.each<[string, DeploymentRequest, RegExp]>([
    ['three versions', split([V1, 50], [V2, 25], [V3, 25]), /1 or 2 versions/],
    ['no versions', split(), /1 or 2 versions/],
    ['no strategy', { versions: [{ version_id: V1, percentage: 100 }] }, /strategy must be "percentage"/],
    ['another strategy', { ...split([V1, 100]), strategy: 'immediate' }, /strategy must be "percentage"/],
    ['a percentage over 100', split([V1, 101]), /percentage from 0 to 100/],
    ['a version twice', split([V1, 50], [V1, 50]), /only once/],
  ])('%s is refused', (_name, body, message) => {
    const error = refusal(() => checkRequest(body));
    expect(error).toMatchObject({ status: 400, code: 10021 });
    expect(error?.message).toMatch(message);
  });

  it('one or two versions with the percentage strategy pass', () => {
    expect(checkRequest(split([V1, 90], [V2, 10]))).toEqual([
      { version_id: V1, percentage: 90 },
      { version_id: V2, percentage: 10 },
    ]);
  });

  it('the sum must be 100 within ±0.001 (wrangler validateTrafficSubtotal)', () => {
    const state = new CloudflareState();
    const script = state.ensureScript('gw');
    const [first, second] = [1, 2].map(() =>
      state.addVersion(script, {
        mainModule: 'i.js',
        modules: [],
        bindings: [],
        compatibilityFlags: [],
        secrets: {},
        containerClasses: [],
      }),
    ) as [Version, Version];
    const check = (a: number, b: number) =>
      refusal(() =>
        checkVersions(script, [
          { version_id: first.id, percentage: a },
          { version_id: second.id, percentage: b },
        ]),
      );
    expect(check(66.667, 33.333)).toBeUndefined();
    expect(check(66.6667, 33.3329)).toBeUndefined();
    expect(check(66.66, 33.33)).toMatchObject({ code: 10021 });
    expect(check(90, 20)).toMatchObject({ code: 10021 });
    expect(refusal(() => checkVersions(script, [{ version_id: V3, percentage: 100 }]))?.message).toMatch(
      /does not exist/,
    );
  });
});

describe('has_preview: false for a Worker that implements a Durable Object (preview-urls.mdx)', () => {
  const state = new CloudflareState();
  const script = state.ensureScript('gw');
  const version = (fields: Partial<Version>) =>
    ({ bindings: [], containerClasses: [], ...fields }) as Version;

  it.each<[string, Partial<Version>, boolean]>([
    ['plain Worker', { bindings: [{ type: 'plain_text', name: 'A', text: 'a' }] }, true],
    [
      'a Durable Object of its own',
      { bindings: [{ type: 'durable_object_namespace', name: 'D', class_name: 'D' }] },
      false,
    ],
    [
      'own, named by script',
      { bindings: [{ type: 'durable_object_namespace', name: 'D', class_name: 'D', script_name: 'gw' }] },
      false,
    ],
    [
      "another script's Durable Object",
      { bindings: [{ type: 'durable_object_namespace', name: 'D', class_name: 'D', script_name: 'x' }] },
      true,
    ],
    ['containers', { containerClasses: ['Gateway'] }, false],
  ])('%s: %s', (_name, fields, expected) => {
    expect(hasPreview(script, version(fields))).toBe(expected);
  });
});
