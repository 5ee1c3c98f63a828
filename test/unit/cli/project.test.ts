import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exposedPort, findProject, rootInputs } from '../../../src/cli/project.js';
import { describeError } from '../../../src/lib/core/errors.js';
import { makeTempDir } from '../../../src/lib/core/temp.js';
import { ROOT } from '../../harness/runner.js';

const known = rootInputs(ROOT);
const scratch = makeTempDir(process.env, 'slipway-project-');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A project directory made of the given files. */
function project(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const WRANGLER = JSON.stringify({
  name: 'svc',
  containers: [{ class_name: 'C', image: './Dockerfile', instance_type: 'basic' }],
  env: { staging: { containers: [{ class_name: 'C', image: './Dockerfile', image_vars: { A: '1' } }] } },
});
const DOCKERFILE = 'FROM base AS build\nEXPOSE 1\nFROM base\nEXPOSE 8080\n';

describe('slipway rehearse finds the project', () => {
  it('examples/hello-container: its slipway.json, the rehearsal environment, the Dockerfile wrangler builds', () => {
    const found = findProject({ dir: join(ROOT, 'examples/hello-container') }, known);
    expect(found).toMatchObject({
      service: 'hello',
      worker: 'hello-container-rehearsal',
      environment: 'rehearsal',
    });
    expect(found.versionArg).toBe('APP_VERSION');
    expect(found.inputs).toMatchObject({
      context: join(ROOT, 'examples/hello-container'),
      dockerfile: join(ROOT, 'examples/hello-container/Dockerfile'),
      'build-args': 'NODE_IMAGE=slipway/node:20',
      'instance-type': 'lite',
      'boot-port': '8080',
      'health-path': '/healthz',
      'version-header': 'x-worker-version',
    });
  });

  it("deploy/: the config in cloudflare/, its image_build_context, the service's inputs", () => {
    const found = findProject({ dir: join(ROOT, 'deploy') }, known);
    expect(found.worker).toBe('loa-gateway-rehearsal');
    expect(found.inputs).toMatchObject({
      context: join(ROOT, 'deploy'),
      dockerfile: join(ROOT, 'deploy/Dockerfile.core'),
      'working-directory': join(ROOT, 'deploy/cloudflare'),
      'instance-type': 'standard-1',
      'boot-port': '18789',
      health: 'extended',
    });
  });

  it('without slipway.json: the directory, top level or --env, --with adds inputs and wins', () => {
    const dir = project('plain', { 'wrangler.jsonc': WRANGLER, Dockerfile: DOCKERFILE });
    expect(findProject({ dir }, known)).toMatchObject({
      service: 'plain',
      worker: 'svc',
      inputs: { 'instance-type': 'basic', 'boot-port': '8080', 'build-args': '' },
    });
    const staging = findProject({ dir, env: 'staging', with: ['health=json', 'boot-port=9000'] }, known);
    expect(staging).toMatchObject({ worker: 'svc-staging', environment: 'staging' });
    expect(staging.inputs).toMatchObject({ 'build-args': 'A=1', health: 'json', 'boot-port': '9000' });
  });

  it.each([
    ['no config', {}, {}, /No wrangler\.json, wrangler\.jsonc or wrangler\.toml/],
    ['TOML', { 'wrangler.toml': 'name = "x"\n' }, {}, /has no container built from a Dockerfile/],
    ['no containers', { 'wrangler.json': '{"name":"x"}' }, {}, /wrangler\.json has no container/],
    [
      'unknown input',
      { 'wrangler.jsonc': WRANGLER, Dockerfile: DOCKERFILE },
      { with: ['colour=red'] },
      /no input "colour"/,
    ],
    [
      '--with without =',
      { 'wrangler.jsonc': WRANGLER, Dockerfile: DOCKERFILE },
      { with: ['health'] },
      /has no "="/,
    ],
    [
      'bad slipway.json',
      { 'slipway.json': '{"services":[{"nam":"x"}]}' },
      {},
      /slipway\.json: \/services\/0 must have required property 'name'/,
    ],
    ['not JSON', { 'slipway.json': '{' }, {}, /slipway\.json is not valid JSON/],
    [
      'two services',
      { 'slipway.json': '{"services":[{"name":"a"},{"name":"b"}]}' },
      {},
      /lists a, b: choose one with --service/,
    ],
    [
      'unknown service',
      { 'slipway.json': '{"services":[{"name":"a"}]}' },
      { service: 'z' },
      /has no service "z": it has a/,
    ],
    ['--service alone', {}, { service: 'a' }, /--service a needs a slipway\.json/],
    [
      'a bad input in slipway.json',
      {
        'slipway.json': '{"services":[{"name":"a","inputs":{"nope":"1"}}]}',
        'wrangler.jsonc': WRANGLER,
        Dockerfile: DOCKERFILE,
      },
      {},
      /slipway\.json inputs: the root action has no input "nope"/,
    ],
  ])('%s: one line that says what to do', (name, files, flags, message) => {
    const dir = project(`bad-${name.replace(/\W+/g, '-')}`, files);
    let thrown: unknown;
    try {
      findProject({ dir, ...flags }, known);
    } catch (err) {
      thrown = err;
    }
    expect(describeError(thrown)).toMatch(message);
    expect(describeError(thrown)).not.toContain('\n');
  });

  it.each([
    ['FROM a\nEXPOSE 8080\n', '8080'],
    ['FROM a\nEXPOSE 8080/tcp\n', '8080'],
    ['FROM a\nEXPOSE 80 443\n', undefined],
    ['FROM a\nEXPOSE 53/udp\n', undefined],
    ['FROM a AS b\nEXPOSE 1\nFROM a\n', undefined],
  ])('EXPOSE in %j → boot port %s', (text, port) => {
    const dir = project(`expose-${port}-${text.length}`, { Dockerfile: text });
    expect(exposedPort(join(dir, 'Dockerfile'))).toBe(port);
  });
});
