/** What one wrangler run said in its ND-JSON output file (WRANGLER_OUTPUT_FILE_PATH), and stdout. */
export interface WranglerOutcome {
  versionId?: string;
  workerName?: string;
  urls: string[];
  /** `versions upload`: the version's preview URL, when Cloudflare generates one. */
  previewUrl?: string;
  /** `versions upload --preview-alias`: the alias's preview URL, when Cloudflare generates one. */
  previewAliasUrl?: string;
  failure?: { code?: number; message: string };
}

/**
 * Reads wrangler's machine output: `deploy` and `version-upload` entries carry the version id and
 * URLs, `command-failed` the error code and message. A `version-upload` entry names its preview URLs
 * `preview_url` and `preview_alias_url` (wrangler cli.js 303768-303778; both absent when there is no
 * preview). stdout is the fallback only when the file is missing (see outcomeFromStdout).
 */
export function parseOutcome(ndjson: string | undefined, stdout: string): WranglerOutcome {
  if (ndjson === undefined) return outcomeFromStdout(stdout);
  const outcome: WranglerOutcome = { urls: [] };
  for (const line of ndjson.split('\n')) {
    const entry = parseEntry(line);
    if (entry?.type === 'deploy' || entry?.type === 'version-upload') {
      outcome.versionId = (entry.version_id as string | undefined) ?? outcome.versionId;
      outcome.workerName = (entry.worker_name as string | undefined) ?? outcome.workerName;
      const targets = (entry.targets as string[] | undefined) ?? [];
      outcome.previewUrl = (entry.preview_url as string | undefined) || undefined;
      outcome.previewAliasUrl = (entry.preview_alias_url as string | undefined) || undefined;
      outcome.urls = [...targets, ...(outcome.previewUrl ? [outcome.previewUrl] : [])];
    }
    if (entry?.type === 'command-failed')
      outcome.failure = {
        code: typeof entry.code === 'number' ? entry.code : undefined,
        message: String(entry.message ?? 'wrangler failed'),
      };
  }
  return outcome;
}

/**
 * What wrangler printed, when it wrote no output file: `deploy` prints `Current Version ID: <uuid>`
 * and its targets indented under it; `versions upload` prints, unindented, `Worker Version ID:
 * <uuid>`, `Version Preview URL: <url>` and `Version Preview Alias URL: <url>` (cli.js 303364,
 * 303377, 303380; wrangler's own snapshot in workers-sdk src/__tests__/versions/versions.upload.test.ts).
 */
function outcomeFromStdout(stdout: string): WranglerOutcome {
  const previewUrl = /^Version Preview URL: (https:\/\/\S+)/m.exec(stdout)?.[1];
  const previewAliasUrl = /^Version Preview Alias URL: (https:\/\/\S+)/m.exec(stdout)?.[1];
  const targets = [...stdout.matchAll(/^\s+(https:\/\/\S+)/gm)].map((match) => match[1]!);
  return {
    versionId: /(?:Current|Worker) Version ID: ([0-9a-f-]{36})/.exec(stdout)?.[1],
    urls: [...targets, ...(previewUrl ? [previewUrl] : [])],
    ...(previewUrl ? { previewUrl } : {}),
    ...(previewAliasUrl ? { previewAliasUrl } : {}),
  };
}

/** One ND-JSON line as an object; undefined for a blank or broken line. */
function parseEntry(line: string): Record<string, unknown> | undefined {
  if (!line.trim()) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** One version of a Worker deployment and the share of traffic it serves. */
export interface VersionShare {
  version_id: string;
  percentage: number;
}

/**
 * The deployment in `wrangler deployments status --json`: every version and its percentage, the
 * highest share first (ties in the API's order); undefined when the output holds no deployment.
 */
export function deploymentFrom(stdout: string): VersionShare[] | undefined {
  const start = stdout.indexOf('{');
  if (start < 0) return undefined;
  try {
    const doc = JSON.parse(stdout.slice(start, stdout.lastIndexOf('}') + 1)) as {
      versions?: VersionShare[];
    };
    if (!doc.versions) return undefined;
    return doc.versions
      .map(({ version_id, percentage }) => ({ version_id, percentage: Number(percentage) }))
      .sort((first, second) => second.percentage - first.percentage);
  } catch {
    return undefined;
  }
}

/** The live version from `wrangler deployments status --json` (the version at the highest share). */
export function liveVersionFrom(stdout: string): string | undefined {
  return deploymentFrom(stdout)?.[0]?.version_id;
}

/** Cuts a message to the API's 100 bytes without splitting a UTF-8 character. */
export function cutBytes(text: string, max = 100): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return text;
  let end = max;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * The detail wrangler prints under its "✘ [ERROR]" line: the API's own message, which the
 * command-failed entry leaves out ("A request to the Cloudflare API (…) failed.").
 */
export function errorDetail(text: string): string | undefined {
  const lines = text.replace(ANSI, '').split('\n');
  const errorAt = lines.findIndex((line) => /\[ERROR\]/.test(line));
  if (errorAt < 0) return undefined;
  for (const line of lines.slice(errorAt + 1)) {
    const text = line.trim();
    if (!text) continue;
    if (/^If you think this is a bug/.test(text)) break;
    return text.replace(/(\s*\[code: \d+\])+$/, '');
  }
  return undefined;
}
