import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FileCommandFiles {
  GITHUB_OUTPUT: string;
  GITHUB_ENV: string;
  GITHUB_STATE: string;
  GITHUB_STEP_SUMMARY: string;
  GITHUB_PATH: string;
}

/**
 * The runner's file-command files, created empty in `dir`, by the variable that names each: what a
 * step gets to write its outputs, env, state, summary and PATH additions to.
 */
export function createFileCommandFiles(dir: string): FileCommandFiles {
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_PATH: join(dir, 'path'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  return files;
}

/** Parses the runner's file-command format: `name=value` lines and `name<<DELIM … DELIM` blocks. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]!);
      values[name!] = value.join('\n');
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}
