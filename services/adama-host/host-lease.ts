/**
 * @module host-lease
 * Keeps this host's row in the `hosts` table alive. findbind treats a host whose lease expired
 * as dead, so a host that stops heartbeating loses its documents to the next host that asks.
 * Heartbeats are chained (the next is scheduled when the previous settles), so a slow database
 * never has two in flight; stop() waits for the one in flight, then ends the lease.
 */
import type { DataService } from '../storage/data-service';
import type { Logger } from '../shared/log';

export interface HostLease { stop(options?: { remove: boolean }): Promise<void> }

export async function startHostLease(data: DataService, hostId: string, address: string, leaseMs: number, log: Logger): Promise<HostLease> {
  await data.heartbeatHost(hostId, address, leaseMs);
  const periodMs = Math.max(100, Math.floor(leaseMs / 3));
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const beat = (): void => {
    timer = undefined;
    inFlight = data.heartbeatHost(hostId, address, leaseMs)
      .catch((err: unknown) => log.warn({ host: hostId, err: String(err) }, 'lease.heartbeat_failed'))
      .finally(() => { if (!stopped) schedule(); });
  };
  const schedule = (): void => {
    timer = setTimeout(beat, periodMs);
    timer.unref();
  };
  schedule();
  return {
    async stop(options = { remove: true }) {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      if (options.remove) await data.expireHost(hostId).catch(() => undefined);
    },
  };
}
