/** Markdown for job summaries: one way to build tables and durations everywhere. */

/** Escapes text for a Markdown table cell: pipes escaped, line breaks flattened. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A Markdown table. Cells are used as given: pass free text through `cell`. An empty cell is `| |`. */
export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `|${cells.map((text) => (text ? ` ${text} ` : ' ')).join('|')}|`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A link when `url` is http(s) (a Worker URL, a run), else the text as a cell. */
export function link(text: string, url: string): string {
  if (!/^https?:\/\/[^\s()<>]+$/.test(url)) return cell(text);
  return `[${cell(text).replace(/[[\]]/g, '\\$&')}](${url})`;
}

/** A two-column table of labelled facts, with an empty header (the summaries' "| | |" block). */
export function facts(rows: Array<[string, string]>): string {
  return table(['', ''], rows);
}

/** A collapsible block, for long tables and logs. */
export function details(title: string, body: string): string {
  return `<details><summary>${title}</summary>\n\n${body}\n\n</details>`;
}

/** Rows shown open in a summary; a longer table is collapsed so the verdict stays on screen. */
export const OPEN_ROWS = 8;

/**
 * A titled section: a `####` heading and the body while it holds at most OPEN_ROWS rows, else the
 * body inside <details> titled with its row count (GitHub renders both in a job summary).
 */
export function section(title: string, body: string, rows: number): string[] {
  if (rows <= OPEN_ROWS) return [`#### ${title}`, '', body, ''];
  return [details(`${title} (${rows})`, body), ''];
}

/** "12.3 s", or "2 min 5 s" from a minute up. */
export function formatSeconds(seconds: number): string {
  return seconds >= 60
    ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`
    : `${seconds.toFixed(1)} s`;
}
