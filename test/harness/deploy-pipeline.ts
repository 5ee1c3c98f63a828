import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REGISTRY } from './docker.js';
import { ROOT } from './runner.js';

/**
 * The root action's inputs and environment for deploy/ against the Cloudflare emulator: the
 * pipeline tests' and the fresh-runner harness's.
 */
export function deployPipeline(o: {
  image: string;
  api: string;
  url: string;
  temp: string;
  token: string;
  account: string;
  docker: string;
}): { inputs: Record<string, string>; env: Record<string, string | undefined> } {
  return {
    inputs: {
      context: join(ROOT, 'deploy'),
      dockerfile: join(ROOT, 'deploy/Dockerfile.core'),
      'build-args': 'NODE_IMAGE=slipway/node:20',
      image: o.image,
      network: 'host',
      'cache-store': 'auto',
      'instance-type': 'standard-1',
      forbid: 'rustc\ncargo\n~/.cargo\ntorch\nsentence_transformers',
      require: 'node\njq\ngit\nrg',
      // The gateway serves the extended-health document: its version.id proves the deployed version.
      health: 'extended',
      'boot-env': 'LOA_DEFERRED_TOOLS=false',
      'boot-network': 'host',
      'working-directory': join(ROOT, 'deploy/cloudflare'),
      environment: 'rehearsal',
      'api-token': o.token,
      'account-id': o.account,
      'smoke-url': o.url,
    },
    env: {
      ...process.env,
      RUNNER_TEMP: o.temp,
      CLOUDFLARE_API_BASE_URL: o.api,
      CLOUDFLARE_CONTAINER_REGISTRY: REGISTRY,
      WRANGLER_CI_OVERRIDE_NETWORK_MODE_HOST: 'true',
      SLIPWAY_DOCKER: o.docker,
      // Every version is built from this one checkout: the created label is its commit's time, so
      // the same source builds the same image (as on a runner, from the pushed commit's timestamp).
      SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH ?? checkoutTime(),
    },
  };
}

/** The checkout's HEAD commit time (seconds), or the epoch outside a git checkout. */
function checkoutTime(): string {
  try {
    return execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim() || '0';
  } catch {
    return '0';
  }
}
