import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Runner } from '../../../src/lib/core/exec.js';
import { DOCKER_SHIM, registryLoginGuard } from '../../../src/lib/wrangler/docker.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-shim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const shim = join(dir, 'docker');
const real = join(dir, 'real-docker');
writeFileSync(shim, DOCKER_SHIM, { mode: 0o755 });
// The "real" docker prints each argument on its own line.
writeFileSync(real, '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n', { mode: 0o755 });
const through = (args: string[]) =>
  execFileSync(shim, args, { env: { ...process.env, SLIPWAY_REAL_DOCKER: real }, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);

describe("the docker shim for wrangler's container builds (no buildx)", () => {
  it.each([
    [
      "wrangler's build: buildx-only flags dropped, everything else kept in order",
      [
        'build',
        '--load',
        '-t',
        'app:v1',
        '--platform',
        'linux/amd64',
        '--provenance=false',
        '--build-arg',
        'A=b c',
        '--network',
        'host',
        '-f',
        '-',
        '/ctx',
      ],
      [
        'build',
        '-t',
        'app:v1',
        '--platform',
        'linux/amd64',
        '--build-arg',
        'A=b c',
        '--network',
        'host',
        '-f',
        '-',
        '/ctx',
      ],
    ],
    [
      'other commands pass through untouched',
      ['image', 'inspect', '--load', 'x'],
      ['image', 'inspect', '--load', 'x'],
    ],
    ['push', ['push', '127.0.0.1:5000/a/b:c'], ['push', '127.0.0.1:5000/a/b:c']],
    [
      'an argument with spaces stays one argument',
      ['build', '-t', 'x', '--label', 'a b', '.'],
      ['build', '-t', 'x', '--label', 'a b', '.'],
    ],
  ])('%s', (_name, args, expected) => {
    expect(through(args)).toEqual(expected);
  });
});

describe('registry login guard', () => {
  const config = (auths: Record<string, unknown>) => {
    const d = mkdtempSync(join(dir, 'cfg-'));
    writeFileSync(join(d, 'config.json'), JSON.stringify({ auths }));
    return d;
  };
  const recorder = () => {
    const calls: string[][] = [];
    const run: Runner = async (cmd, args) => {
      calls.push([cmd, ...args]);
      return { code: 0, stdout: '', stderr: '' };
    };
    return { calls, run };
  };

  it('logs out of a registry wrangler logged in to during the deploy', async () => {
    const d = config({});
    const { calls, run } = recorder();
    const env = { DOCKER_CONFIG: d, CLOUDFLARE_CONTAINER_REGISTRY: '127.0.0.1:5000' };
    const done = registryLoginGuard(run, env);
    writeFileSync(join(d, 'config.json'), JSON.stringify({ auths: { '127.0.0.1:5000': { auth: 'x' } } }));
    await done('docker');
    expect(calls).toEqual([['docker', 'logout', '127.0.0.1:5000']]);
  });

  it('leaves a login the user had before alone, and does nothing when there was no login', async () => {
    const { calls, run } = recorder();
    await registryLoginGuard(run, { DOCKER_CONFIG: config({ 'registry.cloudflare.com': {} }) })('docker');
    await registryLoginGuard(run, { DOCKER_CONFIG: config({}) })('docker');
    expect(calls).toEqual([]);
  });
});
