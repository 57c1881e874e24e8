/**
 * @module jose
 * The one place that loads `jose` (JWT/JWKS). jose 6 ships only as an ES module: Node 20.19+
 * loads it with a plain require(), but Jest's module registry (before Node 24.9) refuses ES
 * modules, so under Jest we hand the resolved path to Node's own loader. Everything else imports
 * `jose` from here, typed by the package's own declarations.
 */
import type * as Jose from 'jose';

function loadJose(): typeof Jose {
  try {
    return require('jose') as typeof Jose;
  } catch {
    const nodeModule = require('node:module') as { _load(request: string, parent: null, isMain: boolean): unknown };
    return nodeModule._load(require.resolve('jose'), null, false) as typeof Jose;
  }
}

export const jose: typeof Jose = loadJose();
export type { JSONWebKeySet, JWK, JWTVerifyGetKey, JWTPayload } from 'jose';
