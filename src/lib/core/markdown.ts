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

/** A two-column table of labelled facts, with an empty header (the summaries' "| | |" block). */
export function facts(rows: Array<[string, string]>): string {
  return table(['', ''], rows);
}

/** A collapsible block, for long tables and logs. */
export function details(title: string, body: string): string {
  return `<details><summary>${title}</summary>\n\n${body}\n\n</details>`;
}

/** "12.3 s", or "2 min 5 s" from a minute up. */
export function formatSeconds(seconds: number): string {
  return seconds >= 60
    ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`
    : `${seconds.toFixed(1)} s`;
}
