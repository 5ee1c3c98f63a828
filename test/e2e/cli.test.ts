import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../emulator/server.js';
import { TEST_ACCOUNT, TEST_TOKEN, wrangler } from '../harness/wrangler.js';
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
    for (const args of [
      ['deploy-all'],
      ['doctor', '--nope'],
      ['rehearse', '--break=everything'],
      ['rehearse', '--dir', 'no/such/dir'],
      ['rehearse', '--dir', 'examples/hello-container', '--with', 'colour=red'],
      ['rehearse', '--dir', 'examples/hello-container', '--service', 'other'],
    ]) {
      const r = slipway(args);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err, args.join(' ')).toMatch(/^slipway: /);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});

describe('slipway deploy and rollback (the actions’ bundles, from a terminal) against the emulator', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  const CANARY = 'cli-secret-canary-5c21';
  // Asynchronous: the emulator answers from this process, which a spawnSync would block.
  const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
    new Promise<{ code: number | null; out: string; err: string }>((done) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/slipway.mjs'), ...args], {
        cwd: ROOT,
        env: {
          ...process.env,
          CLOUDFLARE_API_BASE_URL: api,
          CLOUDFLARE_API_TOKEN: TEST_TOKEN,
          CLOUDFLARE_ACCOUNT_ID: TEST_ACCOUNT,
          ...env,
        },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (err += d));
      child.on('close', (code) => done({ code, out, err }));
    });
  const live = () => emu.state.liveVersion(emu.state.script('slipway-fixture')!)?.id;
  const record = () =>
    JSON.parse(readFileSync(join(dir, '.slipway/deploys/slipway-fixture.json'), 'utf8')) as Record<
      string,
      string
    >;

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-cli-deploy-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules')); // the project's own wrangler
    writeFileSync(join(dir, 'secrets.env'), `API_KEY=${CANARY}\n`);
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let first = '';
  it('deploys, shows the summary, records what it replaced; a second deploy with secrets', async () => {
    const one = await cli(['deploy', '--dir', dir, '--message', 'one']);
    expect(one.code, one.out + one.err).toBe(0);
    expect(one.out).toMatch(/deploy: slipway-fixture ✅ live/);
    first = live()!;
    expect(record()).toMatchObject({ worker: 'slipway-fixture', versionId: first, previousVersionId: '' });
    const two = await cli(['deploy', '--dir', dir, '--secrets-file', join(dir, 'secrets.env')]);
    expect(two.code, two.out + two.err).toBe(0);
    expect(two.out + two.err, 'a secret value was printed').not.toContain(CANARY);
    expect(record()).toMatchObject({ versionId: live(), previousVersionId: first });
  }, 120_000);

  it('rollback restores what the last deploy replaced; again is a no-op; after a deploy by someone else it refuses', async () => {
    const back = await cli(['rollback', '--dir', dir]);
    expect(back.code, back.out + back.err).toBe(0);
    expect(live()).toBe(first);
    const again = await cli(['rollback', '--dir', dir]);
    expect(again.code, again.out + again.err).toBe(0);
    expect(live()).toBe(first);
    const theirs = await wrangler(api, dir, ['deploy', '--message', 'someone else']);
    expect(theirs.code, theirs.output).toBe(0);
    const theirVersion = live();
    const refused = await cli(['rollback', '--dir', dir]);
    expect(refused.code).toBe(1);
    expect(refused.out.split('\n').filter((line) => line.startsWith('✗ '))).toHaveLength(1);
    expect(live(), "someone else's deploy was rolled back").toBe(theirVersion);
  }, 120_000);

  it('without credentials in the environment: one line, exit 2', async () => {
    const r = await cli(['deploy', '--dir', dir], { CLOUDFLARE_API_TOKEN: undefined });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^slipway: Set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID in the environment/);
  });
});
