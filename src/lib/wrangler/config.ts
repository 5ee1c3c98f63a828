import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { applyEdits, modify, parse, type ParseError } from 'jsonc-parser';
import { UserError } from '../errors.js';

/** The wrangler configuration file: `config` when given, else wrangler's own lookup order. */
export function findWranglerConfig(cwd: string, config?: string): string {
  if (config) {
    const p = resolve(cwd, config);
    if (!existsSync(p)) throw new UserError(`Input "config" is "${config}", which does not exist in ${cwd}.`);
    return p;
  }
  for (const name of ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml']) {
    const p = join(cwd, name);
    if (existsSync(p)) return p;
  }
  throw new UserError(
    `No wrangler.json, wrangler.jsonc or wrangler.toml in ${cwd}: set working-directory or config.`,
  );
}

/**
 * A registry reference (host with a dot or port, or localhost, before the first slash), as wrangler
 * tells them from local tags.
 */
export function isRegistryReference(image: string): boolean {
  const host = image.split('/')[0]!;
  return image.includes('/') && (/[.:]/.test(host) || host === 'localhost');
}

/**
 * Writes a copy of the wrangler config beside it (so relative paths still resolve) with every
 * container of the environment set to `image`, comments and layout kept. Returns its path; the
 * caller removes it.
 */
export function withContainerImage(configPath: string, image: string, environment?: string): string {
  if (!/\.jsonc?$/.test(configPath))
    throw new UserError(
      `Input "image" needs a wrangler.json or wrangler.jsonc config to point at the image; ${basename(configPath)} is TOML: convert it (wrangler supports both) or leave image empty to let wrangler build.`,
    );
  const text = readFileSync(configPath, 'utf8');
  const errors: ParseError[] = [];
  const doc = parse(text, errors, { allowTrailingComma: true }) as {
    containers?: unknown[];
    env?: Record<string, { containers?: unknown[] }>;
  };
  if (errors.length) throw new UserError(`${configPath} is not valid JSONC (offset ${errors[0]!.offset}).`);
  const base = environment ? ['env', environment, 'containers'] : ['containers'];
  const containers = environment ? doc.env?.[environment]?.containers : doc.containers;
  if (!containers?.length)
    throw new UserError(
      `Input "image" is set, but ${basename(configPath)} has no containers${environment ? ` in environment "${environment}"` : ''} to run it.`,
    );
  let out = text;
  const edit = (path: Array<string | number>, value: unknown) =>
    (out = applyEdits(
      out,
      modify(out, path, value, { formattingOptions: { insertSpaces: true, tabSize: 2 } }),
    ));
  containers.forEach((_c, i) => {
    edit([...base, i, 'image'], image);
    // Build settings mean nothing for a pushed image.
    edit([...base, i, 'image_build_context'], undefined);
    edit([...base, i, 'image_vars'], undefined);
  });
  const derived = join(dirname(configPath), `.slipway-${basename(configPath)}`);
  writeFileSync(derived, out);
  return derived;
}
