import { describe, expect, it } from 'vitest';
import {
  condition,
  evaluate,
  interpolate,
  type ExprContext,
} from '../../../tools/local-runner/expressions.js';

const ctx = (failed = false): ExprContext => ({
  contexts: {
    inputs: { mode: 'deploy', 'smoke-url': '', empty: '' },
    steps: {
      deploy: {
        outputs: { deployed: 'true', 'version-id': 'v2', 'production-changed': 'true' },
        outcome: 'success',
      },
      smoke: { outputs: {}, outcome: 'failure' },
    },
    github: { event_name: 'push' },
  },
  status: { failed },
});

describe('local expressions (the subset composite actions use)', () => {
  it.each([
    ["inputs.mode == 'deploy'", true],
    ["inputs.mode == 'DEPLOY'", true],
    ["inputs.mode != 'check'", true],
    ["steps.deploy.outputs.deployed == 'true'", true],
    ['steps.deploy.outputs.production-changed', 'true'],
    ['steps.nope.outputs.x', null],
    ['inputs.smoke-url || steps.deploy.outputs.version-id', 'v2'],
    ["steps.smoke.outcome == 'failure' && 'smoke failed' || 'other'", 'smoke failed'],
    ["!(inputs.mode == 'check')", true],
    ["github.event_name == 'pull_request'", false],
    ["inputs.mode == 'check'", false],
    ["'it''s'", "it's"],
  ] as const)('%s → %j', (expr, value) => {
    expect(evaluate(expr, ctx())).toEqual(value);
  });

  it('interpolates ${{ }} in strings; null is empty, booleans are words', () => {
    expect(
      interpolate(
        "v=${{ steps.deploy.outputs.version-id }} c=${{ inputs.mode == 'check' }} n=${{ inputs.nope }}",
        ctx(),
      ),
    ).toBe('v=v2 c=false n=');
  });

  it.each([
    [undefined, false, true],
    [undefined, true, false],
    ["inputs.mode == 'deploy'", true, false],
    ["failure() && steps.deploy.outputs.production-changed == 'true'", true, true],
    ["failure() && steps.deploy.outputs.production-changed == 'true'", false, false],
    ['always()', true, true],
    ["${{ success() && inputs.mode == 'deploy' }}", false, true],
  ] as const)('if: %s (job failed: %s) → %s', (text, failed, runs) => {
    expect(condition(text, ctx(failed))).toBe(runs);
  });

  it('unsupported functions and bad syntax say what is wrong', () => {
    expect(() => evaluate('hashFiles()', ctx())).toThrow(
      'function hashFiles() is not supported by the local runner',
    );
    expect(() => evaluate("inputs.mode == 'x", ctx())).toThrow('unterminated string');
  });
});
