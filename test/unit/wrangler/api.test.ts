import { describe, expect, it } from 'vitest';
import type { Fetch } from '../../../src/lib/core/io.js';
import { apiBase, CloudflareApiError, cloudflareApi } from '../../../src/lib/wrangler/api.js';

type Answer = { status: number; body: string } | Error;

/** A fetch answering in turn (the last answer for every later call), recording each request. */
function scripted(...answers: Answer[]) {
  const calls: Array<{ url: string; method: string; headers: Record<string, string>; body?: string }> = [];
  const noBody = { headers: new Headers(), body: null };
  const fetch: Fetch = async (url, init) => {
    calls.push({ url, ...init, body: init.body as string | undefined });
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return { status: answer.status, text: async () => answer.body, ...noBody };
  };
  return { fetch, calls };
}

const ok = (result: unknown) => ({
  status: 200,
  body: JSON.stringify({ success: true, errors: [], result }),
});
const failed = (status: number, code: number, message: string) => ({
  status,
  body: JSON.stringify({ success: false, errors: [{ code, message }], result: null }),
});

describe('the Cloudflare API client (the calls wrangler has no command for)', () => {
  const connection = { apiToken: 'tok-secret', accountId: 'acct' };
  const client = (answers: Answer[], env: Record<string, string> = {}) => {
    const { fetch, calls } = scripted(...answers);
    const slept: number[] = [];
    const api = cloudflareApi(connection, { env, fetch, sleep: async (ms) => void slept.push(ms) });
    return { api, calls, slept };
  };

  it.each([
    ['unset: Cloudflare', {}, 'https://api.cloudflare.com/client/v4'],
    [
      'CLOUDFLARE_API_BASE_URL, as wrangler honours it',
      { CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:9/client/v4/' },
      'http://127.0.0.1:9/client/v4',
    ],
  ])('the base URL: %s', (_name, env, base) => expect(apiBase(env)).toBe(base));

  it('unwraps the envelope; the token goes in a header, never the URL or the body', async () => {
    const { api, calls } = client([ok({ id: 'r1' })]);
    expect(await api.call('POST', 'containers/applications/a/rollouts', { x: 1 })).toEqual({ id: 'r1' });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe(
      'https://api.cloudflare.com/client/v4/accounts/acct/containers/applications/a/rollouts',
    );
    expect(calls[0]!.headers.authorization).toBe('Bearer tok-secret');
    expect(`${calls[0]!.url} ${calls[0]!.body}`).not.toContain('tok-secret');
  });

  it.each<[string, Answer[], number, number[]]>([
    ['a 5xx is retried, then the answer is used', [failed(503, 10013, 'busy'), ok('done')], 2, [1000]],
    ['no answer (a network error) is retried', [new Error('ECONNRESET'), ok('done')], 2, [1000]],
  ])('%s', async (_name, answers, tries, slept) => {
    const run = client(answers);
    expect(await run.api.call('GET', 'containers/applications')).toBe('done');
    expect(run.calls).toHaveLength(tries);
    expect(run.slept).toEqual(slept);
  });

  it('three 5xx in a row: the error says the call, the status, the code and the words', async () => {
    const run = client([failed(500, 10013, 'internal')]);
    const error = await run.api.call('GET', 'containers/applications').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CloudflareApiError);
    expect((error as Error).message).toBe(
      'Cloudflare API GET containers/applications failed (HTTP 500, code 10013): internal',
    );
    expect(run.calls).toHaveLength(3);
    expect(run.slept).toEqual([1000, 2000]);
  });

  it('a 4xx is not retried; a body that is not JSON is quoted', async () => {
    const run = client([failed(404, 10021, 'no application x')]);
    await expect(run.api.call('GET', 'containers/applications/x')).rejects.toThrow(
      /\(HTTP 404, code 10021\): no application x$/,
    );
    expect(run.calls).toHaveLength(1);
    const html = client([{ status: 403, body: '<html>denied</html>' }]);
    await expect(html.api.call('GET', 'containers/me')).rejects.toThrow(
      /\(HTTP 403\): <html>denied<\/html>$/,
    );
  });
});
