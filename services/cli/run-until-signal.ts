/**
 * @module run-until-signal
 * Keeps a service running until SIGTERM or SIGINT, then closes it gracefully once; a second
 * signal, or a close that takes longer than `forceAfterMs`, exits at once.
 *
 * A signal that arrives while a service is still starting (its ready line may already be out:
 * Kubernetes, a supervisor or a test can stop it at once) must not kill it without its graceful
 * close, so `deferSignals` (main.ts, before any command runs) remembers it and runUntilSignal acts
 * on it as soon as the service is up. A start that takes longer than STARTUP_SIGNAL_GRACE_MS after
 * the signal, or a one-shot command still running then, exits with 128 + the signal; a second
 * signal exits at once.
 */
import type { Logger } from '../shared/log';

/** How long a signal received before the service is up waits for it; a start stuck longer (a
 * database or locator that never answers) must still stop on SIGTERM. */
const STARTUP_SIGNAL_GRACE_MS = 5_000;

let pending: string | undefined;
let giveUp: NodeJS.Timeout | undefined;
const early = (signal: string): void => {
  if (pending !== undefined) process.exit(1);
  pending = signal;
  giveUp = setTimeout(() => process.exit(signal === 'SIGINT' ? 130 : 143), STARTUP_SIGNAL_GRACE_MS);
  giveUp.unref();
};

export function deferSignals(): void {
  process.on('SIGTERM', early);
  process.on('SIGINT', early);
}

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
    // Ours first, then the early ones off: a signal with no listener at all is fatal (Node drops
    // back to the default action) and one queued for a listener that is removed is lost.
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.off('SIGTERM', early);
    process.off('SIGINT', early);
    if (giveUp !== undefined) clearTimeout(giveUp);
    if (pending !== undefined) stop(pending);
  });
}
