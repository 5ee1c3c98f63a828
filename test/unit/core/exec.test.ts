import { afterEach, describe, expect, it } from 'vitest';
import { childEnv } from '../../../src/lib/core/exec.js';

/** The step's environment as a JavaScript action sees it on a runner, with a job-level secret. */
const STEP_ENV: Record<string, string> = {
  PATH: '/usr/bin',
  HOME: '/home/runner',
  LANG: 'C.UTF-8',
  HTTPS_PROXY: 'http://proxy:3128',
  RUNNER_TEMP: '/tmp/runner',
  GITHUB_ACTIONS: 'true',
  'INPUT_API-TOKEN': 'input-token',
  INPUT_SECRETS: 'API_KEY=x',
  STATE_container: 'c1',
  ACTIONS_RUNTIME_TOKEN: 'runtime',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc',
  JOB_SECRET: 'set in the job env',
  GITHUB_TOKEN: 'ghs_job',
  DOCKER_HOST: 'unix:///run/docker.sock',
  DOCKER_CONFIG: '/home/runner/.docker',
  CONTAINER_HOST: 'unix:///run/podman.sock',
  CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:8787/client/v4',
  WRANGLER_LOG: 'debug',
  npm_config_registry: 'https://registry.example',
  GIT_SSH_COMMAND: 'ssh -i key',
  DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1001/bus',
  AWS_REGION: 'eu-west-1',
};

describe('childEnv: an allow-list per tool', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, saved);
  });
  const envFor = (command: string, extra: Record<string, string> = {}) => {
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, STEP_ENV);
    return Object.keys(childEnv(extra, command)).sort();
  };
  const common = ['GITHUB_ACTIONS', 'HOME', 'HTTPS_PROXY', 'LANG', 'PATH', 'RUNNER_TEMP'];
  const engine = ['CONTAINER_HOST', 'DOCKER_CONFIG', 'DOCKER_HOST'];

  it.each([
    ['/usr/bin/docker', [...common, ...engine]],
    ['podman', [...common, ...engine]],
    ['/work/node_modules/.bin/wrangler', [...common, ...engine, 'CLOUDFLARE_API_BASE_URL', 'WRANGLER_LOG']],
    ['npm', [...common, 'npm_config_registry']],
    ['git', [...common, 'GIT_SSH_COMMAND']],
    ['docker-credential-ecr-login', [...common, ...engine, 'AWS_REGION', 'DBUS_SESSION_BUS_ADDRESS']],
    ['tar', common],
  ])('%s gets %j', (command, names) => {
    expect(envFor(command)).toEqual([...names].sort());
  });

  it.each(['docker', 'wrangler', 'npm', 'tar', 'docker-credential-pass'])(
    '%s never gets inputs, state, the runtime or OIDC tokens, a job-level secret or the GitHub token',
    (command) => {
      const names = envFor(command);
      for (const name of [
        'INPUT_API-TOKEN',
        'INPUT_SECRETS',
        'STATE_container',
        'ACTIONS_RUNTIME_TOKEN',
        'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
        'JOB_SECRET',
        'GITHUB_TOKEN',
      ])
        expect(names).not.toContain(name);
    },
  );

  it('what a tool is handed explicitly always reaches it (the Cloudflare token to wrangler)', () => {
    expect(envFor('wrangler', { CLOUDFLARE_API_TOKEN: 't' })).toContain('CLOUDFLARE_API_TOKEN');
    expect(envFor('docker', { ACTIONS_RUNTIME_TOKEN: 'r' })).toContain('ACTIONS_RUNTIME_TOKEN');
  });
});
