import { describe, expect, it } from 'vitest';
import { onTurn, takeFault, workerFault, type ActiveFault } from '../../../emulator/worker-faults.js';

const target = { script: 'gw', versionId: 'v2', path: '/health' };
const active = (fault: Omit<ActiveFault, 'used'>): ActiveFault => ({ ...fault, used: 0 });
/** Which of n requests (from 1) the faults hit, and with which kind. */
const hits = (faults: ActiveFault[], n: number, to = target) =>
  Array.from({ length: n }, () => takeFault(faults, to)?.kind ?? '-');

describe('percent: a deterministic share of the matching requests', () => {
  it.each<[number | undefined, string]>([
    [undefined, '1111111111'],
    [100, '1111111111'],
    [0, '0000000000'],
    [10, '0000000001'],
    [25, '0001000100'],
    [50, '0101010101'],
    [30, '0001001001'],
  ])('percent %s over 10 requests: %s', (percent, expected) => {
    const turns = Array.from({ length: 10 }, (_, n) => (onTurn(percent, n) ? '1' : '0')).join('');
    expect(turns).toBe(expected);
  });

  it('over any N requests, N × percent / 100 of them (rounded down)', () => {
    for (const percent of [1, 7, 12.5, 33, 90]) {
      const count = Array.from({ length: 1000 }, (_, n) => onTurn(percent, n)).filter(Boolean).length;
      expect(count).toBe(Math.floor((1000 * percent) / 100));
    }
  });
});

describe('takeFault', () => {
  it('counts only matching requests towards the share; times caps the hits', () => {
    const faults = [active({ kind: 'exception', version: 'v2', percent: 50, times: 2 })];
    expect(hits(faults, 2, { ...target, versionId: 'v1' })).toEqual(['-', '-']);
    expect(hits(faults, 8)).toEqual(['-', 'exception', '-', 'exception', '-', '-', '-', '-']);
    expect(faults[0]).toMatchObject({ used: 2 });
  });

  it('a fault not on its turn lets the next matching fault apply', () => {
    const faults = [active({ kind: 'exception', percent: 50 }), active({ kind: 'slow', latencyMs: 1 })];
    expect(hits(faults, 4)).toEqual(['slow', 'exception', 'slow', 'exception']);
  });

  it('script, path, version and notVersion select the requests', () => {
    const faults = [
      active({ kind: 'status', script: 'other' }),
      active({ kind: 'status', path: '^/api' }),
      active({ kind: 'unhealthy', notVersion: 'v2' }),
    ];
    expect(hits(faults, 1)).toEqual(['-']);
    expect(hits(faults, 1, { ...target, versionId: 'v1' })).toEqual(['unhealthy']);
  });
});

describe('workerFault: the admin route refuses a fault that is not one', () => {
  it.each([
    [{ kind: 'explode' }, /kind must be one of/],
    [{ kind: 'exception', percent: 101 }, /percent/],
    [{ kind: 'exception', percent: -1 }, /percent/],
    [{ kind: 'exception', times: 1.5 }, /times/],
    [{ kind: 'status', path: '(' }, /Invalid regular expression/],
  ])('%j', (body, reason) => {
    expect(() => workerFault(body as never)).toThrow(reason);
  });

  it('keeps a good one as it came', () => {
    const fault = { kind: 'exception' as const, version: 'v2', percent: 10 };
    expect(workerFault(fault)).toEqual(fault);
  });
});
