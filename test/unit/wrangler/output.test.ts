import { describe, expect, it } from 'vitest';
import { defaultMessage } from '../../../src/lib/deploy/deploy.js';
import { cutBytes, errorDetail, liveVersionFrom, parseOutcome } from '../../../src/lib/wrangler/output.js';

const V = '7582d681-ad68-4e21-8207-95346964677d';

describe("wrangler's machine output", () => {
  it('reads version, worker and URLs from the deploy entry', () => {
    const nd = [
      '{"type":"wrangler-session","version":1,"wrangler_version":"4.86.0"}',
      `{"type":"deploy","version":1,"worker_name":"gw","version_id":"${V}","targets":["https://gw.acme.workers.dev"]}`,
    ].join('\n');
    expect(parseOutcome(nd, '')).toEqual({
      versionId: V,
      workerName: 'gw',
      urls: ['https://gw.acme.workers.dev'],
    });
  });
  it('reads the preview URL of a version upload, and the code of a failure', () => {
    const nd = [
      `{"type":"version-upload","worker_name":"gw","version_id":"${V}","targets":[],"preview_url":"https://abc-gw.acme.workers.dev"}`,
      '{"type":"command-failed","version":1,"code":10021,"message":"validation failed"}',
      'not json',
    ].join('\n');
    expect(parseOutcome(nd, '')).toEqual({
      versionId: V,
      workerName: 'gw',
      urls: ['https://abc-gw.acme.workers.dev'],
      previewUrl: 'https://abc-gw.acme.workers.dev',
      failure: { code: 10021, message: 'validation failed' },
    });
  });
  it('falls back to stdout only when the file is missing', () => {
    const stdout = `Deployed gw triggers (0.01 sec)\n  https://gw.acme.workers.dev\nCurrent Version ID: ${V}\n`;
    expect(parseOutcome(undefined, stdout)).toEqual({ versionId: V, urls: ['https://gw.acme.workers.dev'] });
    expect(parseOutcome('', stdout).versionId).toBeUndefined();
  });

  // versions upload --preview-alias: the version-upload entry (wrangler cli.js 303768-303778), and the
  // unindented lines it prints (cli.js 303364, 303377, 303380; wrangler's own snapshot in
  // workers-sdk packages/wrangler/src/__tests__/versions/versions.upload.test.ts).
  const PREVIEW = 'https://7582d681-gw.acme.workers.dev';
  const ALIAS = 'https://pr-7-gw.acme.workers.dev';
  const upload = (fields: object) =>
    JSON.stringify({ type: 'version-upload', version: 1, worker_name: 'gw', version_id: V, ...fields });
  it.each([
    {
      name: 'both preview URLs in the entry',
      nd: upload({ preview_url: PREVIEW, preview_alias_url: ALIAS }),
      stdout: '',
      expected: {
        versionId: V,
        workerName: 'gw',
        urls: [PREVIEW],
        previewUrl: PREVIEW,
        previewAliasUrl: ALIAS,
      },
    },
    {
      name: 'no preview (a Durable Object Worker): both absent from the entry',
      nd: upload({}),
      stdout: '',
      expected: { versionId: V, workerName: 'gw', urls: [] },
    },
    {
      name: 'no output file: the unindented lines wrangler printed',
      nd: undefined,
      stdout: `Uploaded gw (1.2 sec)\nWorker Version ID: ${V}\nVersion Preview URL: ${PREVIEW}\nVersion Preview Alias URL: ${ALIAS}\n`,
      expected: { versionId: V, urls: [PREVIEW], previewUrl: PREVIEW, previewAliasUrl: ALIAS },
    },
    {
      name: 'no output file, no preview printed',
      nd: undefined,
      stdout: `Uploaded gw (1.2 sec)\nWorker Version ID: ${V}\n`,
      expected: { versionId: V, urls: [] },
    },
  ])('a version upload: $name', ({ nd, stdout, expected }) => {
    const outcome = parseOutcome(nd, stdout);
    expect(outcome).toEqual(expected);
    if (!expected.previewAliasUrl) expect(outcome.previewAliasUrl).toBeUndefined();
  });
  it('reads the live version from deployments status --json, banner or not', () => {
    const doc = `⛅️ wrangler 4.86.0\n{"id":"d1","versions":[{"version_id":"a","percentage":10},{"version_id":"${V}","percentage":90}]}\n`;
    expect(liveVersionFrom(doc)).toBe(V);
    expect(liveVersionFrom('no json here')).toBeUndefined();
  });
  it('takes the API message from under the [ERROR] line', () => {
    const out =
      '\u001b[31m✘ [ERROR]\u001b[0m A request to the Cloudflare API (/x) failed.\n\n  deployment service unavailable [code: 10013] [code: 10013]\n  \n  If you think this is a bug, please open an issue\n';
    expect(errorDetail(out)).toBe('deployment service unavailable');
    expect(errorDetail('all good')).toBeUndefined();
  });
});

describe('deployment messages', () => {
  it('cut to 100 bytes without splitting a character', () => {
    expect(cutBytes('a'.repeat(150))).toHaveLength(100);
    const cut = cutBytes(`${'a'.repeat(99)}é`);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(100);
    expect(cut.endsWith('a')).toBe(true);
  });
  it('default to the commit subject and short sha, within 100 bytes', () => {
    expect(defaultMessage({ subject: 'Tighten the probe\n\nlong body', sha: 'a1b2c3d4e5f6' })).toBe(
      'Tighten the probe (a1b2c3d)',
    );
    const long = defaultMessage({ subject: 'x'.repeat(200), sha: 'a1b2c3d4e5f6' })!;
    expect(Buffer.byteLength(long)).toBe(100);
    expect(long.endsWith(' (a1b2c3d)')).toBe(true);
    expect(defaultMessage(undefined)).toBeUndefined();
  });
});
