import { stripVTControlCharacters } from 'node:util';
import { Marked } from 'marked';
import { markedTerminal } from 'marked-terminal';

/**
 * A job summary (GitHub-flavoured Markdown) for a terminal, with marked and marked-terminal: tables
 * drawn, headings bold. <details> becomes its title as a bold line (a terminal cannot fold); colour
 * and styles only when `color` (a TTY without NO_COLOR), plain text otherwise.
 */
export function renderMarkdown(markdown: string, color: boolean): string {
  const unfolded = markdown
    .replace(/<details><summary>([^<]*)<\/summary>/g, '**$1**')
    .replace(/<\/details>/g, '');
  const marked = new Marked();
  marked.use(
    markedTerminal({ reflowText: false, tab: 2, showSectionPrefix: false }) as Parameters<Marked['use']>[0],
  );
  const text = marked.parse(unfolded, { async: false }) as string;
  return color ? text : stripVTControlCharacters(text);
}
