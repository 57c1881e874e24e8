/**
 * @module run-until-signal
 * Keeps a service running until SIGTERM or SIGINT, then closes it gracefully once; a second
 * signal, or a close that takes longer than `forceAfterMs`, exits at once.
 */
import type { Logger } from '../shared/log';

export function runUntilSignal(close: () => Promise<void>, log: Logger, forceAfterMs: number): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) { log.warn({ signal }, 'process.forced_exit'); process.exit(1); }
      stopping = true;
      log.info({ signal }, 'process.stopping');
      const force = setTimeout(() => { log.error({ ms: forceAfterMs }, 'process.stop_timeout'); process.exit(1); }, forceAfterMs);
      force.unref();
      close().then(
        () => { log.info({}, 'process.stopped'); resolve(0); },
        (err: unknown) => { log.error({ err: String(err) }, 'process.stop_failed'); resolve(1); },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
