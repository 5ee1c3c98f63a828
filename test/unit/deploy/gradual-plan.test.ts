import { describe, expect, it } from 'vitest';
import {
  judgeErrors,
  parseErrorRate,
  parseSteps,
  sameSplit,
  splitSpecs,
  stepSplit,
} from '../../../src/lib/deploy/gradual-plan.js';
import { describeError } from '../../../src/lib/core/errors.js';

const thrown = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return describeError(err);
  }
  return 'did not throw';
};

describe('a gradual deploy plan', () => {
  it.each([
    ['', [10, 50, 100]],
    ['10,50,100', [10, 50, 100]],
    ['5 25', [5, 25, 100]],
    ['100', [100]],
    ['1,2,3', [1, 2, 3, 100]],
  ])('gradual-steps %j → %j', (text, steps) => expect(parseSteps('gradual-steps', text)).toEqual(steps));

  it.each(['0,50', '50,10', '10,10,100', '10,150', 'ten', '12.5,100'])(
    'gradual-steps %j is one line saying what to give',
    (text) =>
      expect(thrown(() => parseSteps('gradual-steps', text))).toBe(
        `Input "gradual-steps" is "${text}": give rising whole percentages from 1 to 100, such as 10,50,100.`,
      ),
  );

  it.each([
    ['', undefined],
    ['5%', 0.05],
    ['0.05', 0.05],
    ['0', 0],
    ['100%', 1],
  ])('max-error-rate %j → %s', (text, rate) => expect(parseErrorRate('max-error-rate', text)).toBe(rate));

  it.each(['5 percent', '150%', '-1', '2'])('max-error-rate %j is refused', (text) =>
    expect(thrown(() => parseErrorRate('max-error-rate', text))).toMatch(
      /give a share of requests such as 5% or 0\.05/,
    ),
  );

  it.each([
    [
      10,
      [
        { version_id: 'new', percentage: 10 },
        { version_id: 'old', percentage: 90 },
      ],
    ],
    [
      50,
      [
        { version_id: 'new', percentage: 50 },
        { version_id: 'old', percentage: 50 },
      ],
    ],
    [100, [{ version_id: 'new', percentage: 100 }]],
  ])('step %i%% splits new and the version that served before', (percentage, split) => {
    expect(stepSplit('new', [{ version_id: 'old', percentage: 100 }], percentage)).toEqual(split);
  });

  it('a first deploy, or the same version again, goes to 100% at once', () => {
    expect(stepSplit('new', [], 10)).toEqual([{ version_id: 'new', percentage: 100 }]);
    expect(stepSplit('new', [{ version_id: 'new', percentage: 100 }], 10)).toEqual([
      { version_id: 'new', percentage: 100 },
    ]);
  });

  it('wrangler versions deploy specs, and splits compared as Cloudflare sums them (± 0.001)', () => {
    expect(splitSpecs(stepSplit('a', [{ version_id: 'b', percentage: 100 }], 10))).toEqual([
      'a@10%',
      'b@90%',
    ]);
    const split = [
      { version_id: 'a', percentage: 10 },
      { version_id: 'b', percentage: 90 },
    ];
    expect(sameSplit(split, [...split].reverse())).toBe(true);
    expect(sameSplit(split, [{ version_id: 'a', percentage: 10.0004 }, split[1]!])).toBe(true);
    expect(sameSplit(split, [{ version_id: 'a', percentage: 11 }, split[1]!])).toBe(false);
    expect(sameSplit(split, [split[0]!])).toBe(false);
  });

  it.each([
    [
      { requests: 200, errors: 20 },
      0.05,
      100,
      false,
      '20 errors in 200 requests (10%), over max-error-rate 5%',
    ],
    [{ requests: 200, errors: 2 }, 0.05, 100, true, '2 errors in 200 requests (1%), within 5%'],
    [{ requests: 200, errors: 10 }, 0.05, 100, true, '10 errors in 200 requests (5%), within 5%'],
    [
      { requests: 20, errors: 20 },
      0.05,
      100,
      true,
      '20 errors in 20 requests (100%): under min-requests 100, not judged',
    ],
    [{ requests: 0, errors: 0 }, 0, 0, true, '0 errors in 0 requests (0%), within 0%'],
  ])('errors %j against %s with min %i: pass %s', (measure, max, min, pass, note) => {
    expect(judgeErrors(measure, max, min)).toEqual({ pass, note });
  });
});
