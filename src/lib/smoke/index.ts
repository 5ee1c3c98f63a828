import { UserError } from '../core/errors.js';
import type { Log } from '../core/io.js';
import { backoffDelay } from '../core/backoff.js';
import { judgeBody, retryableStatus, type Attempt, type Expectations } from './probe.js';

export interface SmokeOptions extends Expectations {
  url: string;
  path: string;
  timeoutMs: number;
  attemptTimeoutMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxBodyBytes: number;
  consecutiveSuccesses: number;
  headers: Array<[string, string]>;
  /** A version id (the worker name is taken from the URL) or a full `<worker>="<id>"` value. */
  versionOverride?: string;
}

export interface SmokeResult {
  healthy: boolean;
  attempts: Attempt[];
  elapsedSeconds: number;
  /** The health status last seen ('' when none was). */
  status: string;
  /** The last extended-health document, as JSON ('' when none was read). */
  health: string;
  summary: string;
  failure?: string;
}

export interface SmokeDeps {
  log: Log;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const MAX_REDIRECTS = 5;

/** The `Cloudflare-Workers-Version-Overrides` value: `<worker>="<version>"`. */
export function versionOverrideHeader(url: URL, value: string): string {
  if (value.includes('=')) return value;
  const worker = url.hostname.endsWith('.workers.dev') ? url.hostname.split('.')[0] : undefined;
  if (!worker)
    throw new UserError(
      `Input "version-override" is a bare version id, but ${url.hostname} is not a workers.dev URL to take the Worker name from: give <worker>="<version-id>".`,
    );
  return `${worker}="${value}"`;
}

async function readLimited(
  res: Response,
  max: number,
): Promise<{ text: string; over: boolean; bytes: number }> {
  if (!res.body) return { text: '', over: false, bytes: 0 };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > max) {
      await reader.cancel().catch(() => undefined);
      return { text: '', over: true, bytes };
    }
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), over: false, bytes };
}

function describeFetchError(err: unknown, attemptTimeoutMs: number, effectiveMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return effectiveMs < attemptTimeoutMs
      ? `no answer within the ${effectiveMs / 1000}s left before the deadline`
      : `no answer within attempt-timeout (${attemptTimeoutMs / 1000}s)`;
  const cause = e.cause?.code ?? e.cause?.message;
  return `connection failed: ${cause ? `${cause}` : e.message}`;
}

/** One request (following same-origin redirects), judged. */
async function attempt(
  target: URL,
  headers: Headers,
  o: SmokeOptions,
  timeoutMs: number,
): Promise<Omit<Attempt, 'n' | 'at'>> {
  let url = target;
  try {
    for (let hop = 0; ; hop++) {
      const res = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        const next = new URL(res.headers.get('location')!, url);
        await res.body?.cancel().catch(() => undefined);
        if (next.origin !== target.origin)
          return {
            code: res.status,
            outcome: 'fail',
            reason: `redirected to another origin (${next.origin}); only same-origin redirects are followed`,
          };
        if (hop >= MAX_REDIRECTS)
          return { code: res.status, outcome: 'fail', reason: `more than ${MAX_REDIRECTS} redirects` };
        url = next;
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        const { text } = await readLimited(res, 512).catch(() => ({ text: '' }));
        const said = text.trim().split('\n')[0]?.slice(0, 120);
        const what = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${said ? `: ${said}` : ''}`;
        return retryableStatus(res.status)
          ? { code: res.status, outcome: 'retry', reason: what }
          : {
              code: res.status,
              outcome: 'fail',
              reason: `${what} (not retried: only 5xx, 404, 408 and 429 are)`,
            };
      }
      const body = await readLimited(res, o.maxBodyBytes);
      if (body.over)
        return {
          code: res.status,
          outcome: 'fail',
          reason: `the answer is larger than max-body-bytes (${o.maxBodyBytes} bytes; read ${body.bytes} before stopping)`,
        };
      return { code: res.status, ...judgeBody(body.text, o) };
    }
  } catch (err) {
    return { code: 0, outcome: 'retry', reason: describeFetchError(err, o.attemptTimeoutMs, timeoutMs) };
  }
}

const secs = (ms: number) => Math.round(ms / 100) / 10;

function timeline(attempts: Attempt[]): string[] {
  const rows = (list: Attempt[]) =>
    list.map(
      (a) =>
        `| ${a.n} | +${a.at.toFixed(1)}s | ${a.code || '–'} | ${a.version ? `\`${a.version}\`` : '–'} | ${a.outcome}${a.reason ? `: ${a.reason.replace(/\|/g, '\\|')}` : ''} |`,
    );
  const head = ['| # | time | HTTP | version | outcome |', '| --- | --- | --- | --- | --- |'];
  if (attempts.length <= 30) return [...head, ...rows(attempts)];
  return [
    ...head,
    ...rows(attempts.slice(0, 10)),
    `| … | | | | ${attempts.length - 30} attempts not shown |`,
    ...rows(attempts.slice(-20)),
  ];
}

/**
 * smoke-test: ask the deployed version's extended health until it is healthy, by the expected
 * version, or the deadline passes. Retries what a deploy in progress looks like (connection errors,
 * timeouts, 5xx, 404/408/429, another version answering, a status or capability not ready yet);
 * fails at once on what retrying cannot fix (other 4xx, a foreign redirect, a body that is not the
 * extended-health document, a required tool that failed).
 */
export async function smokeTest(o: SmokeOptions, deps: SmokeDeps): Promise<SmokeResult> {
  let base: URL;
  try {
    base = new URL(o.url);
  } catch {
    throw new UserError(
      `Input "url" is "${o.url}": give an absolute http(s) URL such as https://app.example.workers.dev.`,
    );
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new UserError(`Input "url" is "${o.url}": only http and https URLs can be smoke-tested.`);
  const target = new URL(o.path || '/', base);
  const headers = new Headers({ accept: 'application/json', 'user-agent': 'slipway-smoke-test' });
  for (const [k, v] of o.headers) {
    deps.log.secret(v);
    headers.set(k, v);
  }
  if (o.versionOverride)
    headers.set('Cloudflare-Workers-Version-Overrides', versionOverrideHeader(base, o.versionOverride));

  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const start = now();
  const deadline = start + o.timeoutMs;
  const attempts: Attempt[] = [];
  let streak = 0;
  let retries = 0;
  let failure: string | undefined;
  deps.log.info(
    `GET ${target.href}${o.expectVersion ? ` expecting version ${o.expectVersion}` : ''} (deadline ${o.timeoutMs / 1000}s)`,
  );
  const timedOut = (n: number) => {
    // The last answer says more than a last attempt the deadline cut short.
    const told = [...attempts].reverse().find((x) => x.code !== 0 && x.outcome !== 'ok') ?? attempts.at(-1)!;
    const last =
      told.outcome === 'ok' ? `${streak} of ${o.consecutiveSuccesses} consecutive successes` : told.reason;
    return `smoke-test: not healthy within ${o.timeoutMs / 1000}s (${n} attempts); last: ${last} (GET ${target.href}).`;
  };
  for (let n = 1; ; n++) {
    const at = (now() - start) / 1000;
    const a: Attempt = {
      n,
      at,
      ...(await attempt(target, headers, o, Math.max(1, Math.min(o.attemptTimeoutMs, deadline - now())))),
    };
    attempts.push(a);
    deps.log.info(
      `#${n} +${at.toFixed(1)}s ${a.code || 'no answer'}${a.version ? ` version ${a.version}` : ''}${a.healthStatus ? ` ${a.healthStatus}` : ''} → ${a.outcome}${a.reason ? `: ${a.reason}` : ''}`,
    );
    if (a.outcome === 'fail') {
      failure = `smoke-test failed on attempt ${n}: ${a.reason} (GET ${target.href}).`;
      break;
    }
    if (a.outcome === 'ok') {
      streak++;
      if (streak >= o.consecutiveSuccesses) break;
    } else {
      streak = 0;
    }
    const remaining = deadline - now();
    if (remaining <= 0) {
      failure = timedOut(n);
      break;
    }
    const delay =
      a.outcome === 'ok'
        ? Math.min(o.initialDelayMs, remaining)
        : backoffDelay(
            retries++,
            { initialMs: o.initialDelayMs, maxMs: o.maxDelayMs, remainingMs: remaining },
            deps.random,
          );
    await sleep(delay);
    // An attempt with next to no time left can only time out: the last answer stands.
    if (deadline - now() < 50) {
      failure = timedOut(n);
      break;
    }
  }
  const elapsedSeconds = secs(now() - start);
  const last = [...attempts].reverse().find((x) => x.doc !== undefined);
  const healthy = !failure;
  const summary = [
    `### smoke-test: ${healthy ? `✅ healthy after ${attempts.length} attempt${attempts.length === 1 ? '' : 's'} (${elapsedSeconds}s)` : '❌ not healthy'}`,
    '',
    `\`GET ${target.href}\`${o.expectVersion ? ` expecting version \`${o.expectVersion}\`` : ''}`,
    '',
    ...(failure ? [`**${failure.replace(/\|/g, '\\|')}**`, ''] : []),
    ...timeline(attempts),
    '',
  ].join('\n');
  return {
    healthy,
    attempts,
    elapsedSeconds,
    status: last?.healthStatus ?? '',
    health: last?.doc !== undefined ? JSON.stringify(last.doc) : '',
    summary,
    failure,
  };
}
