/**
 * @module log
 * Structured JSON logs (pino). Fixed field names across services: svc, host, space, key, seq,
 * epoch, conn, peer, code, ms; the message is an event name such as `append.fenced`.
 * Never log tokens or secrets: `redact` masks the usual suspects.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(svc: string, level: string = process.env.ADAMA_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { svc },
    messageKey: 'event',
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['token', '*.token', 'password', '*.password', 'authorization', '*.authorization'], censor: '[redacted]' },
  });
}

/** A logger that drops everything; for tests and benchmarks that assert on behaviour, not logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
