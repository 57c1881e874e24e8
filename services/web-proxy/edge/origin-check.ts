/**
 * @module origin-check
 * Which browser pages may open sockets. Browsers always send `Origin` on a WebSocket upgrade and
 * the page cannot forge it, so this stops another site from using a visitor's browser against us
 * (cross-site WebSocket hijacking). Non-browser clients send no Origin and are allowed: they prove
 * who they are with their token, not with where they run.
 */

/**
 * Allowed: no Origin; the proxy's own origin (same host, e.g. the demo page it serves); an exact
 * entry of `allowed` (scheme://host[:port]); or `*` in `allowed`.
 */
export function isOriginAllowed(origin: string | undefined, hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*')) return true;
  let parsed: URL;
  try { parsed = new URL(origin); } catch { return false; }
  if (hostHeader !== undefined && parsed.host === hostHeader) return true;
  return allowed.some((a) => a.replace(/\/+$/, '') === parsed.origin);
}
