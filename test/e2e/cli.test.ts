import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../harness/runner.js';

/** `slipway` as a user runs it (the package's bin, through npx), with the given environment. */
const slipway = (args: string[], env: Record<string, string | undefined> = {}) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/slipway.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('slipway doctor', () => {
  it('on this machine: every required check passes, exit 0', () => {
    const r = slipway(['doctor', '--registry', '127.0.0.1:5000']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^✓ container engine +docker /m);
    expect(r.out).toMatch(/^✓ registry +http:\/\/127\.0\.0\.1:5000\/v2\/ answered 200$/m);
    expect(r.out, 'no colour when stdout is not a terminal').not.toContain('\x1b[');
  });

  it('a machine without an engine: says so, prints how to install one here, exit 1', () => {
    // Only node on PATH: neither docker nor podman.
    const bin = mkdtempSync(join(tmpdir(), 'slipway-no-engine-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = slipway(['doctor'], { PATH: bin, SLIPWAY_DOCKER: undefined });
    rmSync(bin, { recursive: true, force: true });
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toMatch(/^✗ container engine +No container engine found/m);
    expect(r.out).toMatch(/^To fix:\n {2}container engine: sudo apt-get install docker\.io/m);
  });

  it('an unreachable registry is a failed check naming the address', () => {
    const r = slipway(['doctor', '--registry', '127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^✗ registry +http:\/\/127\.0\.0\.1:9\/v2\/: /m);
  });

  it('an unknown command or option: one line on stderr, exit 2, no stack trace', () => {
    for (const args of [['deploy-all'], ['doctor', '--nope']]) {
      const r = slipway(args);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^slipway: /);
    }
  });
});
