import { describe, expect, it } from 'vitest';
import {
  buildArgs,
  countCachedSteps,
  ghaScope,
  ratio,
  type BuildSpec,
} from '../../../src/lib/engine/build-command.js';
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
    'A=1',
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
        'A=1',
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

  it('makes gha scopes safe', () => {
    expect(ghaScope('ghcr.io/acme/app', 'feature/x,y')).toBe('ghcr.io-acme-app-feature-x-y');
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

describe('cached steps from build output', () => {
  it('BuildKit plain progress: counts RUN/COPY/ADD/WORKDIR steps and their CACHED lines', () => {
    const out = `#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#4 [builder 1/3] FROM docker.io/library/debian:bookworm
#4 CACHED
#5 [builder 2/3] COPY tool/ /src/tool/
#5 CACHED
#6 [builder 3/3] RUN make
#6 0.301 compiling
#6 DONE 12.0s
#7 [runtime 2/3] COPY --from=builder /out/x /x
#7 CACHED
#8 [stage-2 3/3] WORKDIR /app
#8 DONE 0.0s
#9 exporting to image`;
    expect(countCachedSteps(out)).toEqual({ cached: 2, total: 4 });
  });

  it('classic builder: Step lines and "Using cache"; LABEL and FROM are not work', () => {
    const out = `Step 1/6 : FROM debian
 ---> cfd70c0287f1
Step 2/6 : COPY tool/ /src/
 ---> Using cache
 ---> 6704c35d148b
Step 3/6 : RUN make
 ---> Running in 39db1dd72cb6
 ---> 3d298a370ccb
Step 4/6 : ENV A=1
 ---> Using cache
Step 5/6 : LABEL org.opencontainers.image.created=2026-11-22T05:16:32.227Z
 ---> Running in 14f79699e987
Step 6/6 : ADD x /x
 ---> Using cache`;
    expect(countCachedSteps(out)).toEqual({ cached: 2, total: 3 });
  });

  it('podman (buildah): STEP lines and "--> Using cache"', () => {
    const out = `STEP 1/3: FROM debian
STEP 2/3: COPY a /a
--> Using cache 1b2c3d
--> 1b2c3d
STEP 3/3: RUN make
--> 4e5f6a`;
    expect(countCachedSteps(out)).toEqual({ cached: 1, total: 2 });
  });

  it('ratio is cached/total, 0 for no steps', () => {
    expect(ratio({ cached: 2, total: 3 })).toBe(0.667);
    expect(ratio({ cached: 0, total: 0 })).toBe(0);
  });
});
