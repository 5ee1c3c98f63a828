import { randomUUID } from 'node:crypto';

export interface Module {
  name: string;
  type: string;
  content: Buffer;
}

export interface Version {
  id: string;
  number: number;
  createdOn: string;
  message?: string;
  tag?: string;
  /** The upload's `workers/alias` annotation: `versions upload --preview-alias` (cli.js 303211-303215). */
  alias?: string;
  mainModule: string;
  modules: Module[];
  bindings: Array<Record<string, unknown>>;
  compatibilityDate?: string;
  compatibilityFlags: string[];
  /** Secret values: stored with the version they were uploaded with, never returned. */
  secrets: Record<string, string>;
  /** Durable Object classes backed by a container (the upload's `containers`). */
  containerClasses: string[];
  /**
   * The script's Durable Object migration tag when this version was uploaded: a version from before
   * a migration cannot be rolled back to (rollbacks docs, "Bindings" limits:
   * https://developers.cloudflare.com/workers/configuration/versions-and-deployments/rollbacks/).
   */
  migrationTag?: string;
}

export interface Deployment {
  id: string;
  createdOn: string;
  source: string;
  message?: string;
  versions: Array<{ version_id: string; percentage: number }>;
}

export interface Script {
  name: string;
  tag: string;
  createdOn: string;
  versions: Version[];
  /** Newest first, as the API lists them. */
  deployments: Deployment[];
  workersDev: boolean;
  /** Preview URLs on workers.dev (the subdomain's previews_enabled); unset: as workersDev. */
  previewsEnabled?: boolean;
  /** The newest Durable Object migration applied (wrangler sends only newer ones). */
  migrationTag?: string;
  /** Durable Object namespace id per class name. */
  namespaces: Map<string, string>;
  /** Durable Object classes a migration's `deleted_classes` deleted (and no later one re-created). */
  deletedClasses: Set<string>;
}

/** The kinds of account resources a binding names whose deletion the emulator tracks. */
export type ResourceKind = 'kv' | 'r2' | 'queue';

/** Everything the emulator knows: one account's Workers. */
export class CloudflareState {
  readonly scripts = new Map<string, Script>();
  subdomain = 'slipway-test';
  /**
   * Account resources deleted since versions bound them, as `<kind>:<id>` (kv:<namespace id>,
   * r2:<bucket name>, queue:<queue name>): a version binding one cannot be rolled back to. The
   * emulator has no KV, R2 or Queues API; tests mark deletions with deleteResource.
   */
  readonly deletedResources = new Set<string>();

  script(name: string): Script | undefined {
    return this.scripts.get(name);
  }

  ensureScript(name: string): Script {
    let script = this.scripts.get(name);
    if (!script) {
      script = {
        name,
        tag: randomUUID().replace(/-/g, ''),
        createdOn: new Date().toISOString(),
        versions: [],
        deployments: [],
        workersDev: false,
        namespaces: new Map(),
        deletedClasses: new Set(),
      };
      this.scripts.set(name, script);
    }
    return script;
  }

  /** Adds a version; it records the script's migration tag in force now unless `fields` names one. */
  addVersion(script: Script, fields: Omit<Version, 'id' | 'number' | 'createdOn'>): Version {
    const version: Version = {
      migrationTag: script.migrationTag,
      ...fields,
      id: randomUUID(),
      number: script.versions.length + 1,
      createdOn: new Date().toISOString(),
    };
    script.versions.push(version);
    return version;
  }

  deploy(
    script: Script,
    versions: Deployment['versions'],
    message: string | undefined,
    source = 'wrangler',
  ): Deployment {
    const deployment: Deployment = {
      id: randomUUID(),
      createdOn: new Date().toISOString(),
      source,
      message,
      versions,
    };
    script.deployments.unshift(deployment);
    return deployment;
  }

  /** The newest version uploaded (deployed or not): what an upload inherits and keeps bindings from. */
  latestVersion(script: Script): Version | undefined {
    return script.versions[script.versions.length - 1];
  }

  /** Records that an account resource was deleted (see deletedResources). */
  deleteResource(kind: ResourceKind, id: string): void {
    this.deletedResources.add(`${kind}:${id}`);
  }

  /** The namespace of a Durable Object class of a script (created on first use, like the API). */
  namespace(script: Script, className: string): string {
    let id = script.namespaces.get(className);
    if (!id) {
      id = randomUUID().replace(/-/g, '');
      script.namespaces.set(className, id);
    }
    return id;
  }

  /** The version serving 100% (or most) of traffic now. */
  liveVersion(script: Script): Version | undefined {
    const latest = script.deployments[0];
    if (!latest) return undefined;
    const top = [...latest.versions].sort((first, second) => second.percentage - first.percentage)[0];
    return script.versions.find((version) => version.id === top?.version_id);
  }
}
