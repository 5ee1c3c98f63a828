/** Small text helpers for messages built from tool output. */

/** The last non-blank line of a tool's output, trimmed: what a one-line error quotes. */
export function lastLine(text: string): string {
  return (
    text
      .trim()
      .split(/\r?\n/)
      .filter((line) => line.trim())
      .pop()
      ?.trim() ?? ''
  );
}

/** "1 attempt", "3 attempts". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * What tells one image from another in a reference: the digest of `repo@sha256:…`, the tag of
 * `host/repo:tag`, else the text itself (an image id, a build identity).
 */
export function imageIdentity(reference: string): string {
  const at = reference.indexOf('@');
  if (at >= 0) return reference.slice(at + 1);
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  return colon > slash && !/^sha256:/.test(reference) ? reference.slice(colon + 1) : reference;
}
