import { describe, expect, it } from 'vitest';
import { DockerClient } from '../../../src/lib/engine/client.js';
import { debugArgs, type Engine } from '../../../src/lib/engine/engine.js';
import { scriptedRunner } from '../../harness/fakes.js';

const DEBUG = { RUNNER_DEBUG: '1' };

describe('debugArgs: the client debug option on a re-run with debug logging (RUNNER_DEBUG=1)', () => {
  it.each<[Engine['kind'], Record<string, string>, string[]]>([
    ['docker', DEBUG, ['--debug']],
    ['podman', DEBUG, ['--log-level=debug']],
    ['docker', {}, []],
    ['podman', {}, []],
    // GitHub sets it to 1 and only to 1; anything else is not debug logging.
    ['docker', { RUNNER_DEBUG: 'true' }, []],
    ['docker', { RUNNER_DEBUG: '0' }, []],
  ])('%s with %j → %j', (kind, env, args) => {
    expect(debugArgs(kind, env)).toEqual(args);
  });
});

describe('DockerClient: the commands it echoes carry the debug option, before the command', () => {
  const engine = (kind: Engine['kind'], builder: Engine['builder']): Engine => ({
    kind,
    bin: kind,
    clientVersion: '28',
    serverVersion: '28',
    buildx: builder === 'buildx',
    builder,
  });
  const spec = {
    context: '.',
    file: 'Dockerfile',
    buildArgs: [],
    labels: [],
    tags: ['app:1'],
    platforms: [],
  };

  it.each<[string, Engine, Record<string, string>, string, boolean]>([
    [
      'buildx, debug',
      engine('docker', 'buildx'),
      DEBUG,
      'docker --debug buildx build --progress=plain',
      false,
    ],
    ['buildkit, debug', engine('docker', 'buildkit'), DEBUG, 'docker --debug build --progress=plain', false],
    ['podman, debug', engine('podman', 'buildah'), DEBUG, 'podman --log-level=debug build --layers', false],
    ['buildx, no debug', engine('docker', 'buildx'), {}, 'docker buildx build --progress=plain', true],
  ])('%s', async (_, eng, env, start, staysSilent) => {
    const run = scriptedRunner([{ match: / build / }, { match: / push / }]);
    const client = new DockerClient(eng, run, env);
    await client.build(spec, { silent: true });
    await client.push('app:1');
    const [build, push] = run.calls;
    expect(build!.line.startsWith(`${start} `), build!.line).toBe(true);
    expect(build!.options.silent ?? false, 'a debug run shows every build').toBe(staysSilent);
    expect(push!.args).toEqual([...debugArgs(eng.kind, env), 'push', 'app:1']);
  });
});
