import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import schema from '../../schemas/slipway.schema.json' with { type: 'json' };
import { UserError } from '../lib/core/errors.js';
import { parseDockerfile } from '../lib/build/dockerfile.js';
import { containerBuild, findWranglerConfig, workerSettings } from '../lib/wrangler/config.js';

/**
 * The project `slipway rehearse` runs the pipeline on: one service, found from slipway.json when
 * the directory has one (schemas/slipway.schema.json), else from the directory itself: its wrangler
 * config, the environment to deploy, and the Dockerfile, context and build arguments wrangler would
 * build the config's container from. What it finds becomes the root action's inputs; the service's
 * `inputs` and the command's `--with name=value` add to them and win.
 */
export interface Service {
  name: string;
  dir?: string;
  config?: string;
  environment?: string;
  'version-arg'?: string;
  inputs?: Record<string, string>;
}

export interface RehearsalProject {
  service: string;
  configPath: string;
  environment?: string;
  /** The Worker's name in that environment. */
  worker: string;
  /** The build argument each rehearsed version sets to its own version, if the image carries one. */
  versionArg?: string;
  /** The root action's inputs for this project (the rehearsal adds its own run's). */
  inputs: Record<string, string>;
}

export interface ProjectFlags {
  dir: string;
  service?: string;
  config?: string;
  env?: string;
  /** name=value pairs of root action inputs. */
  with?: string[];
}

const validateManifest = new Ajv({ allErrors: true }).compile<{ services: Service[] }>(schema);

/** slipway.json in dir, checked against its schema; undefined when there is none. */
export function readManifest(dir: string): { services: Service[] } | undefined {
  const file = join(dir, 'slipway.json');
  if (!existsSync(file)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (validateManifest(doc)) return doc;
  const first = validateManifest.errors?.[0];
  throw new UserError(
    `${file}: ${first?.instancePath || '(document)'} ${first?.message ?? 'is invalid'} (see schemas/slipway.schema.json).`,
  );
}

/** The service to rehearse: --service by name, else the only one; without slipway.json, the directory. */
export function pickService(
  manifest: { services: Service[] } | undefined,
  dir: string,
  name?: string,
): Service {
  if (!manifest) {
    if (name) throw new UserError(`--service ${name} needs a slipway.json in ${dir} that lists it.`);
    return { name: basename(dir) };
  }
  const names = manifest.services.map((service) => service.name);
  if (name) {
    const found = manifest.services.find((service) => service.name === name);
    if (!found) throw new UserError(`slipway.json has no service "${name}": it has ${names.join(', ')}.`);
    return found;
  }
  if (manifest.services.length > 1)
    throw new UserError(`slipway.json lists ${names.join(', ')}: choose one with --service.`);
  return manifest.services[0]!;
}

/** The environment to deploy: the one asked for, else "rehearsal" when the config has it, else none. */
function pickEnvironment(configPath: string, asked?: string): string | undefined {
  if (asked) return asked;
  return /\.jsonc?$/.test(configPath) && workerSettings(configPath, 'rehearsal')?.hasEnvironment
    ? 'rehearsal'
    : undefined;
}

/** The port the image says it serves on: the final stage's only EXPOSE; undefined otherwise. */
export function exposedPort(dockerfile: string): string | undefined {
  const df = parseDockerfile(readFileSync(dockerfile, 'utf8'), dockerfile);
  const ports = df.stages
    .at(-1)!
    .instructions.filter((instruction) => instruction.keyword === 'EXPOSE')
    .flatMap((instruction) => instruction.args);
  return ports.length === 1 && /^\d+(\/tcp)?$/.test(ports[0]!) ? ports[0]!.replace('/tcp', '') : undefined;
}

/** `--with name=value` pairs as inputs, each name one the root action has. */
export function withInputs(pairs: string[], known: Set<string>, from = '--with'): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq > 0 ? pair.slice(0, eq) : pair;
    if (eq <= 0) throw new UserError(`${from} "${name}" has no "=": write ${from} name=value.`);
    if (!known.has(name))
      throw new UserError(`${from}: the root action has no input "${name}" (see action.yml's inputs).`);
    inputs[name] = pair.slice(eq + 1);
  }
  return inputs;
}

/** The root action's input names, from action.yml. */
export function rootInputs(root: string): Set<string> {
  const action = parseYaml(readFileSync(join(root, 'action.yml'), 'utf8')) as {
    inputs: Record<string, unknown>;
  };
  return new Set(Object.keys(action.inputs));
}

/** The project in flags.dir, as the root action's inputs. */
export function findProject(flags: ProjectFlags, known: Set<string>): RehearsalProject {
  const dir = resolve(flags.dir);
  if (!existsSync(dir)) throw new UserError(`--dir ${flags.dir} does not exist.`);
  const service = pickService(readManifest(dir), dir, flags.service);
  const serviceDir = resolve(dir, service.dir ?? '.');
  const configPath = findWranglerConfig(serviceDir, flags.config ?? service.config);
  if (!/^wrangler\.(jsonc?|toml)$/.test(basename(configPath)))
    throw new UserError(
      `${configPath}: the pipeline's deploy finds the config by wrangler's own names (wrangler.jsonc, wrangler.json, wrangler.toml); rename it.`,
    );
  const environment = pickEnvironment(configPath, flags.env ?? service.environment);
  const build = containerBuild(configPath, environment);
  const where = `${basename(configPath)}${environment ? ` (environment "${environment}")` : ''}`;
  if (!build)
    throw new UserError(
      `${where} has no container built from a Dockerfile: slipway rehearse builds, tests and deploys one (JSONC configs only).`,
    );
  const worker = workerSettings(configPath, environment)?.name;
  if (!worker) throw new UserError(`${where} has no Worker name.`);
  const port = exposedPort(build.dockerfile);
  const derived: Record<string, string> = {
    context: build.context,
    dockerfile: build.dockerfile,
    'build-args': build.buildArgs.join('\n'),
    ...(build.instanceType ? { 'instance-type': build.instanceType } : {}),
    ...(port ? { 'boot-port': port } : {}),
    'working-directory': dirname(configPath),
    ...(environment ? { environment } : {}),
  };
  const declared = withInputs(
    Object.entries(service.inputs ?? {}).map(([name, value]) => `${name}=${value}`),
    known,
    'slipway.json inputs',
  );
  return {
    service: service.name,
    configPath,
    environment,
    worker,
    versionArg: service['version-arg'],
    inputs: { ...derived, ...declared, ...withInputs(flags.with ?? [], known) },
  };
}
