/**
 * The subset of GitHub Actions expressions a composite action uses, evaluated locally: contexts
 * (`inputs.x`, `steps.id.outputs.name`, `steps.id.outcome`, `github.x`, `env.X`, `runner.temp`),
 * string, number and boolean literals, `== != && || !`, parentheses, and the status functions
 * `success() failure() always() cancelled()`. Comparisons of strings ignore case, as GitHub's do;
 * a missing property is null.
 */
export type Value = string | number | boolean | null | { [k: string]: Value };

export interface ExprContext {
  contexts: Record<string, Value>;
  status: { failed: boolean; cancelled?: boolean };
}

type Token = { t: 'str' | 'num' | 'id' | 'op' | 'lp' | 'rp' | 'dot'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in expression: ${src}`);
        if (src[i] === "'" && src[i + 1] === "'") {
          s += "'";
          i += 2;
        } else if (src[i] === "'") {
          i++;
          break;
        } else s += src[i++];
      }
      out.push({ t: 'str', v: s });
    } else if (/[0-9]/.test(c)) {
      const m = /^\d+(\.\d+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else if (
      src.startsWith('==', i) ||
      src.startsWith('!=', i) ||
      src.startsWith('&&', i) ||
      src.startsWith('||', i)
    ) {
      out.push({ t: 'op', v: src.slice(i, i + 2) });
      i += 2;
    } else if (c === '!') {
      out.push({ t: 'op', v: '!' });
      i++;
    } else if (c === '(') {
      out.push({ t: 'lp', v: c });
      i++;
    } else if (c === ')') {
      out.push({ t: 'rp', v: c });
      i++;
    } else if (c === '.') {
      out.push({ t: 'dot', v: c });
      i++;
    } else throw new Error(`unexpected "${c}" in expression: ${src}`);
  }
  return out;
}

export function truthy(v: Value): boolean {
  return v !== null && v !== false && v !== 0 && v !== '';
}

function equal(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (a === null || b === null) return (a ?? '') === (b ?? '');
  if (typeof a !== typeof b) return Number(a) === Number(b);
  return a === b;
}

/** Evaluates one expression (the text inside `${{ }}`, or an `if:`). */
export function evaluate(src: string, ctx: ExprContext): Value {
  const tokens = tokenize(src);
  let p = 0;
  const peek = () => tokens[p];
  const take = () => tokens[p++]!;
  const expect = (t: Token['t']) => {
    const tok = take();
    if (!tok || tok.t !== t) throw new Error(`expected ${t} in expression: ${src}`);
    return tok;
  };
  const or = (): Value => {
    let left = and();
    while (peek()?.v === '||') {
      take();
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const and = (): Value => {
    let left = cmp();
    while (peek()?.v === '&&') {
      take();
      const right = cmp();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const cmp = (): Value => {
    let left = unary();
    while (peek()?.v === '==' || peek()?.v === '!=') {
      const op = take().v;
      const right = unary();
      left = op === '==' ? equal(left, right) : !equal(left, right);
    }
    return left;
  };
  const unary = (): Value => {
    if (peek()?.v === '!') {
      take();
      return !truthy(unary());
    }
    return primary();
  };
  const primary = (): Value => {
    const tok = take();
    if (!tok) throw new Error(`unexpected end of expression: ${src}`);
    if (tok.t === 'str') return tok.v;
    if (tok.t === 'num') return Number(tok.v);
    if (tok.t === 'lp') {
      const v = or();
      expect('rp');
      return v;
    }
    if (tok.t !== 'id') throw new Error(`unexpected "${tok.v}" in expression: ${src}`);
    if (tok.v === 'true') return true;
    if (tok.v === 'false') return false;
    if (tok.v === 'null') return null;
    if (peek()?.t === 'lp') {
      take();
      expect('rp');
      const fn = tok.v.toLowerCase();
      if (fn === 'success') return !ctx.status.failed && !ctx.status.cancelled;
      if (fn === 'failure') return ctx.status.failed;
      if (fn === 'always') return true;
      if (fn === 'cancelled') return !!ctx.status.cancelled;
      throw new Error(`function ${tok.v}() is not supported by the local runner: ${src}`);
    }
    let v: Value = ctx.contexts[tok.v] ?? null;
    while (peek()?.t === 'dot') {
      take();
      const key = expect('id').v;
      v = v !== null && typeof v === 'object' ? (v[key] ?? null) : null;
    }
    return v;
  };
  const v = or();
  if (p !== tokens.length) throw new Error(`unexpected "${tokens[p]!.v}" in expression: ${src}`);
  return v;
}

function asString(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Replaces each `${{ expr }}` in a string with its value. */
export function interpolate(text: string, ctx: ExprContext): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_m, expr: string) => asString(evaluate(expr, ctx)));
}

/** An `if:` condition: `${{ }}` optional; without a status function it means `success() && (…)`. */
export function condition(text: string | boolean | undefined, ctx: ExprContext): boolean {
  if (text === undefined || text === '') return !ctx.status.failed;
  if (typeof text === 'boolean') return text && !ctx.status.failed;
  const inner = text.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');
  const hasStatus = /\b(success|failure|always|cancelled)\s*\(/.test(inner);
  const v = truthy(evaluate(inner, ctx));
  return hasStatus ? v : v && !ctx.status.failed;
}
