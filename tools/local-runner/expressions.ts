import { Evaluator, Lexer, Parser, data, type Expr } from '@actions/expressions';
import { FunctionCall } from '@actions/expressions/ast';

/**
 * GitHub Actions expressions, evaluated by GitHub's own engine (`@actions/expressions`, the library
 * GitHub's language services use): operators, comparisons, case-insensitive names, loose equality,
 * `[ ]` and `.*`, short-circuit `&&`/`||`, and contains/startsWith/endsWith/format/join/toJSON/
 * fromJSON. What the runner adds is here: the status functions and how `if:` is wrapped.
 */
export type Value = unknown;

/** What the status functions read: the enclosing composite's steps, and the job. */
export interface RunStatus {
  /** A step of this action failed (without continue-on-error): its `action_status` is failure. */
  failed: boolean;
  /** The job was cancelled. */
  cancelled?: boolean;
}

export interface ExprContext {
  /** The named contexts (github, inputs, steps, env, runner, job, …), as plain JSON values. */
  contexts: Record<string, Value>;
  status: RunStatus;
}

/** The runner's status functions (actions/runner src/Runner.Worker/Expressions/*Function.cs). */
const STATUS_FUNCTIONS = ['success', 'failure', 'cancelled', 'always'] as const;

/**
 * actions/runner SuccessFunction/FailureFunction/CancelledFunction/AlwaysFunction: a composite's
 * main steps read the action's own status (`action_status`), and a cancelled job makes success()
 * and failure() false and cancelled() true. hashFiles needs the workspace and is not offered.
 */
function statusFunctions(status: RunStatus) {
  const answer: Record<(typeof STATUS_FUNCTIONS)[number], boolean> = {
    success: !status.cancelled && !status.failed,
    failure: !status.cancelled && status.failed,
    cancelled: Boolean(status.cancelled),
    always: true,
  };
  return new Map(
    STATUS_FUNCTIONS.map((name) => [
      name,
      { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(answer[name]) },
    ]),
  );
}

/** Parses one expression (the text inside `${{ }}`); a syntax error or unknown name throws. */
function parse(src: string, ctx: ExprContext): Expr {
  const lexed = new Lexer(src).lex();
  const functions = STATUS_FUNCTIONS.map((name) => ({ name, minArgs: 0, maxArgs: 0 }));
  return new Parser(lexed.tokens, Object.keys(ctx.contexts), functions).parse();
}

/** Evaluates one expression to a plain JSON value (null, boolean, number, string, array, object). */
export function evaluate(src: string, ctx: ExprContext): Value {
  const contexts = JSON.parse(JSON.stringify(ctx.contexts), data.reviver) as data.Dictionary;
  const result = new Evaluator(parse(src, ctx), contexts, statusFunctions(ctx.status)).evaluate();
  return JSON.parse(JSON.stringify(result, data.replacer)) as Value;
}

/** GitHub's truthiness: false, 0, -0, NaN, '' and null are false; everything else, objects too, true. */
export function truthy(value: Value): boolean {
  return !(value === null || value === false || value === '' || value === 0 || Number.isNaN(value));
}

/** How the runner writes a value into a string: null is empty, objects are JSON. */
function asString(value: Value): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value, null, 2);
  return String(value);
}

/**
 * The `${{ … }}` segments of a template, with the literal text between them. A `}}` inside a quoted
 * string does not end a segment (actions/runner TemplateReader.ParseTokens scans string literals).
 */
export function templateParts(text: string): Array<{ literal: string } | { expression: string }> {
  const parts: Array<{ literal: string } | { expression: string }> = [];
  let at = 0;
  for (let open = text.indexOf('${{', at); open !== -1; open = text.indexOf('${{', at)) {
    const close = closingBraces(text, open + 3);
    if (close === -1) throw new Error(`The expression is not closed: an unclosed '\${{' in "${text}"`);
    if (open > at) parts.push({ literal: text.slice(at, open) });
    parts.push({ expression: text.slice(open + 3, close).trim() });
    at = close + 2;
  }
  if (at < text.length) parts.push({ literal: text.slice(at) });
  return parts;
}

function closingBraces(text: string, from: number): number {
  let inString = false;
  for (let i = from; i < text.length; i++) {
    if (text[i] === "'")
      inString = !inString; // '' inside a string toggles twice
    else if (!inString && text.startsWith('}}', i)) return i;
  }
  return -1;
}

/** Replaces each `${{ expr }}` in a string with its value. */
export function interpolate(text: string, ctx: ExprContext): string {
  return templateParts(text)
    .map((part) => ('literal' in part ? part.literal : asString(evaluate(part.expression, ctx))))
    .join('');
}

/** Whether an expression calls a status function (a call, not the words inside a string). */
function callsStatusFunction(expr: Expr): boolean {
  if (expr instanceof FunctionCall) {
    const name = expr.functionName.lexeme.toLowerCase();
    if ((STATUS_FUNCTIONS as readonly string[]).includes(name)) return true;
  }
  return Object.values(expr as unknown as Record<string, unknown>).some((child) =>
    Array.isArray(child)
      ? child.some((c) => isExpr(c) && callsStatusFunction(c))
      : isExpr(child) && callsStatusFunction(child),
  );
}

const isExpr = (value: unknown): value is Expr =>
  typeof value === 'object' && value !== null && typeof (value as Expr).accept === 'function';

/**
 * Whether a step's `if:` lets it run. As the runner does (actions/runner ExpressionManager /
 * workflow-parser's if conversion): a whole `${{ }}` is its inner expression; text with embedded
 * `${{ }}` is one format() string; a condition that calls no status function runs as
 * `success() && (condition)`. So `${{ 'false' }}` is a non-empty string and runs.
 */
export function condition(text: string | boolean | undefined, ctx: ExprContext): boolean {
  if (text === undefined || text === '') return truthy(evaluate('success()', ctx));
  const expression = ifExpression(String(text));
  const wrapped = callsStatusFunction(parse(expression, ctx)) ? expression : `success() && (${expression})`;
  return truthy(evaluate(wrapped, ctx));
}

/** The expression an `if:` string stands for. */
function ifExpression(text: string): string {
  const parts = templateParts(text.trim());
  if (parts.length === 1 && 'expression' in parts[0]!) return parts[0].expression;
  if (parts.every((part) => 'literal' in part)) return text;
  // Literal text around `${{ }}`: the whole is a string, as format('…{0}…', expr) makes it.
  const escape = (literal: string) =>
    literal.replaceAll("'", "''").replaceAll('{', '{{').replaceAll('}', '}}');
  const expressions: string[] = [];
  const format = parts
    .map((part) => ('literal' in part ? escape(part.literal) : `{${expressions.push(part.expression) - 1}}`))
    .join('');
  return `format('${format}', ${expressions.join(', ')})`;
}
