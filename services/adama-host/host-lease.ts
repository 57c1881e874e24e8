/**
 * @module host-lease
 * Keeps this host's row in the `hosts` table alive. findbind treats a host whose lease expired
 * as dead, so a host that stops heartbeating loses its documents to the next host that asks.
 */
import type { DataService } from '../storage/data-service';
import type { Logger } from '../shared/log';

export interface HostLease { stop(options?: { remove: boolean }): Promise<void> }

export async function startHostLease(data: DataService, hostId: string, address: string, leaseMs: number, log: Logger): Promise<HostLease> {
  await data.heartbeatHost(hostId, address, leaseMs);
  let stopped = false;
  const timer = setInterval(() => {
    data.heartbeatHost(hostId, address, leaseMs).catch((err: unknown) => log.warn({ host: hostId, err: String(err) }, 'lease.heartbeat_failed'));
  }, Math.max(100, Math.floor(leaseMs / 3)));
  timer.unref();
  return {
    async stop(options = { remove: true }) {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (options.remove) await data.removeHost(hostId).catch(() => undefined);
    },
  };
}
