/** What one wrangler run said in its ND-JSON output file (WRANGLER_OUTPUT_FILE_PATH), and stdout. */
export interface WranglerOutcome {
  versionId?: string;
  workerName?: string;
  urls: string[];
  failure?: { code?: number; message: string };
}

/**
 * Reads wrangler's machine output: `deploy` and `version-upload` entries carry the version id and
 * URLs, `command-failed` the error code and message. stdout is the fallback only when the file is
 * missing (`Current Version ID: <uuid>`).
 */
export function parseOutcome(ndjson: string | undefined, stdout: string): WranglerOutcome {
  const out: WranglerOutcome = { urls: [] };
  if (ndjson !== undefined) {
    for (const line of ndjson.split('\n')) {
      if (!line.trim()) continue;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (e.type === 'deploy' || e.type === 'version-upload') {
        out.versionId = (e.version_id as string | undefined) ?? out.versionId;
        out.workerName = (e.worker_name as string | undefined) ?? out.workerName;
        const targets = (e.targets as string[] | undefined) ?? [];
        const preview = e.preview_url as string | undefined;
        out.urls = [...targets, ...(preview ? [preview] : [])];
      }
      if (e.type === 'command-failed') {
        out.failure = {
          code: typeof e.code === 'number' ? e.code : undefined,
          message: String(e.message ?? 'wrangler failed'),
        };
      }
    }
    return out;
  }
  out.versionId = /Current Version ID: ([0-9a-f-]{36})/.exec(stdout)?.[1];
  out.urls = [...stdout.matchAll(/^\s+(https:\/\/\S+)/gm)].map((m) => m[1]!);
  return out;
}

/** The live version from `wrangler deployments status --json` (the version at the highest share). */
export function liveVersionFrom(stdout: string): string | undefined {
  const start = stdout.indexOf('{');
  if (start < 0) return undefined;
  try {
    const doc = JSON.parse(stdout.slice(start, stdout.lastIndexOf('}') + 1)) as {
      versions?: Array<{ version_id: string; percentage: number }>;
    };
    return [...(doc.versions ?? [])].sort((a, b) => b.percentage - a.percentage)[0]?.version_id;
  } catch {
    return undefined;
  }
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
  const i = lines.findIndex((l) => /\[ERROR\]/.test(l));
  if (i < 0) return undefined;
  for (const l of lines.slice(i + 1)) {
    const t = l.trim();
    if (!t) continue;
    if (/^If you think this is a bug/.test(t)) break;
    return t.replace(/(\s*\[code: \d+\])+$/, '');
  }
  return undefined;
}
