import { describe, expect, it } from 'vitest';
import {
  bootReason,
  describeLimits,
  pollDelay,
  runArgs,
  shouldMask,
  type BootTestOptions,
} from '../../../src/lib/boot/index.js';
import { judgeHealth } from '../../../src/lib/health/judge.js';
import { parseDuration } from '../../../src/lib/core/inputs.js';
import { readInputs } from '../../../src/actions/boot-test/inputs.js';
import { acceptedSummary } from '../../../src/lib/boot/summary.js';

const base: BootTestOptions = {
  image: 'app:1',
  port: 18789,
  health: 'extended',
  healthPath: '/health/extended',
  expectStatus: ['healthy', 'degraded'],
  env: [['TOKEN', 's3cret-value']],
  secretEnv: [],
  memory: '4g',
  pidsLimit: 256,
  readOnly: true,
  network: 'host',
  timeoutSeconds: 30,
};
const doc = (status: string) => ({
  status,
  version: { id: 'v1', commit: 'abc' },
  uptimeSeconds: 1,
  tools: { loading: false, complete: true, status: {} },
  capabilities: { semanticSearch: false, taskGraph: false, memoryStack: false },
});

describe('boot-test docker run arguments', () => {
  it('production-like limits, env names only, host network', () => {
    const args = runArgs(base, 'c1');
    expect(args).toEqual([
      'run',
      '-d',
      '--pull',
      'never',
      '--name',
      'c1',
      '--label',
      'slipway.boot-test=1',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--memory',
      '4g',
      '--pids-limit',
      '256',
      '--read-only',
      '--tmpfs',
      '/tmp:rw,nosuid,nodev,size=64m',
      '--mount',
      'type=volume,dst=/data',
      '--network',
      'host',
      '--env',
      'TOKEN',
      'app:1',
    ]);
    expect(args.join(' ')).not.toContain('s3cret-value');
  });
  it('bridge publishes the port on loopback only; cpus and user when given; writable root when asked', () => {
    const args = runArgs(
      { ...base, network: 'bridge', cpus: '1.5', user: '1000:1000', readOnly: false },
      'c2',
    );
    expect(args).toContain('--cpus');
    expect(args.slice(args.indexOf('--user'), args.indexOf('--user') + 2)).toEqual(['--user', '1000:1000']);
    expect(args.slice(args.indexOf('--network'), args.indexOf('--network') + 4)).toEqual([
      '--network',
      'bridge',
      '--publish',
      '127.0.0.1::18789',
    ]);
    expect(args).not.toContain('--read-only');
  });
});

// The judging itself is in test/unit/health/judge.test.ts; here, boot-test's words for it.
describe("boot-test's words for a health answer", () => {
  const extended = { acceptStatus: ['healthy'], mode: 'extended' as const };
  it.each([
    ['only healthy when asked', 200, doc('degraded'), 'status degraded (accepted: healthy)'],
    ['accepted', 200, doc('healthy'), 'status healthy'],
    ['an HTTP error is its code', 503, doc('unhealthy'), 'HTTP 503'],
  ])('%s: %s', (_name, code, body, words) => {
    const verdict = judgeHealth({ code, text: JSON.stringify(body) }, extended);
    expect(bootReason(verdict, code, extended.acceptStatus)).toBe(words);
  });
  it('a status-less 2xx (basic) is accepted by its code', () => {
    const verdict = judgeHealth({ code: 204, text: '' }, { acceptStatus: ['healthy'], mode: 'basic' });
    expect(bootReason(verdict, 204, ['healthy'])).toBe('status 204');
  });
  it('a json body that is not JSON fails, saying so', () => {
    const verdict = judgeHealth({ code: 200, text: 'ok' }, { acceptStatus: ['healthy'], mode: 'json' });
    expect(bootReason(verdict, 200, ['healthy'])).toBe('the answer is not JSON (it starts "ok")');
  });
});

describe('polling and inputs', () => {
  it('backs off from 100 ms, doubling, to 1 s', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => pollDelay(attempt))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('never waits past the deadline', () => {
    expect(pollDelay(6, 250)).toBe(250);
  });
  it.each([
    ['30s', 30],
    ['2m', 120],
    ['1m30s', 90],
    ['500ms', 0.5],
    ['45', 45],
  ])('duration %s is %d s', (v, s) => expect(parseDuration('timeout', v, 30)).toBe(s));
  it.each([['soon'], ['30x'], ['-5s'], ['0s']])('duration %j is a clear error', (v) => {
    expect(() => parseDuration('timeout', v, 30)).toThrow(
      `Input "timeout" is "${v}": give a duration such as 30s, 2m or 1m30s.`,
    );
  });
  it('masks env values that can be secrets, not booleans or numbers', () => {
    expect(['s3cret-value', 'abcd', 'false', '18789', 'no', 'x'].map(shouldMask)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
  it('reads defaults and rejects bad values with one line', () => {
    const get = (m: Record<string, string>) => (n: string) => m[n] ?? '';
    expect(readInputs(get({ image: 'a' }))).toMatchObject({
      port: 18789,
      health: 'basic',
      healthPath: '/',
      expectStatus: ['healthy', 'degraded'],
      memory: '4g',
      pidsLimit: 256,
      readOnly: true,
      network: 'auto',
      timeoutSeconds: 30,
    });
    expect(() => readInputs(get({}))).toThrow(/Input "image" is required/);
    expect(() => readInputs(get({ image: 'a', health: 'full' }))).toThrow(
      'Input "health" is "full": use one of basic, json, extended.',
    );
    expect(() => readInputs(get({ image: 'a', port: '99999' }))).toThrow(
      'Input "port" is "99999": give a whole number from 1 to 65535.',
    );
    expect(() => readInputs(get({ image: 'a', 'health-path': 'health' }))).toThrow(
      /give a path starting with \//,
    );
    expect(() => readInputs(get({ image: 'a', memory: 'lots' }))).toThrow(/give a docker memory size/);
  });
});

describe('the health path by mode', () => {
  const get = (m: Record<string, string>) => (n: string) => m[n] ?? '';
  it.each([
    [{}, 'basic', '/'],
    [{ health: 'json' }, 'json', '/'],
    [{ health: 'extended' }, 'extended', '/health/extended'],
    [{ health: 'Extended', 'health-path': '/sandbox-health' }, 'extended', '/sandbox-health'],
    [{ 'health-path': '/healthz' }, 'basic', '/healthz'],
  ])('%j: %s on %s', (inputs, health, healthPath) => {
    expect(readInputs(get({ image: 'a', ...inputs }))).toMatchObject({ health, healthPath });
  });
});

describe('the limits a boot runs under: the inputs, else the instance type, else 4g and no CPU limit', () => {
  const get = (m: Record<string, string>) => (n: string) => m[n] ?? '';
  it.each<[Record<string, string>, string, string | undefined, string]>([
    [{}, '4g', undefined, 'memory 4g, no CPU limit (defaults)'],
    [{ 'instance-type': 'lite' }, '256m', '0.0625', 'memory 256m, cpus 0.0625 (instance type lite)'],
    [{ 'instance-type': 'dev' }, '256m', '0.0625', 'memory 256m, cpus 0.0625 (instance type lite)'],
    [{ 'instance-type': 'basic' }, '1g', '0.25', 'memory 1g, cpus 0.25 (instance type basic)'],
    [{ 'instance-type': 'Standard-1' }, '4g', '0.5', 'memory 4g, cpus 0.5 (instance type standard-1)'],
    [{ 'instance-type': 'standard-2' }, '6g', '1', 'memory 6g, cpus 1 (instance type standard-2)'],
    [{ 'instance-type': 'standard-3' }, '8g', '2', 'memory 8g, cpus 2 (instance type standard-3)'],
    [{ 'instance-type': 'standard-4' }, '12g', '4', 'memory 12g, cpus 4 (instance type standard-4)'],
    [
      { 'instance-type': 'lite', memory: '512m' },
      '512m',
      '0.0625',
      'memory 512m (memory input), cpus 0.0625 (instance type lite)',
    ],
    [
      { 'instance-type': 'basic', cpus: '1' },
      '1g',
      '1',
      'memory 1g (instance type basic), cpus 1 (cpus input)',
    ],
    [{ 'instance-type': 'lite', memory: '2g', cpus: '2' }, '2g', '2', 'memory 2g, cpus 2 (inputs)'],
    [{ memory: '512m' }, '512m', undefined, 'memory 512m (memory input), no CPU limit (default)'],
    [{ cpus: '0.5' }, '4g', '0.5', 'memory 4g (default), cpus 0.5 (cpus input)'],
  ])('%j: memory %s, cpus %s', (inputs, memory, cpus, words) => {
    const options = readInputs(get({ image: 'a', ...inputs }));
    expect(options.memory).toBe(memory);
    expect(options.cpus).toBe(cpus);
    expect(describeLimits(options)).toBe(words);
    const args = runArgs({ ...options, network: 'host' }, 'c1');
    expect(args.slice(args.indexOf('--memory'), args.indexOf('--memory') + 2)).toEqual(['--memory', memory]);
    expect(args.includes('--cpus') && args[args.indexOf('--cpus') + 1]).toBe(cpus ?? false);
  });

  it('the summary says where the limits came from', () => {
    const options = readInputs(get({ image: 'a', 'instance-type': 'lite' }));
    const summary = acceptedSummary(options, { seconds: 1, attempts: 1, status: 'ok', body: undefined });
    expect(summary).toContain(
      '| Limits | memory 256m, cpus 0.0625 (instance type lite), pids 256, read-only root, all capabilities dropped, no-new-privileges |',
    );
  });

  it.each([['huge'], ['standard-5'], ['4g']])('instance-type %j is one line listing the types', (value) => {
    expect(() => readInputs(get({ image: 'a', 'instance-type': value }))).toThrow(
      `Input "instance-type" is "${value}": use one of lite, basic, standard-1, standard-2, standard-3, standard-4.`,
    );
  });
});
