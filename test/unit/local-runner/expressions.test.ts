import { describe, expect, it } from 'vitest';
import {
  condition,
  evaluate,
  interpolate,
  type ExprContext,
  type RunStatus,
} from '../../../tools/local-runner/expressions.js';

const ctx = (status: RunStatus = { failed: false }): ExprContext => ({
  contexts: {
    inputs: { mode: 'deploy', 'smoke-url': '', empty: '', count: '3' },
    steps: {
      deploy: {
        outputs: { deployed: 'true', 'version-id': 'v2', 'production-changed': 'true' },
        outcome: 'success',
      },
      smoke: { outputs: { attempts: '4' }, outcome: 'failure' },
    },
    github: { event_name: 'push', event: { commits: [{ id: 'a1' }, { id: 'b2' }] } },
    env: {},
  },
  status,
});

// Each expected value is what GitHub's engine answers; several are where the first local engine
// (hand-written) answered otherwise.
describe("the local runner's expressions are GitHub's (@actions/expressions)", () => {
  it.each([
    // names are case-insensitive, comparisons of strings too
    ["inputs.mode == 'DEPLOY'", true],
    ['INPUTS.Mode', 'deploy'],
    ['Steps.Deploy.Outputs.version-id', 'v2'],
    // loose equality: null, numbers, booleans and strings convert
    ['null == 0', true],
    ["'' == 0", true],
    ['inputs.count == 3', true],
    ['true == 1', true],
    ["steps.nope.outputs.x == ''", true],
    // comparison operators, with numbers as GitHub writes them
    ['inputs.count > 2', true],
    ['inputs.count <= 2', false],
    ["'b' > 'a'", true],
    ['0xff == 255', true],
    ['-1.5e2 < 0', true],
    // indexing and .* filters
    ["steps['deploy'].outputs['version-id']", 'v2'],
    ['github.event.commits[1].id', 'b2'],
    ['github.event.commits.*.id', ['a1', 'b2']],
    ['steps.*.outcome', ['success', 'failure']],
    // functions with arguments
    ["contains(github.event.commits.*.id, 'b2')", true],
    ["startsWith(inputs.mode, 'DEP')", true],
    ["endsWith(inputs.mode, 'oy')", true],
    ["format('{0}-{1}', inputs.mode, 7)", 'deploy-7'],
    ["join(github.event.commits.*.id, '+')", 'a1+b2'],
    ['fromJSON(\'{"a":[1,2]}\').a[1]', 2],
    ['toJSON(inputs.count)', '"3"'],
    // && and || return an operand, and stop early: the right side is not evaluated
    ['inputs.smoke-url || steps.deploy.outputs.version-id', 'v2'],
    ["steps.smoke.outcome == 'failure' && 'smoke failed' || 'other'", 'smoke failed'],
    ["false && fromJSON('{not json')", false],
    ["true || fromJSON('{not json')", true],
    ["'it''s'", "it's"],
  ] as const)('%s → %j', (expr, value) => {
    expect(evaluate(expr, ctx())).toEqual(value);
  });

  it('interpolates ${{ }} in strings: null is empty, objects are JSON, "}}" in a string stays', () => {
    expect(
      interpolate(
        "v=${{ steps.deploy.outputs.version-id }} c=${{ inputs.mode == 'check' }} n=${{ inputs.nope }} s=${{ '}}' }}",
        ctx(),
      ),
    ).toBe('v=v2 c=false n= s=}}');
    expect(interpolate('${{ steps.smoke.outputs }}', ctx())).toBe('{\n  "attempts": "4"\n}');
  });

  const ok: RunStatus = { failed: false };
  const failed: RunStatus = { failed: true };
  const cancelled: RunStatus = { failed: false, cancelled: true };
  it.each([
    // no status function: success() && (condition)
    [undefined, ok, true],
    [undefined, failed, false],
    ["inputs.mode == 'deploy'", failed, false],
    ["failure() && steps.deploy.outputs.production-changed == 'true'", failed, true],
    ["failure() && steps.deploy.outputs.production-changed == 'true'", ok, false],
    // status functions are found in the parse tree, any case; the words inside a string are not one
    ['Always()', failed, true],
    ['!CANCELLED()', failed, true],
    ["inputs.mode != 'always()'", failed, false],
    ["contains('failure()', 'x') || true", failed, false],
    // a whole ${{ }} is its expression; text around ${{ }} makes a (non-empty, so true) string
    ["${{ success() && inputs.mode == 'deploy' }}", ok, true],
    ["${{ 'false' }}", ok, true],
    ['${{ false }}', ok, false],
    ["${{ inputs.mode }} == 'check'", ok, true],
    // a cancelled job: success() and failure() are false, cancelled() and always() true
    [undefined, cancelled, false],
    ["inputs.mode == 'deploy'", cancelled, false],
    ['failure()', { failed: true, cancelled: true }, false],
    ['cancelled()', cancelled, true],
    ['always()', cancelled, true],
    ['!failure()', cancelled, true],
  ] as const)('if: %s (%j) → %s', (text, status, runs) => {
    expect(condition(text, ctx(status))).toBe(runs);
  });

  it('unknown functions, unknown contexts and bad syntax throw with the reason', () => {
    expect(() => evaluate('hashFiles()', ctx())).toThrow("Unrecognized function: 'hashFiles'");
    expect(() => evaluate('secrets.token', ctx())).toThrow(/secrets/);
    expect(() => evaluate("inputs.mode == 'x", ctx())).toThrow(/Unexpected|unterminated/i);
    expect(() => condition('nope()', ctx())).toThrow("Unrecognized function: 'nope'");
  });
});
