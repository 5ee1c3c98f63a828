import { readFileSync, writeFileSync } from 'node:fs';
import type { Runner, RunOptions, RunResult } from '../../src/lib/core/exec.js';
import type { CacheService, Deps, FetchResponse, Log } from '../../src/lib/core/io.js';

/** One scripted answer: the first rule whose `match` fits a command line answers it. */
export interface Rule {
  /** Matched against `<command> <args joined by spaces>`. */
  match: RegExp | string;
  /** The answer: fixed, or computed from the call. Missing fields: exit 0, empty output. */
  result?: Partial<RunResult> | ((call: Call) => Partial<RunResult> | Promise<Partial<RunResult>>);
  /** Answer only this many calls (later calls fall through to the next rule). */
  times?: number;
}

export interface Call {
  command: string;
  args: string[];
  line: string;
  options: RunOptions;
}

/**
 * A scripted Runner for unit tests: no process is started. Every call is recorded; a call no rule
 * matches fails the test with the command line, so a new command is never answered by accident.
 */
export function scriptedRunner(rules: Rule[]): Runner & { calls: Call[] } {
  const used = new Map<Rule, number>();
  const calls: Call[] = [];
  const runner = (async (command, args, options = {}) => {
    const call = { command, args, line: [command, ...args].join(' '), options };
    calls.push(call);
    const rule = rules.find(
      (r) =>
        (typeof r.match === 'string' ? call.line.includes(r.match) : r.match.test(call.line)) &&
        (r.times === undefined || (used.get(r) ?? 0) < r.times),
    );
    if (!rule) throw new Error(`scriptedRunner: no rule answers "${call.line}"`);
    used.set(rule, (used.get(rule) ?? 0) + 1);
    const answer = typeof rule.result === 'function' ? await rule.result(call) : (rule.result ?? {});
    const result = { code: 0, stdout: '', stderr: '', ...answer };
    for (const line of `${result.stdout}\n${result.stderr}`.split('\n'))
      if (line) options.onLine?.(line, 'stdout');
    return result;
  }) as Runner & { calls: Call[] };
  runner.calls = calls;
  return runner;
}

/** A Log that records every line (warnings prefixed "warning: ", groups "group: ") and every secret. */
export function recordingLog(): Log & { lines: string[]; secrets: string[] } {
  const lines: string[] = [];
  const secrets: string[] = [];
  return {
    lines,
    secrets,
    info: (m) => void lines.push(m),
    warning: (m) => void lines.push(`warning: ${m}`),
    debug: () => undefined,
    group: async (name, fn) => {
      lines.push(`group: ${name}`);
      return fn();
    },
    secret: (v) => void secrets.push(v),
  };
}

/** An in-memory Actions cache for files: entries by key, holding a copy of what was saved. */
export function memoryCache(): CacheService & { entries: Map<string, Buffer> } {
  const entries = new Map<string, Buffer>();
  return {
    entries,
    restore: async (path, key, prefixes = []) => {
      const newestFirst = [...entries.keys()].reverse();
      const hit = entries.has(key) ? key : newestFirst.find((k) => prefixes.some((p) => k.startsWith(p)));
      if (hit) writeFileSync(path, entries.get(hit)!);
      return hit;
    },
    save: async (path, key) => {
      if (!entries.has(key)) entries.set(key, readFileSync(path));
    },
  };
}

/** Deps for a unit test: a scripted runner, a recording log, a fixed clock, an empty env. */
export function fakeDeps(
  rules: Rule[],
  extra: Partial<Deps> = {},
): Deps & { run: ReturnType<typeof scriptedRunner>; log: ReturnType<typeof recordingLog> } {
  return {
    run: scriptedRunner(rules),
    log: recordingLog(),
    env: {},
    now: () => new Date('2026-12-01T12:00:00Z'),
    ...extra,
  } as Deps & { run: ReturnType<typeof scriptedRunner>; log: ReturnType<typeof recordingLog> };
}

/** One scripted HTTP answer: the first rule whose `match` fits `<METHOD> <url>` answers it. */
export interface FetchRule {
  match: RegExp | string;
  /** The answer: status (200 unless told) and a body sent as JSON (a string as it is). */
  result?:
    | { status?: number; body?: unknown }
    | ((
        call: FetchCall,
      ) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>);
  /** Answer only this many calls (later calls fall through to the next rule). */
  times?: number;
}

export interface FetchCall {
  method: string;
  url: string;
  /** `<METHOD> <url>`, what rules match. */
  line: string;
  headers: Record<string, string>;
  /** The request body, parsed when it is JSON. */
  body?: unknown;
}

/**
 * A scripted fetch (Deps['fetch']) for unit tests: no request leaves the process. Every call is
 * recorded; a call no rule matches rejects with its line (and is listed in `unanswered`), so a new
 * request is never answered by accident.
 */
export function scriptedFetch(
  rules: FetchRule[],
): NonNullable<Deps['fetch']> & { calls: FetchCall[]; unanswered: string[] } {
  const used = new Map<FetchRule, number>();
  const calls: FetchCall[] = [];
  const unanswered: string[] = [];
  const fetcher = (async (url, init) => {
    let body: unknown = init.body;
    try {
      body = typeof init.body === 'string' ? JSON.parse(init.body) : init.body;
    } catch {
      // not JSON: kept as sent
    }
    const call: FetchCall = {
      method: init.method,
      url,
      line: `${init.method} ${url}`,
      headers: init.headers,
      body,
    };
    calls.push(call);
    const rule = rules.find(
      (r) =>
        (typeof r.match === 'string' ? call.line.includes(r.match) : r.match.test(call.line)) &&
        (r.times === undefined || (used.get(r) ?? 0) < r.times),
    );
    if (!rule) {
      unanswered.push(call.line);
      throw new Error(`scriptedFetch: no rule answers "${call.line}"`);
    }
    used.set(rule, (used.get(rule) ?? 0) + 1);
    const answer = typeof rule.result === 'function' ? await rule.result(call) : (rule.result ?? {});
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? null);
    const response: FetchResponse = {
      status: answer.status ?? 200,
      headers: new Headers(),
      text: async () => text,
      body: null,
    };
    return response;
  }) as NonNullable<Deps['fetch']> & { calls: FetchCall[]; unanswered: string[] };
  fetcher.calls = calls;
  fetcher.unanswered = unanswered;
  return fetcher;
}

/** A fake clock: `sleep` returns at once and moves `now` on by the time slept (listed in `slept`). */
export function fakeClock(start = new Date('2026-12-01T12:00:00Z')): {
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  slept: number[];
} {
  let at = start.getTime();
  const slept: number[] = [];
  return {
    now: () => new Date(at),
    sleep: async (ms) => {
      slept.push(ms);
      at += ms;
    },
    slept,
  };
}
