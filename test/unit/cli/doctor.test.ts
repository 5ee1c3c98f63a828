import { describe, expect, it } from 'vitest';
import { doctor, engineInstall, type DoctorDeps } from '../../../src/cli/doctor.js';
import { painter, renderChecks } from '../../../src/cli/main.js';
import { scriptedRunner } from '../../harness/fakes.js';

describe('how to install an engine, per platform', () => {
  it.each([
    ['linux', 'debian', /^sudo apt-get install docker\.io/],
    ['linux', 'ubuntu', /^sudo apt-get install docker\.io/],
    ['linux', 'fedora', /^sudo dnf install podman/],
    ['linux', 'arch', /^sudo pacman -S docker/],
    ['linux', 'alpine', /^apk add docker/],
    ['linux', 'gentoo', /docs\.docker\.com\/engine\/install/],
    ['darwin', undefined, /^brew install --cask docker/],
    ['win32', undefined, /Docker Desktop with the WSL 2 back end/],
  ] as const)('%s %s', (platform, distro, expected) => {
    expect(engineInstall(platform, distro)).toMatch(expected);
  });
});

describe('the checks', () => {
  const deps = (
    rules: Parameters<typeof scriptedRunner>[0],
    extra: Partial<DoctorDeps> = {},
  ): DoctorDeps => ({
    run: scriptedRunner(rules),
    // Any executable stands in for the client: the scripted runner answers for it.
    env: { SLIPWAY_DOCKER: process.execPath },
    platform: 'linux',
    distro: 'debian',
    nodeVersion: 'v24.1.0',
    cwd: '/nonexistent',
    fetch: async () => ({ status: 200 }),
    ...extra,
  });

  it('a daemon that does not answer: the engine check fails with how to start it, and how to install', async () => {
    const checks = await doctor(
      deps([
        { match: / version --format/, result: { code: 1, stderr: 'Cannot connect to the Docker daemon' } },
      ]),
    );
    const engine = checks.find((check) => check.name === 'container engine')!;
    expect(engine).toMatchObject({ ok: false, required: true });
    expect(engine.detail).toMatch(/does not answer \(Cannot connect to the Docker daemon\): start it/);
  });

  it('Node older than 20 fails; a registry that wants a login (401) is there', async () => {
    const checks = await doctor(deps([], { nodeVersion: 'v18.19.0', fetch: async () => ({ status: 401 }) }), {
      registry: 'ghcr.io',
    });
    expect(checks.find((check) => check.name === 'Node.js')).toMatchObject({
      ok: false,
      fix: expect.stringContaining('Node 24'),
    });
    expect(checks.find((check) => check.name === 'registry')).toMatchObject({
      ok: true,
      detail: 'http://ghcr.io/v2/ answered 401',
    });
  });

  it('renders marks, and colour only when asked', () => {
    const checks = [
      { name: 'a', ok: true, required: true, detail: 'fine' },
      { name: 'bb', ok: false, required: true, detail: 'missing', fix: 'install it' },
    ];
    const plain = renderChecks(checks, painter({ isTTY: false } as NodeJS.WriteStream, {}));
    expect(plain).toBe('✓ a   fine\n✗ bb  missing\n\nTo fix:\n  bb: install it\n');
    const tty = { isTTY: true } as NodeJS.WriteStream;
    expect(renderChecks(checks, painter(tty, {}))).toContain('\x1b[32m✓\x1b[0m');
    expect(renderChecks(checks, painter(tty, { NO_COLOR: '1' }))).toBe(plain);
  });
});
