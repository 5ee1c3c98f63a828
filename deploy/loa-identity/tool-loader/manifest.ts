import { readFileSync } from 'node:fs';

export const CAPABILITIES = ['semanticSearch', 'taskGraph', 'memoryStack'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** One deferred tool: how to tell it is there, how to install it, what it needs and enables. */
export interface ToolSpec {
  name: string;
  description?: string;
  /** Shell command that exits 0 when the tool is already installed. */
  check: string;
  /** Shell command that installs it (into $LOA_TOOL_DIR, so it persists with the volume). */
  install: string;
  dependsOn?: string[];
  capability?: Capability;
}

export interface Manifest {
  tools: ToolSpec[];
}

/** A manifest that cannot be used: a cycle, an unknown dependency, a malformed entry. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

export function parseManifest(text: string, source = 'manifest'): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  const tools = (raw as { tools?: unknown }).tools;
  if (!Array.isArray(tools)) throw new ManifestError(`${source} has no "tools" array`);
  const seen = new Set<string>();
  const out = tools.map((t: unknown, i): ToolSpec => {
    const s = t as Partial<ToolSpec>;
    const where = `${source}: tools[${i}]${typeof s.name === 'string' ? ` (${s.name})` : ''}`;
    if (typeof s.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(s.name))
      throw new ManifestError(`${where} needs a "name" of letters, digits, . _ -`);
    if (seen.has(s.name)) throw new ManifestError(`${where}: the name ${s.name} is used twice`);
    seen.add(s.name);
    if (typeof s.check !== 'string' || !s.check.trim())
      throw new ManifestError(`${where} needs a "check" command`);
    if (typeof s.install !== 'string' || !s.install.trim())
      throw new ManifestError(`${where} needs an "install" command`);
    if (
      s.dependsOn !== undefined &&
      !(Array.isArray(s.dependsOn) && s.dependsOn.every((d) => typeof d === 'string'))
    ) {
      throw new ManifestError(`${where}: "dependsOn" must be a list of tool names`);
    }
    if (s.capability !== undefined && !CAPABILITIES.includes(s.capability)) {
      throw new ManifestError(
        `${where}: capability "${String(s.capability)}" is not one of ${CAPABILITIES.join(', ')}`,
      );
    }
    return {
      name: s.name,
      description: s.description,
      check: s.check,
      install: s.install,
      dependsOn: s.dependsOn ?? [],
      capability: s.capability,
    };
  });
  return { tools: out };
}

export function loadManifest(path: string): Manifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ManifestError(`cannot read the tool manifest ${path}: ${(err as Error).message}`);
  }
  return parseManifest(text, path);
}

/**
 * Tools in an order where each comes after what it depends on (manifest order otherwise). An unknown
 * dependency or a cycle is a ManifestError that names the tools.
 */
export function installOrder(manifest: Manifest): ToolSpec[] {
  const byName = new Map(manifest.tools.map((t) => [t.name, t]));
  for (const t of manifest.tools) {
    for (const d of t.dependsOn ?? []) {
      if (!byName.has(d))
        throw new ManifestError(`tool ${t.name} depends on ${d}, which is not in the manifest`);
    }
  }
  const order: ToolSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: ToolSpec, path: string[]) => {
    const s = state.get(t.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(t.name)), t.name];
      throw new ManifestError(`dependency cycle between tools: ${cycle.join(' -> ')}`);
    }
    state.set(t.name, 'visiting');
    for (const d of t.dependsOn ?? []) visit(byName.get(d)!, [...path, t.name]);
    state.set(t.name, 'done');
    order.push(t);
  };
  for (const t of manifest.tools) visit(t, []);
  return order;
}
