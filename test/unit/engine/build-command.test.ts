import { describe, expect, it } from 'vitest';
import { buildArgEnv, buildArgs, type BuildSpec } from '../../../src/lib/engine/build-command.js';
import { builderEnv, chooseBuilder, type Builder } from '../../../src/lib/engine/engine.js';

const spec: BuildSpec = {
  context: '.',
  file: 'Dockerfile',
  target: 'runtime',
  buildArgs: [['A', '1']],
  labels: [['l', 'v']],
  tags: ['app:latest'],
  platforms: [],
  network: 'host',
  iidfile: '/tmp/iid',
};

describe('build command line per builder', () => {
  const common = [
    '--file',
    'Dockerfile',
    '--target',
    'runtime',
    '--network',
    'host',
    '--build-arg',
    'A',
    '--label',
    'l=v',
    '--tag',
    'app:latest',
    '--iidfile',
    '/tmp/iid',
  ];
  const cases: Array<[Builder, Partial<BuildSpec>, string[]]> = [
    ['buildkit', {}, ['build', '--progress=plain', ...common, '.']],
    ['classic', {}, ['build', ...common, '.']],
    ['buildah', {}, ['build', '--layers', ...common, '.']],
    ['buildx', {}, ['buildx', 'build', '--progress=plain', ...common, '--provenance=false', '--load', '.']],
    [
      'buildx',
      { push: true, metadataFile: '/tmp/m.json' },
      [
        'buildx',
        'build',
        '--progress=plain',
        ...common,
        '--metadata-file',
        '/tmp/m.json',
        '--provenance=false',
        '--push',
        '.',
      ],
    ],
    [
      'buildx',
      { cache: { gha: { scope: 'app-feature', readScopes: ['app-main'] } } },
      [
        'buildx',
        'build',
        '--progress=plain',
        ...common,
        '--provenance=false',
        '--load',
        '--cache-from',
        'type=gha,scope=app-feature',
        '--cache-from',
        'type=gha,scope=app-main',
        '--cache-to',
        'type=gha,scope=app-feature,mode=max,ignore-error=true',
        '.',
      ],
    ],
    [
      'buildx',
      { cache: { gha: { scope: 'app-main', readScopes: ['app-main'] } } },
      [
        'buildx',
        'build',
        '--progress=plain',
        ...common,
        '--provenance=false',
        '--load',
        '--cache-from',
        'type=gha,scope=app-main',
        '--cache-to',
        'type=gha,scope=app-main,mode=max,ignore-error=true',
        '.',
      ],
    ],
    [
      'buildx',
      { cache: { registry: { ref: 'ghcr.io/a/app:buildcache' } } },
      [
        'buildx',
        'build',
        '--progress=plain',
        ...common,
        '--provenance=false',
        '--load',
        '--cache-from',
        'type=registry,ref=ghcr.io/a/app:buildcache',
        '--cache-to',
        'type=registry,ref=ghcr.io/a/app:buildcache,mode=max,ignore-error=true',
        '.',
      ],
    ],
    [
      'buildx',
      { platforms: ['linux/amd64', 'linux/arm64'] },
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        'Dockerfile',
        '--target',
        'runtime',
        '--network',
        'host',
        '--platform',
        'linux/amd64,linux/arm64',
        '--build-arg',
        'A',
        '--label',
        'l=v',
        '--tag',
        'app:latest',
        '--iidfile',
        '/tmp/iid',
        '--provenance=false',
        '--push',
        '.',
      ],
    ],
  ];
  it.each(cases)('%s %j', (builder, extra, args) => {
    expect(buildArgs(builder, { ...spec, ...extra })).toEqual(args);
  });

  it.each(['buildkit', 'classic', 'buildah'] as const)(
    '%s refuses what needs buildx, saying so',
    (builder) => {
      expect(() => buildArgs(builder, { ...spec, platforms: ['linux/amd64', 'linux/arm64'] })).toThrow(
        /several platforms .* needs docker buildx/,
      );
      expect(() => buildArgs(builder, { ...spec, cache: { gha: { scope: 's', readScopes: [] } } })).toThrow(
        /need docker buildx/,
      );
    },
  );
});

describe('build-args and secrets never on the command line', () => {
  it.each([
    [
      'a plain name: named only, its value in the environment',
      'TOKEN',
      ['--build-arg', 'TOKEN'],
      { TOKEN: 's3cret' },
    ],
    [
      'a name the client reads itself (DOCKER_HOST): NAME=value',
      'DOCKER_HOST',
      ['--build-arg', 'DOCKER_HOST=s3cret'],
      {},
    ],
    ['PATH: NAME=value, the client keeps its own', 'PATH', ['--build-arg', 'PATH=s3cret'], {}],
    ['LD_PRELOAD: NAME=value, never the loader', 'LD_PRELOAD', ['--build-arg', 'LD_PRELOAD=s3cret'], {}],
  ] as const)('%s', (_, name, args, env) => {
    const withArg = { ...spec, buildArgs: [[name, 's3cret']] as Array<[string, string]> };
    const line = buildArgs('buildkit', withArg);
    expect(line.slice(line.indexOf('--build-arg'), line.indexOf('--build-arg') + 2)).toEqual(args);
    expect(buildArgEnv(withArg)).toEqual(env);
  });

  it.each(['buildx', 'buildkit', 'buildah'] as const)('%s mounts secrets from their files', (builder) => {
    const line = buildArgs(builder, { ...spec, secrets: [['NPM_TOKEN', '/tmp/s/0']] });
    expect(line).toContain('id=NPM_TOKEN,src=/tmp/s/0');
    expect(line[line.indexOf('id=NPM_TOKEN,src=/tmp/s/0') - 1]).toBe('--secret');
  });

  it('the classic builder refuses secrets, saying how to get BuildKit (never a build-arg)', () => {
    expect(() => buildArgs('classic', { ...spec, secrets: [['NPM_TOKEN', '/tmp/s/0']] })).toThrow(
      /Input "secrets" needs BuildKit.*Secrets are never passed as build-args/,
    );
  });
});

describe('which builder a client can use', () => {
  it.each([
    ['docker', '20.10.24+dfsg1', false, {}, 'buildkit'],
    ['docker', '28.2.2', false, {}, 'classic'],
    ['docker', '28.2.2', true, {}, 'buildx'],
    ['docker', '20.10.24', true, { DOCKER_BUILDKIT: '0' }, 'classic'],
    ['podman', '4.3.1', false, {}, 'buildah'],
  ] as const)('%s %s (buildx %s, env %j): %s', (kind, clientVersion, buildx, env, builder) => {
    expect(chooseBuilder({ kind, clientVersion, buildx, env })).toBe(builder);
  });
  it('sets DOCKER_BUILDKIT for the builders that need it', () => {
    expect(builderEnv('buildkit')).toEqual({ DOCKER_BUILDKIT: '1' });
    expect(builderEnv('classic')).toEqual({ DOCKER_BUILDKIT: '0' });
    expect(builderEnv('buildx')).toEqual({});
  });
});
