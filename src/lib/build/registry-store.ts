import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes } from '../core/bytes.js';
import type { Deps, Fetch } from '../core/io.js';
import { dockerLogin, maskCredentials } from './registry-auth.js';
import { RegistryClient } from './registry-client.js';
import { tagForKey, type RegistryRepository } from './registry-ref.js';
import { CorruptEntryError, type StageStore, type StoreTransfer } from './store.js';

/**
 * The format of a stage entry in a registry: an OCI image manifest used for an artifact, as the OCI
 * image spec (github.com/opencontainers/image-spec, manifest.md "Guidelines for Artifact Usage",
 * case 2: "artifact without config") describes it: `artifactType` set, the config the empty
 * descriptor, the one layer the gzip'd tar of the stage's outputs.
 */
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** Our artifact's type: RFC 6838 vendor tree, as manifest.md's `artifactType` requires. */
export const ARTIFACT_TYPE = 'application/vnd.slipway.stage.v1';
/** The archive the other stores keep, as a layer: a gzip'd tar (image-spec media-types.md). */
export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';
/**
 * The empty descriptor (manifest.md, "Guidance for an Empty Descriptor"): the blob `{}`, size 2,
 * sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a.
 */
export const EMPTY_JSON = Buffer.from('{}');
export const EMPTY_DESCRIPTOR = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;

/**
 * Annotations (image-spec annotations.md): the pre-defined `org.opencontainers.image.created` and
 * `.title` where they fit; the key and stage under our own reverse-domain prefix, as the rules ask
 * of keys the spec does not define.
 */
export const ANNOTATIONS = {
  created: 'org.opencontainers.image.created',
  title: 'org.opencontainers.image.title',
  key: 'io.slipway.stage.key',
  stage: 'io.slipway.stage.name',
} as const;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface ArtifactManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations: Record<string, string>;
}

/** The manifest of one entry. */
export function artifactManifest(entry: {
  key: string;
  stage: string;
  layer: { digest: string; size: number };
  created: Date;
}): ArtifactManifest {
  return {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    artifactType: ARTIFACT_TYPE,
    config: { ...EMPTY_DESCRIPTOR },
    layers: [
      {
        mediaType: LAYER_MEDIA_TYPE,
        ...entry.layer,
        annotations: { [ANNOTATIONS.title]: `${entry.key}.tar.gz` },
      },
    ],
    annotations: {
      [ANNOTATIONS.created]: entry.created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      [ANNOTATIONS.title]: `Slipway stage cache: ${entry.stage}`,
      [ANNOTATIONS.key]: entry.key,
      [ANNOTATIONS.stage]: entry.stage,
    },
  };
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;

/**
 * The layer an entry's manifest names, once the manifest is known to be ours for this key: an OCI
 * image manifest of our artifactType whose annotated key is the key, with one gzip'd tar layer.
 * Anything else under our tag is refused.
 */
export function entryLayer(bytes: Buffer, contentType: string | undefined, key: string): Descriptor {
  let manifest: Partial<ArtifactManifest>;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as Partial<ArtifactManifest>;
  } catch {
    throw new CorruptEntryError('its manifest is not JSON');
  }
  // spec.md, "Pulling manifests": a mediaType field must match the Content-Type.
  if (manifest.mediaType !== MANIFEST_MEDIA_TYPE || (contentType && contentType !== MANIFEST_MEDIA_TYPE))
    throw new CorruptEntryError(
      `its manifest is a ${contentType ?? manifest.mediaType}, not an OCI image manifest`,
    );
  if (manifest.artifactType !== ARTIFACT_TYPE)
    throw new CorruptEntryError(
      `its artifactType is ${manifest.artifactType ?? 'missing'}, not ${ARTIFACT_TYPE}`,
    );
  if (manifest.annotations?.[ANNOTATIONS.key] !== key)
    throw new CorruptEntryError(
      `it is annotated with another key (${manifest.annotations?.[ANNOTATIONS.key] ?? 'none'})`,
    );
  const layer = manifest.layers?.length === 1 ? manifest.layers[0] : undefined;
  if (
    !layer ||
    layer.mediaType !== LAYER_MEDIA_TYPE ||
    !SHA256.test(layer.digest) ||
    !Number.isSafeInteger(layer.size)
  )
    throw new CorruptEntryError(`its manifest does not name one ${LAYER_MEDIA_TYPE} layer by sha256`);
  return layer;
}

export interface RegistryStoreOptions {
  repository: RegistryRepository;
  /** cache-registry-token (masked): used instead of the runner's docker login. */
  token?: string;
  /** Why this run only reads (a pull request); undefined: it pushes too. */
  readOnly?: string;
  /** Where restored archives are written (the build's private directory). */
  dir: string;
  deps: Pick<Deps, 'run' | 'log' | 'env' | 'now'> & { fetch?: Fetch };
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * Stage entries as OCI artifacts in a registry repository, one tag per key (tagForKey): shared by
 * every runner, job and repository that can read the registry, with no size ceiling but the
 * registry's. Restores are verified (the manifest against the registry's digest of it, the layer
 * against its descriptor's sha256 and size, while it streams); a mismatch is a CorruptEntryError. A
 * push moves the tag to the new manifest, so an entry that was refused is replaced by the rebuild's.
 */
export class RegistryStore implements StageStore {
  readonly kind = 'registry';
  readonly location: string;
  readonly readOnly?: string;
  private readonly client: RegistryClient;
  private readonly transfers = new Map<string, StoreTransfer>();
  /** Layer digests whose bytes failed their check in this run: uploaded again, never taken as present. */
  private readonly refused = new Set<string>();

  constructor(private readonly options: RegistryStoreOptions) {
    const { repository, token, deps } = options;
    this.location = `the registry ${repository.reference}`;
    if (options.readOnly) this.readOnly = options.readOnly;
    // Without the fetch port (a caller that gave none) every call is a store fault, never a failed build.
    const fetcher: Fetch =
      deps.fetch ?? (() => Promise.reject(new Error('the registry stage store needs the fetch port')));
    if (token) maskCredentials({ token }, deps.log);
    const lookup = async () => (token ? { token } : dockerLogin(repository.credentialsKey, deps));
    this.client = new RegistryClient(repository, { ...deps, fetch: fetcher }, lookup, token);
  }

  transfer(key: string): StoreTransfer | undefined {
    return this.transfers.get(key);
  }

  async restore(key: string): Promise<string | undefined> {
    const tag = tagForKey(key);
    const found = await this.client.getManifest(tag, MANIFEST_MEDIA_TYPE);
    if (!found) return undefined;
    const manifest = sha256(found.bytes);
    // spec.md, "Pulling manifests": a Docker-Content-Digest that is used must match the manifest.
    if (found.digestHeader && found.digestHeader !== manifest)
      throw new CorruptEntryError(
        `the registry names its manifest ${found.digestHeader}, its bytes hash to ${manifest}`,
      );
    const layer = entryLayer(found.bytes, found.contentType, key);
    mkdirSync(this.options.dir, { recursive: true });
    const file = join(this.options.dir, `${tag}.tar.gz`);
    const got = await this.client.downloadBlob(layer.digest, layer.size, file);
    if (got.digest !== layer.digest || got.bytes !== layer.size) {
      rmSync(file, { force: true });
      this.refused.add(layer.digest);
      throw new CorruptEntryError(
        `its manifest ${manifest} names ${layer.digest} (${layer.size} bytes), the registry sent ${got.bytes > layer.size ? `more than ${layer.size} bytes` : `${got.digest} (${got.bytes} bytes)`}`,
      );
    }
    this.transfers.set(key, { pulled: got.bytes, manifest });
    this.options.deps.log.info(
      `Pulled ${formatBytes(got.bytes)} from ${this.options.repository.reference}:${tag} (manifest ${manifest}); its sha256 matches.`,
    );
    return file;
  }

  async save(key: string, archive: string, stage = key): Promise<void> {
    if (this.readOnly) return;
    const bytes = readFileSync(archive);
    const layer = { digest: sha256(bytes), size: bytes.length };
    // Blobs first, the manifest last (spec.md, "Push"): the registry refuses a manifest whose blobs it lacks.
    const pushed =
      (await this.pushBlob(EMPTY_DESCRIPTOR.digest, EMPTY_JSON)) + (await this.pushBlob(layer.digest, bytes));
    const created = this.options.deps.now();
    const body = Buffer.from(JSON.stringify(artifactManifest({ key, stage, layer, created })));
    const manifest = sha256(body);
    const tag = tagForKey(key);
    const stored = await this.client.putManifest(tag, body, MANIFEST_MEDIA_TYPE);
    // spec.md, "Pushing Manifests": the Docker-Content-Digest "MUST be equal to the client provided digest".
    if (stored && stored !== manifest)
      throw new Error(`the registry stored the manifest as ${stored}, not ${manifest}`);
    this.transfers.set(key, { pushed, manifest });
    this.options.deps.log.info(
      `Pushed ${stage}'s outputs to ${this.options.repository.reference}:${tag}: ${formatBytes(pushed)} sent` +
        `${pushed < layer.size ? ` (the registry already had the ${formatBytes(layer.size)} layer)` : ''}; manifest ${manifest}.`,
    );
  }

  /**
   * A blob the registry lacks is uploaded; the bytes sent (0 when it had it). A rebuild with the very
   * bytes of a refused layer uploads them again rather than trust the copy that failed (a registry
   * may keep its first copy of a digest, distribution does: the warning then repeats until the
   * registry's copy is repaired).
   */
  private async pushBlob(digest: string, bytes: Buffer): Promise<number> {
    if (!this.refused.has(digest) && (await this.client.blobExists(digest))) return 0;
    await this.client.uploadBlob(digest, bytes);
    return bytes.length;
  }

  /** A refused entry is replaced by the rebuild's push (its tag moves); unreferenced blobs are the registry's to collect. */
  async evict(): Promise<void> {}
}
