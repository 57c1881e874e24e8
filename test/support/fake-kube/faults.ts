/**
 * @module faults
 * Injected failures: the next matching requests fail with the Status a real server (or a proxy in
 * front of it) would send. Rules are tried in the order they were added; each counts down `times`.
 */
import { ApiError, errors } from './errors';

export interface FaultRule {
  /** HTTP method, any case; all methods when omitted. */
  method?: string;
  /** A string must equal the path (no query); a RegExp is tested against path and query (`/api/v1/pods?watch=true`). */
  path?: RegExp | string;
  status: 409 | 429 | 500 | 503;
  /** How many requests fail (default 1). `Infinity` until `clearFaults()`. */
  times?: number;
  /** For 429 (default 1) and 503: the `Retry-After` header and `details.retryAfterSeconds`. */
  retryAfterSeconds?: number;
}

interface Armed { rule: FaultRule; left: number }

function statusFor(rule: FaultRule): ApiError {
  switch (rule.status) {
    case 409: return errors.conflict({ resource: 'fault', group: '', name: 'injected' }, 'the object has been modified; please apply your changes to the latest version and try again (injected fault)');
    case 429: return errors.tooManyRequests(rule.retryAfterSeconds ?? 1);
    case 500: return errors.internal('injected fault');
    case 503: {
      const e = errors.unavailable('the server is currently unable to handle the request (injected fault)');
      if (rule.retryAfterSeconds !== undefined) e.status.details = { retryAfterSeconds: rule.retryAfterSeconds };
      return e;
    }
  }
}

export class Faults {
  private armed: Armed[] = [];

  add(rule: FaultRule): void {
    this.armed.push({ rule, left: rule.times ?? 1 });
  }

  clear(): void { this.armed = []; }

  /** The failure for this request, if a rule matches (consuming one of its `times`). */
  take(method: string, path: string, query: string): ApiError | undefined {
    const hit = this.armed.find(({ rule, left }) => left > 0
      && (rule.method === undefined || rule.method.toUpperCase() === method.toUpperCase())
      && (rule.path === undefined || (typeof rule.path === 'string' ? rule.path === path : rule.path.test(path + query))));
    if (!hit) return undefined;
    hit.left--;
    this.armed = this.armed.filter((a) => a.left > 0);
    return statusFor(hit.rule);
  }
}
