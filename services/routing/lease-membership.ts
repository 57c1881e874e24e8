/**
 * @module lease-membership
 * Membership from the `hosts` table leases: the fallback source of docs/architecture.md §6 when gossip
 * is unavailable, and the only one a single proxy needs. A thin shell: it polls
 * `DataService.liveHosts()`, turns leases into hosts with the pure `hostsFromLeases`, and
 * publishes through a `StaticMembership`, which notifies only on a real change.
 *
 * A failed poll keeps the last known view: a database blip must not empty the routing table
 * (hosts keep serving the documents they own; only new placements need the database).
 * Polls are chained with setTimeout, never setInterval, so a slow query cannot overlap the next.
 */
import { systemClock, type Clock, type TimerHandle } from '../shared/clock';
import { silentLogger, type Logger } from '../shared/log';
import type { DataService, HostLease } from '../storage/data-service';
import { diffMembers, sameMembers, sortHosts, type Membership } from './membership';
import type { RoutingHost } from './rendezvous';
import { once } from '../shared/once';

/** A membership whose list only changes when told: for tests and single-process use, and the publisher under the lease poller. */
export class StaticMembership implements Membership {
  private hosts: readonly RoutingHost[];
  private readonly listeners = new Set<(hosts: readonly RoutingHost[]) => void>();
  private closed = false;

  constructor(hosts: readonly RoutingHost[] = [], private readonly log: Logger = silentLogger) {
    this.hosts = sortHosts(hosts);
  }

  current(): readonly RoutingHost[] { return this.hosts; }

  /** Replaces the list and notifies listeners, unless it is the same set or we are closed. Returns whether it changed. */
  set(hosts: readonly RoutingHost[]): boolean {
    if (this.closed || sameMembers(this.hosts, hosts)) return false;
    this.hosts = sortHosts(hosts);
    for (const listener of [...this.listeners]) {
      try { listener(this.hosts); } catch (err) { this.log.error({ err }, 'membership.listener_failed'); }
    }
    return true;
  }

  onChange(listener: (hosts: readonly RoutingHost[]) => void): () => void {
    if (this.closed) return () => {};
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
  }
}

/**
 * Leases to routing hosts: one per host id (the lease expiring last wins if the table ever
 * repeats one), weight from `weightOf` with anything not finite and > 0 made 0 (last resort),
 * sorted by id. Expiry is not re-checked here: `liveHosts()` already filtered on the database
 * clock, and comparing with ours would add clock skew.
 */
export function hostsFromLeases(leases: readonly HostLease[], weightOf: (h: HostLease) => number = () => 1): readonly RoutingHost[] {
  const latest = new Map<string, HostLease>();
  for (const lease of leases) {
    const seen = latest.get(lease.hostId);
    if (seen === undefined || lease.leaseExpiresAtMs > seen.leaseExpiresAtMs) latest.set(lease.hostId, lease);
  }
  return sortHosts([...latest.values()].map((lease) => {
    const w = weightOf(lease);
    return { id: lease.hostId, address: lease.address, weight: Number.isFinite(w) && w > 0 ? w : 0 };
  }));
}

export interface LeaseMembershipOptions {
  /** Source of the leases; only `liveHosts` is used. */
  data: Pick<DataService, 'liveHosts'>;
  /**
   * Pause between the end of one poll and the start of the next, ms. Lower notices a dead host
   * sooner but costs one query per proxy per interval; a dead host is seen at worst after its
   * lease expires plus this interval plus the query time.
   */
  pollIntervalMs: number;
  /** Timers (default: the system clock, whose timers are unref'd so polling never keeps the process alive). */
  clock?: Clock;
  log?: Logger;
  /** A host's routing weight (default 1 for all). */
  weightOf?: (h: HostLease) => number;
}

export interface LeaseMembership extends Membership {
  /** Resolves after the first successful poll; rejects if closed before one succeeded. */
  readonly ready: Promise<void>;
  /** Polls now, or joins the poll in flight; resolves once its result is published. Never rejects. */
  pollNow(): Promise<void>;
}

/** Starts polling at once (the first poll begins synchronously) and every `pollIntervalMs` after. */
export function startLeaseMembership(opts: LeaseMembershipOptions): LeaseMembership {
  if (!(Number.isFinite(opts.pollIntervalMs) && opts.pollIntervalMs > 0)) {
    throw new RangeError(`pollIntervalMs must be a positive number of ms, got ${opts.pollIntervalMs}`);
  }
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger;
  const view = new StaticMembership([], log);
  let timer: TimerHandle | undefined;
  let inFlight: Promise<void> | undefined;
  let closed = false;
  let failures = 0;
  let isReady = false;
  let resolveReady: () => void = () => {};
  let rejectReady: (err: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });
  // The clock's timers are unref'd so that polling never keeps a running process alive; but until
  // the first poll succeeds a caller may be awaiting `ready` with nothing else holding the process
  // open (a proxy whose locator is not up yet would end quietly with exit 0).
  const holdOpen = setInterval(() => undefined, 60_000);
  const release = (): void => clearInterval(holdOpen);
  void ready.then(release, release);
  ready.catch(() => {}); // closing before the first success must not be an unhandled rejection

  /** Always async, even if `liveHosts` throws synchronously, so `finally` below runs after `inFlight` is set. */
  const fetchLeases = async (): Promise<HostLease[]> => opts.data.liveHosts();

  /** One poll; clears `inFlight` and schedules the next as soon as its result is published. */
  async function pollOnce(): Promise<void> {
    const startedMs = clock.nowMs();
    try {
      const leases = await fetchLeases();
      if (closed) return;
      const before = view.current();
      const hosts = hostsFromLeases(leases, opts.weightOf);
      if (view.set(hosts)) {
        log.info({ hosts: hosts.length, ...diffMembers(before, hosts) }, 'membership.changed');
        if (hosts.length === 0) log.warn('membership.no_live_hosts');
      }
      if (failures > 0) log.info({ failures }, 'membership.poll_recovered');
      failures = 0;
      if (!isReady) { isReady = true; resolveReady(); }
    } catch (err) {
      if (closed) return;
      failures++;
      // Failures 1, 2, 4, 8, ...: an outage is visible at once and its length stays readable,
      // without a warning per poll for as long as it lasts.
      if ((failures & (failures - 1)) === 0) log.warn({ err, failures, ms: clock.nowMs() - startedMs, hosts: view.current().length }, 'membership.poll_failed');
    } finally {
      inFlight = undefined;
      schedule();
    }
  }

  function schedule(): void {
    if (closed) return;
    timer = clock.setTimeout(() => { timer = undefined; void pollNow(); }, opts.pollIntervalMs);
  }

  function pollNow(): Promise<void> {
    if (closed) return Promise.resolve();
    if (inFlight !== undefined) return inFlight;
    if (timer !== undefined) { clock.clearTimeout(timer); timer = undefined; }
    inFlight = pollOnce();
    return inFlight;
  }

  /** Every call returns the same promise, which settles once the poll in flight has finished. */
  const close = once(async () => {
    closed = true;
    if (timer !== undefined) { clock.clearTimeout(timer); timer = undefined; }
    if (!isReady) rejectReady(new Error('lease membership closed before its first successful poll'));
    await inFlight;
    await view.close();
  });

  void pollNow();
  return {
    ready,
    pollNow,
    close,
    current: () => view.current(),
    onChange: (listener) => view.onChange(listener),
  };
}
