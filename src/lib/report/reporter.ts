import type { GitHubRequest, Log } from '../core/io.js';
import type { ReportOptions } from './index.js';

/** One line of the summary: what was reported, and how it went. */
export type Reported = [what: string, outcome: string];

/** Runs one GitHub call; a failure becomes a warning and a problem entry, and the call's result undefined. */
export type Attempt = <T>(what: string, call: () => Promise<T>) => Promise<T | undefined>;

/** What each reporting step works with. */
export interface Reporter {
  github: GitHubRequest;
  options: ReportOptions;
  attempt: Attempt;
  log: Log;
  /** The run as a Markdown link, for the comment and the summary; undefined without its page. */
  run?: string;
}

/** GitHub refuses descriptions over 140 characters. */
const MAX_DESCRIPTION = 140;

export function clip(text: string, limit = MAX_DESCRIPTION): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/**
 * Pages asked for at most, 100 items each (GitHub's most, "per_page … max 100"): a server that never
 * ends its list cannot keep the step forever.
 */
export const PER_PAGE = 100;
export const MAX_PAGES = 50;

/**
 * Every item of a GitHub list, page by page until a page comes back short (GitHub pages its lists:
 * "Using pagination in the REST API", https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api;
 * the github port hands back only the body, so pages are counted rather than Link headers followed),
 * or until `found` picks an item. At most MAX_PAGES pages; `truncated` says the list went on.
 */
export async function readPages<T>(
  github: GitHubRequest,
  route: string,
  params: Record<string, unknown>,
  found: (item: T) => boolean = () => false,
): Promise<{ items: T[]; hit?: T; truncated: boolean }> {
  const items: T[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { data } = await github(route, { ...params, per_page: PER_PAGE, page });
    const list = Array.isArray(data) ? (data as T[]) : [];
    items.push(...list);
    const hit = list.find(found);
    if (hit) return { items, hit, truncated: false };
    if (list.length < PER_PAGE) return { items, truncated: false };
  }
  return { items, truncated: true };
}
