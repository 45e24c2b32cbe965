/** Longest `Prefer: wait=N` honoured (seconds), as for the long-poll's `?wait=`. */
export const MAX_PREFERRED_WAIT_SECONDS = 30;

/**
 * The `wait` preference of a `Prefer` header (RFC 7240), in whole seconds 1..30; undefined when
 * absent, malformed or 0 (a preference the server cannot honour is ignored, as the RFC says).
 * Larger values are capped at 30.
 */
export function preferredWait(header: string | undefined): number | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*(?:;.*)?$/i.exec(part);
    if (!match) continue;
    const seconds = Number(match[1]);
    return seconds >= 1 ? Math.min(seconds, MAX_PREFERRED_WAIT_SECONDS) : undefined;
  }
  return undefined;
}
