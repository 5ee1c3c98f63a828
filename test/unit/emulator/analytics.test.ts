import { describe, expect, it } from 'vitest';
import { answerQuery, groupRows, invocationFilter, type Invocation } from '../../../emulator/analytics.js';

const V1 = '11111111-1111-4111-8111-111111111111';
const V2 = '22222222-2222-4222-8222-222222222222';
const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const NOW = new Date('2026-01-01T11:00:00.000Z');
const ACCOUNT = '0123456789abcdef0123456789abcdef';

const at = (
  seconds: number,
  scriptVersion: string,
  status: Invocation['status'] = 'success',
  scriptName = 'gw',
): Invocation => ({ datetime: T0 + seconds * 1000, scriptName, scriptVersion, status });

const INVOCATIONS: Invocation[] = [
  at(0, V1),
  at(0.5, V1),
  at(1, V2, 'scriptThrewException'),
  at(2, V2),
  at(3, V1, 'clientDisconnected'),
  at(4, V2, 'exceededResources'),
  at(5, V1, 'internalError'),
  at(6, V2, 'success', 'other-worker'),
];

/** querying-workers-metrics.mdx's query, without quantiles (not emulated), with scriptVersion added. */
const DOCUMENTED = `query GetWorkersAnalytics($accountTag: string, $datetimeStart: string, $datetimeEnd: string, $scriptName: string) {
  viewer {
    accounts(filter: {accountTag: $accountTag}) {
      workersInvocationsAdaptive(limit: 100, filter: {
        scriptName: $scriptName,
        datetime_geq: $datetimeStart,
        datetime_leq: $datetimeEnd
      }) {
        sum { subrequests requests errors }
        dimensions { scriptVersion }
      }
    }
  }
}`;
const VARIABLES = {
  accountTag: ACCOUNT,
  datetimeStart: '2026-01-01T10:00:00.000Z',
  datetimeEnd: '2026-01-01T11:00:00.000Z',
  scriptName: 'gw',
};

type Rows = Array<{ sum: Record<string, number>; dimensions: Record<string, string> }>;
const rowsOf = (data: unknown): Rows =>
  (data as { viewer: { accounts: Array<{ workersInvocationsAdaptive: Rows }> } }).viewer.accounts[0]!
    .workersInvocationsAdaptive;
const ask = (query: string, variables: Record<string, unknown> = VARIABLES, invocations = INVOCATIONS) =>
  answerQuery({ query, variables }, invocations, NOW);

describe('Workers analytics over GraphQL: the documented query, answered from the invocations', () => {
  it('groups by the selected dimensions; errors count only exception, exceeded resources and internal error', async () => {
    const answer = await ask(DOCUMENTED);
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeNull();
    expect(rowsOf(answer.body.data)).toEqual([
      { sum: { subrequests: 0, requests: 4, errors: 1 }, dimensions: { scriptVersion: V1 } },
      { sum: { subrequests: 0, requests: 3, errors: 2 }, dimensions: { scriptVersion: V2 } },
    ]);
  });

  it('datetime groups to the second, as the docs show it; status is its GraphQL name', async () => {
    const query = DOCUMENTED.replace(
      'dimensions { scriptVersion }',
      'dimensions { datetime scriptName status }',
    );
    const rows = rowsOf((await ask(query)).body.data);
    expect(rows[0]).toEqual({
      sum: { subrequests: 0, requests: 2, errors: 0 },
      dimensions: { datetime: '2026-01-01T10:00:00Z', scriptName: 'gw', status: 'success' },
    });
    expect(rows.map((row) => row.dimensions.status)).toEqual([
      'success',
      'scriptThrewException',
      'success',
      'clientDisconnected',
      'exceededResources',
      'internalError',
    ]);
  });

  it('no dimensions: one row of sums; nothing matching: no rows', async () => {
    const query = DOCUMENTED.replace('dimensions { scriptVersion }', '');
    expect(rowsOf((await ask(query)).body.data)).toEqual([
      { sum: { subrequests: 0, requests: 7, errors: 3 } },
    ]);
    const empty = await ask(query, { ...VARIABLES, scriptName: 'nobody' });
    expect(rowsOf(empty.body.data)).toEqual([]);
  });

  it('the kit-style filter by scriptVersion, the status filter, aliases and fragments', async () => {
    const query = `query Q($accountTag: String!, $v: string) {
      viewer { accounts(filter: {accountTag: $accountTag}) {
        w: workersInvocationsAdaptive(limit: 10, filter: {scriptVersion: $v, status: "success"}) {
          total: sum { ...Counts } dimensions { ... on AccountWorkersInvocationsAdaptiveDimensions { scriptVersion } }
        } } } }
      fragment Counts on AccountWorkersInvocationsAdaptiveSum { requests errors }`;
    const answer = await ask(query, { accountTag: ACCOUNT, v: V2 });
    expect(answer.body.errors).toBeNull();
    const account = (answer.body.data as { viewer: { accounts: Array<Record<string, unknown>> } }).viewer
      .accounts[0];
    expect(account).toEqual({
      w: [{ total: { requests: 2, errors: 0 }, dimensions: { scriptVersion: V2 } }],
    });
  });

  it('a whole filter as a variable of the dataset filter type', async () => {
    const query = `query Q($tag: string, $filter: AccountWorkersInvocationsAdaptiveFilter_InputObject) {
      viewer { accounts(filter: {accountTag: $tag}) {
        workersInvocationsAdaptive(limit: 100, filter: $filter) { sum { requests } } } } }`;
    const answer = await ask(query, {
      tag: ACCOUNT,
      filter: { datetime_gt: '2026-01-01T10:00:00.500Z', datetime_lt: '2026-01-01T10:00:05Z' },
    });
    expect(rowsOf(answer.body.data)).toEqual([{ sum: { requests: 4 } }]);
  });

  it('limit caps the rows', async () => {
    const query = DOCUMENTED.replace('limit: 100', 'limit: 1');
    expect(rowsOf((await ask(query)).body.data)).toHaveLength(1);
  });
});

describe('errors as errors.mdx shows them: data null, message, path, extensions.timestamp', () => {
  const errorsOf = async (query: string, variables?: Record<string, unknown>) => {
    const answer = await ask(query, variables);
    expect(answer.body.data).toBeNull();
    return { status: answer.status, errors: answer.body.errors! };
  };

  it('an unknown field (the docs quantiles: CPU time is not emulated) is a 400 "unknown field"', async () => {
    const query = DOCUMENTED.replace('dimensions {', 'quantiles { cpuTimeP50 cpuTimeP99 } dimensions {');
    expect(await errorsOf(query)).toEqual({
      status: 400,
      errors: [
        {
          message: 'unknown field "quantiles"',
          path: ['viewer', 'accounts', 'workersInvocationsAdaptive', 'quantiles'],
          extensions: { timestamp: NOW.toISOString() },
        },
      ],
    });
  });

  it.each([
    ['selections on a scalar', 'sum { requests { x } }', 'scalar fields must have no selections'],
    ['no selection on an object', 'sum dimensions { scriptVersion }', 'object field must have selections'],
  ])('%s', async (_name, selection, message) => {
    const query = DOCUMENTED.replace(/sum \{[^}]*\}\s*dimensions \{ scriptVersion \}/, selection);
    const { status, errors } = await errorsOf(query);
    expect(status).toBe(400);
    expect(errors.map((error) => error.message)).toContain(message);
  });

  it.each([
    ['an unknown argument', DOCUMENTED.replace('limit: 100', 'limit: 100, orderBy: [datetime_ASC]')],
    ['an unknown filter field', DOCUMENTED.replace('scriptName: $scriptName,', 'scriptName_like: "g%",')],
    ['no account filter', DOCUMENTED.replace('(filter: {accountTag: $accountTag})', '')],
  ])('%s: "error parsing args"', async (_name, query) => {
    const { status, errors } = await errorsOf(query);
    expect(status).toBe(400);
    expect(errors[0]!.message).toMatch(/^error parsing args/);
  });

  it('a datetime that is not one, and no account tag: "error parsing args" with the dataset\'s path', async () => {
    const bad = await errorsOf(DOCUMENTED, { ...VARIABLES, datetimeStart: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.errors[0]).toMatchObject({
      message: expect.stringMatching(/^error parsing args: datetime_geq/),
      path: ['viewer', 'accounts', '0', 'workersInvocationsAdaptive'],
    });
    const untagged = await errorsOf(DOCUMENTED, { ...VARIABLES, accountTag: undefined });
    expect(untagged.errors[0]).toMatchObject({ message: expect.stringMatching(/^error parsing args/) });
  });

  it.each([0, 10001])('limit %i: "limit must be positive number and not greater than..."', async (limit) => {
    const { status, errors } = await errorsOf(DOCUMENTED.replace('limit: 100', `limit: ${limit}`));
    expect(status).toBe(400);
    expect(errors[0]!.message).toBe('limit must be positive number and not greater than 10000');
  });

  it('not GraphQL, or no query: "query contains error, please review it and retry"', async () => {
    for (const request of [{ query: 'viewer {' }, {}, undefined]) {
      const answer = await answerQuery(request, INVOCATIONS, NOW);
      expect(answer.status).toBe(400);
      expect(answer.body.errors![0]!.message).toBe('query contains error, please review it and retry');
    }
  });
});

describe('the pure parts', () => {
  it('groupRows keeps first-seen order and counts errors by status', () => {
    expect(groupRows(INVOCATIONS.slice(0, 3), ['scriptVersion']).map((row) => row.sum)).toEqual([
      { requests: 2, errors: 0, subrequests: 0 },
      { requests: 1, errors: 1, subrequests: 0 },
    ]);
  });

  it('invocationFilter: bounds inclusive or not; null does not filter', () => {
    const keep = invocationFilter({
      datetime_geq: '2026-01-01T10:00:01Z',
      datetime_lt: '2026-01-01T10:00:03Z',
      scriptName: null,
    });
    expect(INVOCATIONS.filter(keep).map((invocation) => invocation.datetime - T0)).toEqual([1000, 2000]);
  });
});
