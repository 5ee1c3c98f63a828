import { join } from 'node:path';
import { docker, DOCKER, REGISTRY } from './docker.js';
import { ROOT, runAction, type ActionRun } from './runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from './wrangler.js';

/** The reference Worker's directory and its name in the `rehearsal` environment the tests deploy. */
export const CLOUDFLARE_DIR = join(ROOT, 'deploy/cloudflare');
export const REFERENCE_WORKER = 'loa-gateway-rehearsal';

/**
 * Builds the reference core image (deploy/Dockerfile.core on the bootstrapped Node base) reporting
 * `version` as its image identity (IMAGE_VERSION); the layers are cache hits after the first build.
 */
export function buildReferenceImage(repository: string, version: string): string {
  const tag = `${repository}:${version}`;
  docker(
    [
      'build',
      '--network',
      'host',
      '--build-arg',
      'NODE_IMAGE=slipway/node:20',
      '--build-arg',
      `IMAGE_VERSION=${version}`,
      '-t',
      tag,
      '-f',
      join(ROOT, 'deploy/Dockerfile.core'),
      join(ROOT, 'deploy'),
    ],
    {
      // BuildKit: the classic builder resolves COPY --from through untagged intermediate images, which
      // another file's `docker image prune` on the shared engine can remove mid-build.
      env: { DOCKER_BUILDKIT: '1' },
    },
  );
  return tag;
}

/**
 * Runs the deploy, rollback or smoke-test bundle against the emulator at `api` as the runner runs
 * it: deploy and rollback get the test credentials and the reference Worker's `rehearsal`
 * environment (inputs override them), and wrangler pushes to the local registry on the host network.
 */
export function referenceAction(
  api: string,
  name: 'deploy' | 'rollback' | 'smoke-test',
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<ActionRun> {
  const connection: Record<string, string> =
    name === 'smoke-test'
      ? {}
      : {
          'api-token': TEST_TOKEN,
          'account-id': TEST_ACCOUNT,
          'working-directory': CLOUDFLARE_DIR,
          environment: 'rehearsal',
        };
  return runAction(
    name,
    { ...connection, ...inputs },
    {
      env: {
        CLOUDFLARE_API_BASE_URL: api,
        CLOUDFLARE_CONTAINER_REGISTRY: REGISTRY,
        WRANGLER_CI_OVERRIDE_NETWORK_MODE_HOST: 'true',
        SLIPWAY_DOCKER: DOCKER,
        ...env,
      },
    },
  );
}
