/**
 * @module urls — URLs as they may appear in logs: a connection string's password never does.
 */

/** postgres://user:secret@host/db → postgres://user:***@host/db; something that is not a URL is not echoed. */
export function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Scheme, host and path only: no credentials, no query (an exporter URL may carry a token in either). */
export function withoutCredentials(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
