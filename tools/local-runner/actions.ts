import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { NoOperationTraceWriter } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { parse } from 'yaml';

export interface Step {
  id?: string;
  name?: string;
  if?: string | boolean;
  shell?: string;
  run?: string;
  uses?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string | number | boolean>;
  'working-directory'?: string;
  'continue-on-error'?: boolean | string;
}

export interface InputSpec {
  default?: string | number | boolean;
  required?: boolean;
}

/** An action.yml as the runner reads it: a composite's steps, or a JavaScript action's entry points. */
export interface ActionManifest {
  name: string;
  inputs?: Record<string, InputSpec>;
  outputs?: Record<string, { value?: string }>;
  runs: {
    using: string;
    steps?: Step[];
    main?: string;
    post?: string;
    'post-if'?: string;
    pre?: string;
  };
}

export interface LoadedAction {
  dir: string;
  manifest: ActionManifest;
  /** owner/repo[/path]@ref for a remote action, the path for a local one: GITHUB_ACTION_REPOSITORY's source. */
  reference: string;
}

/** Where `uses:` finds actions: the workspace for `./…`, and the remote actions this machine holds. */
export interface ActionSources {
  workspace: string;
  /**
   * `owner/repo` → a directory holding that repository's files. The runner downloads
   * `owner/repo@ref` into `_work/_actions/owner/repo/ref` (actions/runner
   * src/Runner.Worker/ActionManager.cs); here nothing can be downloaded, so a test names the copy.
   */
  remote?: Record<string, string>;
}

/**
 * Reads an action.yml as the runner loads it: checked against GitHub's action schema
 * (@actions/workflow-parser's parseAction), so a manifest GitHub would refuse ("Failed to load")
 * is refused here too.
 */
export function loadManifest(dir: string): ActionManifest {
  const file = ['action.yml', 'action.yaml'].map((name) => join(dir, name)).find((path) => existsSync(path));
  if (!file) throw new Error(`Can't find 'action.yml' or 'action.yaml' under '${dir}'`);
  const content = readFileSync(file, 'utf8');
  const errors = parseAction(
    { name: file, content },
    new NoOperationTraceWriter(),
  ).context.errors.getErrors();
  if (errors.length) throw new Error(`Failed to load ${file}: ${errors.map((e) => e.message).join('; ')}`);
  return parse(content) as ActionManifest;
}

/**
 * Resolves a step's `uses:`. A `./path` is relative to GITHUB_WORKSPACE, not to the action that
 * holds the step (actions/runner issue 1348): a composite cannot name its own siblings that way.
 */
export function resolveUses(uses: string, sources: ActionSources): LoadedAction {
  if (uses.startsWith('docker://'))
    throw new Error(`uses: ${uses}: container actions are not supported here`);
  if (uses.startsWith('./') || isAbsolute(uses)) {
    const dir = isAbsolute(uses) ? uses : join(sources.workspace, uses);
    return { dir, manifest: loadManifest(dir), reference: uses };
  }
  const remote = /^([^/@\s]+\/[^/@\s]+)(\/[^@\s]*)?@(\S+)$/.exec(uses);
  if (!remote) throw new Error(`uses: ${uses}: expected ./path or owner/repo[/path]@ref`);
  const [, repository, path = ''] = remote;
  const copy = sources.remote?.[repository!];
  if (!copy)
    throw new Error(
      `uses: ${uses}: ${repository} cannot be downloaded here; give the local runner a copy of it`,
    );
  const dir = join(copy, path);
  return { dir, manifest: loadManifest(dir), reference: uses };
}
