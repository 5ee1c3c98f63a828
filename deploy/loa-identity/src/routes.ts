/**
 * What the gateway serves besides health. Kept apart so the dev loop's hot reload has an obvious
 * place to change: edit the greeting and the running dev container serves it within a second.
 */
export const GREETING = 'LOA gateway: core up; deferred tools load in the background.';

export function rootDocument(version: { id: string; commit: string }): Record<string, unknown> {
  return { service: 'loa-gateway', message: GREETING, version };
}
