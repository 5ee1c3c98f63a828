import {
  BREAK,
  buildSchema,
  execute,
  FieldsOnCorrectTypeRule,
  GraphQLError,
  Kind,
  KnownArgumentNamesRule,
  parse,
  ProvidedRequiredArgumentsRule,
  ScalarLeafsRule,
  specifiedRules,
  validate,
  ValuesOfCorrectTypeRule,
  VariablesInAllowedPositionRule,
  visit,
  type ASTNode,
  type DocumentNode,
  type FieldNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';

/**
 * Workers analytics over GraphQL (POST /client/v4/graphql): the account-scoped
 * `workersInvocationsAdaptive` dataset, answering from the invocations the emulator's Worker host
 * recorded (workers.ts). Pure: the route passes the request body and the invocations in.
 *
 * Sources (cloudflare/cloudflare-docs, src/content/docs/):
 * - analytics/graphql-api/tutorials/querying-workers-metrics.mdx: the query (`viewer { accounts(filter:
 *   {accountTag}) { workersInvocationsAdaptive(limit, filter: {scriptName, datetime_geq, datetime_leq})
 *   { sum { subrequests requests errors } dimensions { datetime scriptName status } } } }`), its
 *   answer (`{"data": {"viewer": {"accounts": [{"workersInvocationsAdaptive": [...]}]}}, "errors": null}`),
 *   one row per combination of the selected dimensions, `datetime` to the second ("2020-05-04T18:10:35Z").
 * - analytics/graphql-api/errors.mdx: the error shape (`{"data": null, "errors": [{"message", "path",
 *   "extensions": {"timestamp"}}]}`, the number in a path a string, "0") and the messages and HTTP
 *   statuses of "Parsing issues" (400: "error parsing args...", "scalar fields must have no
 *   selections", "object field must have selections", "unknown field...", "query contains error,
 *   please review it and retry") and of limits (400: "limit must be positive number and not greater
 *   than...").
 * - workers/observability/metrics-and-analytics.mdx: the invocation statuses (`success`,
 *   `clientDisconnected`, `scriptThrewException`, `exceededResources`, `internalError`) and "Errors:
 *   Requests that returned a Script Threw Exception, Exceeded Resources, or Internal Error invocation
 *   status": a Worker that answers a 5xx itself is a success.
 * - analytics/graphql-api/features/filtering.mdx: the `_gt`, `_lt`, `_geq`, `_leq` operators, and
 *   "Filtering times are based on event start timestamps".
 *
 * Not as Cloudflare: `scriptVersion` (dimension and filter) is in no Cloudflare docs page; the kit
 * reads it because the live schema has it, as others' introspection shows (/work/tmp/research-16.md
 * §4, "Per-version counts: scriptVersion"). Counts here are exact: Cloudflare's Adaptive datasets are
 * sampled and its counts estimates at volume (analytics/graphql-api/sampling.mdx), and its data lags
 * by "the last few minutes" (metrics-and-analytics.mdx); here an invocation is queryable as soon as
 * its response is sent. `subrequests` is always 0 (the host does not count a Worker's fetches), and
 * `quantiles` (CPU time) is not emulated: asking for it is answered "unknown field", loudly, rather
 * than with made-up figures. Any account tag is this account (the API routes take any :account).
 */

/** An invocation status, by its GraphQL name (metrics-and-analytics.mdx, "Invocation statuses"). */
export type InvocationStatus =
  'success' | 'clientDisconnected' | 'scriptThrewException' | 'exceededResources' | 'internalError';

/** One request a Worker served: when it started (ms), the Worker, the version that served it, how it ended. */
export interface Invocation {
  datetime: number;
  scriptName: string;
  scriptVersion: string;
  status: InvocationStatus;
}

/** The statuses `sum.errors` counts (metrics-and-analytics.mdx, "Errors"). */
export const ERROR_STATUSES: ReadonlySet<InvocationStatus> = new Set([
  'scriptThrewException',
  'exceededResources',
  'internalError',
]);

/**
 * What the kit reads of Cloudflare's schema. Type names are Cloudflare's as queries in the wild
 * declare them (`$filter: AccountWorkersInvocationsAdaptiveFilter_InputObject`); the account
 * filter's is by analogy. The scalars are Cloudflare's lower-case ones (the docs declare `$accountTag:
 * string`, `$start: Time`).
 */
const SCHEMA = buildSchema(`
  scalar string
  scalar Time
  scalar uint64

  type Query { viewer: Viewer! }
  type Viewer { accounts(filter: AccountFilter_InputObject!): [Account!]! }
  input AccountFilter_InputObject { accountTag: string }
  type Account {
    workersInvocationsAdaptive(
      limit: uint64
      filter: AccountWorkersInvocationsAdaptiveFilter_InputObject
    ): [AccountWorkersInvocationsAdaptive!]!
  }
  input AccountWorkersInvocationsAdaptiveFilter_InputObject {
    scriptName: string
    scriptVersion: string
    status: string
    datetime_geq: Time
    datetime_leq: Time
    datetime_gt: Time
    datetime_lt: Time
  }
  type AccountWorkersInvocationsAdaptive {
    sum: AccountWorkersInvocationsAdaptiveSum!
    dimensions: AccountWorkersInvocationsAdaptiveDimensions!
  }
  type AccountWorkersInvocationsAdaptiveSum { requests: uint64! errors: uint64! subrequests: uint64! }
  type AccountWorkersInvocationsAdaptiveDimensions {
    scriptName: string!
    scriptVersion: string!
    status: string!
    datetime: Time!
  }
`);

/** One error as errors.mdx shows it. */
export interface QueryError {
  message: string;
  path: string[];
  extensions: { timestamp: string };
}

/** The HTTP status and body of an answer; `detail`: what graphql-js said of a refused query (for the log). */
export interface QueryAnswer {
  status: number;
  body: { data: unknown; errors: QueryError[] | null };
  detail?: string[];
}

/** errors.mdx, "Parsing issues" and limits: the messages the emulator answers with (all HTTP 400). */
export const MESSAGES = {
  query: 'query contains error, please review it and retry',
  args: 'error parsing args',
  scalarSelection: 'scalar fields must have no selections',
  objectSelection: 'object field must have selections',
  unknownField: 'unknown field',
  /** "the maximum number of records that can be returned" (maxPageSize, settings.mdx: 10000 in its sample). */
  limit: 'limit must be positive number and not greater than 10000',
  unauthorized: 'Unauthorized',
};
const MAX_PAGE_SIZE = 10000;

/** A refusal of the query's arguments, raised in a resolver: answered 400 with its message as is. */
class Refusal extends Error {}

/** The answer to a POST /graphql body, from the recorded invocations. */
export async function answerQuery(
  request: unknown,
  invocations: readonly Invocation[],
  now: Date = new Date(),
): Promise<QueryAnswer> {
  const { query, variables, operationName } = (request ?? {}) as Record<string, unknown>;
  let document: DocumentNode;
  try {
    if (typeof query !== 'string') throw new Error('no query');
    document = parse(query);
  } catch (err) {
    return refused(400, [{ message: MESSAGES.query, path: [], detail: (err as Error).message }], now);
  }
  const problems = validationProblems(document);
  if (problems.length) return refused(400, problems, now);
  const result = await execute({
    schema: SCHEMA,
    document,
    rootValue: rootValue(invocations),
    variableValues: (variables ?? {}) as Record<string, unknown>,
    operationName: typeof operationName === 'string' ? operationName : undefined,
  });
  if (!result.errors?.length) return { status: 200, body: { data: result.data, errors: null } };
  const internal = result.errors.some((error) => error.path && !(error.originalError instanceof Refusal));
  const errors = result.errors.map((error) => ({
    message: executionMessage(error),
    path: stringPath(error),
    detail: error.message,
  }));
  return refused(internal ? 500 : 400, errors, now);
}

/** The answer to a request without credentials (errors.mdx: "Unauthorized" (HTTP 401)). */
export function unauthorized(now: Date = new Date()): QueryAnswer {
  return refused(401, [{ message: MESSAGES.unauthorized, path: [] }], now);
}

/** An error before its timestamp, with what graphql-js said of it. */
type Problem = Omit<QueryError, 'extensions'> & { detail?: string };

function refused(status: number, problems: Problem[], now: Date): QueryAnswer {
  const extensions = { timestamp: now.toISOString() };
  return {
    status,
    body: { data: null, errors: problems.map(({ message, path }) => ({ message, path, extensions })) },
    detail: problems.map((problem) => problem.detail ?? problem.message),
  };
}

/** A resolver's refusal as it was worded; a variable that would not coerce, as an argument error. */
function executionMessage(error: GraphQLError): string {
  if (error.originalError instanceof Refusal) return error.message;
  if (!error.path) return `${MESSAGES.args}: ${error.message}`;
  return 'Internal server error';
}

function stringPath(error: GraphQLError): string[] {
  return (error.path ?? []).map(String);
}

/**
 * The spec's validation rules grouped by the message errors.mdx gives their kind of error. Left out:
 * VariablesInAllowedPositionRule, because Cloudflare does not apply it: its docs pass `$datetimeStart:
 * string` to `datetime_geq` (querying-workers-metrics.mdx) and `$start: Time` to `datetime_gt`
 * (filtering.mdx), and queries in the wild pass `String!` as the account tag.
 */
const RULE_GROUPS: Array<{ rules: ValidationRule[]; message: (error: GraphQLError) => string }> = [
  {
    rules: [FieldsOnCorrectTypeRule],
    message: (error) =>
      `${MESSAGES.unknownField} "${(error.nodes?.[0] as FieldNode | undefined)?.name.value}"`,
  },
  {
    rules: [ScalarLeafsRule],
    message: (error) =>
      error.message.includes('must not have a selection')
        ? MESSAGES.scalarSelection
        : MESSAGES.objectSelection,
  },
  {
    rules: [KnownArgumentNamesRule, ProvidedRequiredArgumentsRule, ValuesOfCorrectTypeRule],
    message: (error) => `${MESSAGES.args}: ${error.message}`,
  },
];
const GROUPED = new Set<ValidationRule>([
  ...RULE_GROUPS.flatMap((group) => group.rules),
  VariablesInAllowedPositionRule,
]);
const OTHER_RULES = specifiedRules.filter((rule) => !GROUPED.has(rule));

/** Every validation error, worded as errors.mdx words its kind, with the path of the field it is on. */
function validationProblems(document: DocumentNode): Problem[] {
  const groups = [...RULE_GROUPS, { rules: OTHER_RULES, message: () => MESSAGES.query }];
  return groups.flatMap((group) =>
    validate(SCHEMA, document, group.rules).map((error) => ({
      message: group.message(error),
      path: pathTo(document, error.nodes?.[0]),
      detail: error.message,
    })),
  );
}

/** The response keys of the fields from the operation's root down to the node (its own, for a field). */
export function pathTo(document: DocumentNode, target: ASTNode | undefined): string[] {
  const fields: string[] = [];
  let found: string[] = [];
  if (!target) return found;
  visit(document, {
    enter(node) {
      if (node.kind === Kind.FIELD) fields.push((node.alias ?? node.name).value);
      if (node !== target) return undefined;
      found = [...fields];
      return BREAK;
    },
    leave(node) {
      if (node.kind === Kind.FIELD) fields.pop();
    },
  });
  return found;
}

/** The resolvers: `viewer.accounts` (one account, whatever its tag) and its dataset. */
function rootValue(invocations: readonly Invocation[]) {
  const account = {
    workersInvocationsAdaptive: (args: DatasetArgs, _context: unknown, info: GraphQLResolveInfo) =>
      invocationRows(invocations, args, selectedDimensions(info)),
  };
  return {
    viewer: () => ({
      accounts: (args: { filter?: { accountTag?: unknown } | null }) => {
        const tag = args.filter?.accountTag;
        // filtering.mdx: "You must specify an account filter when making an account-scoped query".
        if (typeof tag !== 'string' || !tag)
          throw new Refusal(`${MESSAGES.args}: accounts needs filter {accountTag: "<account id>"}`);
        return [account];
      },
    }),
  };
}

interface DatasetArgs {
  limit?: unknown;
  filter?: Record<string, unknown> | null;
}

/** The dimensions a row can have, as the invocation gives them. */
const DIMENSIONS = ['scriptName', 'scriptVersion', 'status', 'datetime'] as const;
type Dimension = (typeof DIMENSIONS)[number];

/** One row: the sums over a group of invocations and the group's dimensions. */
export interface Row {
  sum: { requests: number; errors: number; subrequests: number };
  dimensions: Record<Dimension, string>;
}

/** The fields selected under `dimensions` (through fragments too): what rows group by. */
function selectedDimensions(info: GraphQLResolveInfo): Dimension[] {
  const fieldsOf = (selectionSet: SelectionSetNode | undefined): FieldNode[] =>
    (selectionSet?.selections ?? []).flatMap((selection) => {
      if (selection.kind === Kind.FIELD) return [selection];
      if (selection.kind === Kind.INLINE_FRAGMENT) return fieldsOf(selection.selectionSet);
      return fieldsOf(info.fragments[selection.name.value]?.selectionSet);
    });
  const names = info.fieldNodes
    .flatMap((node) => fieldsOf(node.selectionSet))
    .filter((field) => field.name.value === 'dimensions')
    .flatMap((field) => fieldsOf(field.selectionSet))
    .map((field) => field.name.value);
  return DIMENSIONS.filter((name) => names.includes(name));
}

/** The dataset's rows: the invocations the filter keeps, grouped, at most `limit` of them. */
function invocationRows(
  invocations: readonly Invocation[],
  args: DatasetArgs,
  dimensions: Dimension[],
): Row[] {
  const limit = args.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
    throw new Refusal(MESSAGES.limit);
  return groupRows(invocations.filter(invocationFilter(args.filter ?? {})), dimensions).slice(0, limit);
}

/** A second-precision RFC 3339 datetime, as the dimension reads ("2020-05-04T18:10:35Z"). */
function secondOf(datetime: number): string {
  return new Date(datetime).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One row per distinct combination of the dimensions, in the order each first occurs. */
export function groupRows(invocations: readonly Invocation[], dimensions: readonly Dimension[]): Row[] {
  const rows = new Map<string, Row>();
  for (const invocation of invocations) {
    const values = { ...invocation, datetime: secondOf(invocation.datetime) };
    const key = JSON.stringify(dimensions.map((name) => values[name]));
    let row = rows.get(key);
    if (!row) {
      row = { sum: { requests: 0, errors: 0, subrequests: 0 }, dimensions: values };
      rows.set(key, row);
    }
    row.sum.requests++;
    if (ERROR_STATUSES.has(invocation.status)) row.sum.errors++;
  }
  return [...rows.values()];
}

const EQUALITIES = ['scriptName', 'scriptVersion', 'status'] as const;
const TIME_OPERATORS: Record<string, (time: number, bound: number) => boolean> = {
  datetime_geq: (time, bound) => time >= bound,
  datetime_leq: (time, bound) => time <= bound,
  datetime_gt: (time, bound) => time > bound,
  datetime_lt: (time, bound) => time < bound,
};
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The filter as a predicate; an absent or null field does not filter. */
export function invocationFilter(filter: Record<string, unknown>): (invocation: Invocation) => boolean {
  const present = (key: string) => filter[key] !== undefined && filter[key] !== null;
  const equal = EQUALITIES.filter(present).map((key) => {
    if (typeof filter[key] !== 'string') throw new Refusal(`${MESSAGES.args}: ${key} must be a string`);
    return (invocation: Invocation) => invocation[key] === filter[key];
  });
  const bounded = Object.keys(TIME_OPERATORS)
    .filter(present)
    .map((key) => {
      const value = filter[key];
      const bound = typeof value === 'string' && RFC3339.test(value) ? Date.parse(value) : NaN;
      if (Number.isNaN(bound))
        throw new Refusal(`${MESSAGES.args}: ${key}: ${JSON.stringify(value)} is not a Time`);
      return (invocation: Invocation) => TIME_OPERATORS[key]!(invocation.datetime, bound);
    });
  return (invocation) => [...equal, ...bounded].every((keep) => keep(invocation));
}
