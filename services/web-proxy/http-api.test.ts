import { AdamaError, E } from '../shared/errors';
import { httpStatusOf } from './http-api';

describe('httpStatusOf', () => {
  it('gives every registered error a status, and a "retry later" status (429, 503, 504) only to retryable ones', () => {
    for (const entry of Object.values(E)) {
      const status = httpStatusOf(new AdamaError(entry, entry.description));
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
      if (!entry.retry) expect([429, 503, 504]).not.toContain(status);
    }
  });

  it('maps the kinds a caller branches on', () => {
    expect(httpStatusOf(new AdamaError(E.RATE_LIMITED))).toBe(429);
    expect(httpStatusOf(new AdamaError(E.MESSAGE_TOO_LARGE))).toBe(413);
    expect(httpStatusOf(new AdamaError(E.DOCUMENT_NOT_FOUND))).toBe(404);
    expect(httpStatusOf(new AdamaError(E.HTTP_CHANNEL_DENIED))).toBe(403);
    expect(httpStatusOf(new AdamaError(E.TOKEN_EXPIRED))).toBe(401);
    expect(httpStatusOf(new AdamaError(E.HOST_UNREACHABLE))).toBe(503);
    expect(httpStatusOf(new Error('not ours'))).toBe(500);
  });
});
