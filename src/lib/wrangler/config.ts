import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { applyEdits, modify, parse, type ParseError } from 'jsonc-parser';
import { UserError } from '../core/errors.js';
import { registryHost } from '../core/links.js';

/** The wrangler configuration file: `config` when given, else wrangler's own lookup order. */
export function findWranglerConfig(cwd: string, config?: string): string {
  if (config) {
    const given = resolve(cwd, config);
    if (!existsSync(given))
      throw new UserError(`Input "config" is "${config}", which does not exist in ${cwd}.`);
    return given;
  }
  for (const name of ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml']) {
    const candidate = join(cwd, name);
    if (existsSync(candidate)) return candidate;
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
  return registryHost(image) !== '';
}

interface ConfigDoc {
  containers?: unknown[];
  env?: Record<string, { containers?: unknown[] }>;
}

function readConfig(configPath: string): { text: string; doc: ConfigDoc } {
  const text = readFileSync(configPath, 'utf8');
  const errors: ParseError[] = [];
  const doc = parse(text, errors, { allowTrailingComma: true }) as ConfigDoc;
  if (errors.length) throw new UserError(`${configPath} is not valid JSONC (offset ${errors[0]!.offset}).`);
  return { text, doc };
}

const containersOf = (doc: ConfigDoc, environment?: string) =>
  environment ? doc.env?.[environment]?.containers : doc.containers;

/** Why an image cannot be shipped with this config (TOML, or no containers); undefined when it can. */
export function imageNotApplicable(configPath: string, environment?: string): string | undefined {
  const name = basename(configPath);
  if (!/\.jsonc?$/.test(configPath))
    return `${name} is TOML, which Slipway does not rewrite, so wrangler builds the config's Dockerfile instead (convert the config to wrangler.jsonc to ship the tested image)`;
  if (!containersOf(readConfig(configPath).doc, environment)?.length)
    return `${name} has no containers${environment ? ` in environment "${environment}"` : ''}, so the Worker deploys alone`;
  return undefined;
}

/**
 * Writes a copy of the wrangler config beside it (so relative paths still resolve) with every
 * container of the environment set to `image`, comments and layout kept. Returns its path; the
 * caller removes it. Check imageNotApplicable first.
 */
export function withContainerImage(configPath: string, image: string, environment?: string): string {
  const { text, doc } = readConfig(configPath);
  const base = environment ? ['env', environment, 'containers'] : ['containers'];
  const containers = containersOf(doc, environment) ?? [];
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

interface WorkerDoc {
  name?: string;
  migrations?: Array<{ tag?: string }>;
  build?: { command?: string };
  env?: Record<string, { name?: string; migrations?: Array<{ tag?: string }>; build?: { command?: string } }>;
}

/**
 * Whether wrangler would run a custom build (`build.command`, wrangler's "Custom builds") for the
 * environment: a command from the project, run on the runner itself. A TOML config is not parsed:
 * any `[build]` or `[env.<name>.build]` table counts.
 */
export function hasBuildCommand(configPath: string, environment?: string): boolean {
  if (!/\.jsonc?$/.test(configPath))
    return /^\s*\[(env\.[^\]]+\.)?build\]/m.test(readFileSync(configPath, 'utf8'));
  const doc = readConfig(configPath).doc as WorkerDoc;
  const envDoc = environment ? doc.env?.[environment] : undefined;
  return Boolean((envDoc?.build ?? doc.build)?.command);
}

/**
 * The Worker's name and its newest Durable Object migration tag as the config gives them for an
 * environment: an environment's own `name`, else `<name>-<env>` (wrangler's naming of environments
 * without one); its own `migrations`, else the top-level ones; whether the config has that
 * environment. undefined for a TOML config (not read).
 */
export function workerSettings(
  configPath: string,
  environment?: string,
): { name?: string; migrationTag?: string; hasEnvironment: boolean } | undefined {
  if (!/\.jsonc?$/.test(configPath)) return undefined;
  const doc = readConfig(configPath).doc as WorkerDoc;
  const envDoc = environment ? doc.env?.[environment] : undefined;
  const name = envDoc?.name ?? (environment && doc.name ? `${doc.name}-${environment}` : doc.name);
  const migrations = envDoc?.migrations ?? doc.migrations ?? [];
  return { name, migrationTag: migrations.at(-1)?.tag, hasEnvironment: envDoc !== undefined };
}

interface ContainerDoc {
  image?: string;
  image_build_context?: string;
  image_vars?: Record<string, string>;
  instance_type?: string;
}

/** What wrangler would build for the environment's first container; undefined when it has none or pulls an image. */
export interface ContainerBuild {
  dockerfile: string;
  context: string;
  /** image_vars, as NAME=value lines (wrangler passes them to the build as build arguments). */
  buildArgs: string[];
  instanceType?: string;
}

/**
 * The Dockerfile, build context and build arguments wrangler builds the environment's first
 * container from, by wrangler's own rules (wrangler-dist/cli.js, validateContainerApp and
 * isDockerfile): `containers` is not inherited by an environment; `image` is a Dockerfile when it
 * names a file relative to the config; `image_build_context` is relative to the config and defaults
 * to the Dockerfile's directory. undefined for a TOML config, no containers or a registry image.
 */
export function containerBuild(configPath: string, environment?: string): ContainerBuild | undefined {
  if (!/\.jsonc?$/.test(configPath)) return undefined;
  const [container] = (containersOf(readConfig(configPath).doc, environment) ?? []) as ContainerDoc[];
  if (!container?.image) return undefined;
  const base = dirname(configPath);
  const dockerfile = resolve(base, container.image);
  if (!existsSync(dockerfile)) return undefined;
  return {
    dockerfile,
    context: container.image_build_context
      ? resolve(base, container.image_build_context)
      : dirname(dockerfile),
    buildArgs: Object.entries(container.image_vars ?? {}).map(([name, value]) => `${name}=${value}`),
    instanceType: container.instance_type,
  };
}
