import { UserError } from '../../lib/core/errors.js';
import type { HealthMode, VersionProof } from '../../lib/health/mode.js';

/**
 * The health inputs smoke-test and deploy (its gradual gate) share: version-header and
 * version-path, the same names in both action.yml files.
 */
/** A header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Where a basic or json answer names its version: a header (either mode) or a JSON pointer (json).
 * Extended reads version.id from its document, so neither is taken there.
 */
export function parseVersionProof(
  health: HealthMode,
  header: string,
  pointer: string,
): VersionProof | undefined {
  if (!header && !pointer) return undefined;
  const given = header ? 'version-header' : 'version-path';
  if (health === 'extended')
    throw new UserError(
      `Input "${given}" is for health basic or json: the extended document names its version in version.id.`,
    );
  if (header && pointer)
    throw new UserError(
      `Inputs "version-header" and "version-path" are both given: give one place the version is read from.`,
    );
  if (header && !HEADER_NAME.test(header))
    throw new UserError(`Input "version-header" is "${header}": give a header name such as x-version.`);
  if (pointer && health !== 'json')
    throw new UserError(
      'Input "version-path" needs health: json (basic does not read the body): give version-header, or health: json.',
    );
  if (pointer && !pointer.startsWith('/'))
    throw new UserError(
      `Input "version-path" is "${pointer}": give a JSON pointer into the body, such as /version or /build/id.`,
    );
  return header ? { header } : { pointer };
}
