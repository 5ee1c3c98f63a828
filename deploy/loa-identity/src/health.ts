import { CAPABILITIES, type Capability, type Manifest } from '../tool-loader/manifest.js';
import type { LoaderState, ToolStatus } from '../tool-loader/state.js';

/** The extended health document (contract in the kit's design: boot-test and smoke-test read it). */
export interface ExtendedHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  version: { id: string; commit: string };
  uptimeSeconds: number;
  tools: {
    loading: boolean;
    complete: boolean;
    status: Record<string, ToolStatus>;
    /** Why a tool failed or is blocked. */
    errors?: Record<string, string>;
  };
  capabilities: Record<Capability, boolean>;
  /** Why the status is not healthy, in words. */
  reasons?: string[];
}

export interface HealthInputs {
  manifest?: Manifest;
  /** Set when the manifest could not be read: tools are unknown, the core still serves. */
  manifestError?: string;
  state?: LoaderState;
  deferredTools: boolean;
  version: { id: string; commit: string };
  startedAt: number;
  now: number;
  /** Set when the gateway cannot serve its core (its configuration failed to load). */
  coreError?: string;
}

/**
 * healthy: every tool installed (or deferred tools off); degraded: tools pending, installing, failed
 * or blocked, or the manifest is unusable (the core still serves); unhealthy: the core cannot serve.
 */
export function extendedHealth(h: HealthInputs): ExtendedHealth {
  const names = h.manifest?.tools.map((t) => t.name) ?? [];
  const status: Record<string, ToolStatus> = {};
  const errors: Record<string, string> = {};
  for (const n of names) {
    const s = h.state?.tools[n];
    status[n] = s?.status ?? 'pending';
    if (s?.error && (s.status === 'failed' || s.status === 'blocked')) errors[n] = s.error;
  }
  const capabilities = Object.fromEntries(CAPABILITIES.map((c) => [c, false])) as Record<Capability, boolean>;
  for (const t of h.manifest?.tools ?? [])
    if (t.capability && status[t.name] === 'installed') capabilities[t.capability] = true;

  const manifestError = h.manifestError ?? h.state?.manifestError;
  const finished = names.every((n) => ['installed', 'failed', 'blocked'].includes(status[n]!));
  const complete =
    !h.deferredTools || Boolean(manifestError) || (finished && (h.state?.complete ?? names.length === 0));
  const reasons: string[] = [];
  if (h.coreError) reasons.push(`core: ${h.coreError}`);
  if (h.deferredTools) {
    if (manifestError) reasons.push(`tool manifest: ${manifestError}`);
    for (const n of names)
      if (status[n] !== 'installed')
        reasons.push(`tool ${n} ${status[n]}${errors[n] ? `: ${errors[n]}` : ''}`);
  }
  const doc: ExtendedHealth = {
    status: h.coreError ? 'unhealthy' : reasons.length ? 'degraded' : 'healthy',
    version: h.version,
    uptimeSeconds: Math.floor((h.now - h.startedAt) / 1000),
    tools: {
      loading: h.deferredTools && !complete,
      complete,
      status,
      ...(Object.keys(errors).length ? { errors } : {}),
    },
    capabilities,
  };
  if (reasons.length) doc.reasons = reasons;
  return doc;
}
