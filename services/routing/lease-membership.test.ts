import pino from 'pino';
import { FakeClock } from '../shared/clock';
import type { Logger } from '../shared/log';
import type { HostLease } from '../storage/data-service';
import { hostsFromLeases, startLeaseMembership, StaticMembership, type LeaseMembership } from './lease-membership';
import { runMembershipContract } from './membership.contract';
import type { RoutingHost } from './rendezvous';

const INTERVAL_MS = 1_000;
const lease = (hostId: string, address = `${hostId}:9000`, leaseExpiresAtMs = 10_000): HostLease => ({ hostId, address, leaseExpiresAtMs });
const host = (id: string, weight = 1): RoutingHost => ({ id, address: `${id}:9000`, weight });
const ids = (hosts: readonly RoutingHost[]): string[] => hosts.map((h) => h.id);

/** A `liveHosts` whose answer the test sets; `hold()` makes the next call wait until `release()`. */
class FakeLeases {
  calls = 0;
  answer: HostLease[] | Error = [];
  private held: { release: () => void } | undefined;
  private holdNext = false;
  liveHosts = (): Promise<HostLease[]> => {
    this.calls++;
    const answer = this.answer;
    const settle = (): HostLease[] => { if (answer instanceof Error) throw answer; return answer.map((l) => ({ ...l })); };
    if (!this.holdNext) return Promise.resolve().then(settle);
    this.holdNext = false;
    return new Promise<void>((release) => { this.held = { release }; }).then(settle);
  };
  hold(): void { this.holdNext = true; }
  release(): void { this.held?.release(); this.held = undefined; }
}

function captureLog(): { log: Logger; events: Array<Record<string, unknown>> } {
  const events: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug', messageKey: 'event' }, { write: (line: string) => { events.push(JSON.parse(line) as Record<string, unknown>); } });
  return { log, events };
}

runMembershipContract('StaticMembership', async () => {
  const membership = new StaticMembership([host('b'), host('a')]);
  return { membership, report: async (hosts) => { membership.set(hosts); } };
});

runMembershipContract('lease membership', async () => {
  const data = new FakeLeases();
  let weights = new Map<string, number>();
  data.answer = [lease('b'), lease('a')];
  const membership = startLeaseMembership({ data, pollIntervalMs: INTERVAL_MS, clock: new FakeClock(), weightOf: (l) => weights.get(l.hostId) ?? 1 });
  await membership.ready;
  const report = async (hosts: readonly RoutingHost[]): Promise<void> => {
    data.answer = hosts.map((h) => lease(h.id, h.address));
    weights = new Map(hosts.map((h) => [h.id, h.weight]));
    await membership.pollNow();
  };
  return { membership, report };
});

describe('hostsFromLeases', () => {
  it('turns leases into hosts of weight 1 sorted by id', () => {
    expect(hostsFromLeases([lease('b'), lease('a')])).toEqual([host('a'), host('b')]);
  });

  it('keeps one host per id, from the lease that expires last', () => {
    const hosts = hostsFromLeases([lease('a', 'old:1', 5_000), lease('a', 'new:1', 9_000), lease('a', 'older:1', 1_000)]);
    expect(hosts).toEqual([{ id: 'a', address: 'new:1', weight: 1 }]);
  });

  it('makes weights that are not finite and positive 0', () => {
    const weights: Record<string, number> = { a: 2, b: 0, c: -1, d: NaN, e: Infinity };
    expect(hostsFromLeases(['a', 'b', 'c', 'd', 'e'].map((id) => lease(id)), (l) => weights[l.hostId]!).map((h) => h.weight)).toEqual([2, 0, 0, 0, 0]);
  });
});

describe('StaticMembership', () => {
  it('notifies listeners when the set changes, with the new sorted list', () => {
    const m = new StaticMembership([host('a')]);
    const seen: string[][] = [];
    m.onChange((hosts) => seen.push(ids(hosts)));
    expect(m.set([host('c'), host('b')])).toBe(true);
    expect(seen).toEqual([['b', 'c']]);
    expect(ids(m.current())).toEqual(['b', 'c']);
  });

  it('still notifies the other listeners when one throws, and logs it', () => {
    const { log, events } = captureLog();
    const m = new StaticMembership([], log);
    const after = jest.fn();
    m.onChange(() => { throw new Error('boom'); });
    m.onChange(after);
    m.set([host('a')]);
    expect(after).toHaveBeenCalledTimes(1);
    expect(events.map((e) => e.event)).toEqual(['membership.listener_failed']);
  });

  it('ignores set and subscriptions after close', async () => {
    const m = new StaticMembership([host('a')]);
    const listener = jest.fn();
    m.onChange(listener);
    await m.close();
    expect(m.set([host('b')])).toBe(false);
    m.onChange(listener)();
    expect(listener).not.toHaveBeenCalled();
    expect(ids(m.current())).toEqual(['a']);
  });
});

describe('startLeaseMembership', () => {
  let clock: FakeClock;
  let data: FakeLeases;
  let m: LeaseMembership | undefined;
  const start = (extra: { log?: Logger; weightOf?: (h: HostLease) => number } = {}): LeaseMembership => {
    m = startLeaseMembership({ data, pollIntervalMs: INTERVAL_MS, clock, ...extra });
    return m;
  };

  beforeEach(() => { clock = new FakeClock(); data = new FakeLeases(); });
  afterEach(async () => { await m?.close(); m = undefined; });

  it('polls at once and is ready with the live hosts after the first poll', async () => {
    data.answer = [lease('b'), lease('a')];
    const membership = start();
    expect(data.calls).toBe(1);
    await membership.ready;
    expect(membership.current()).toEqual([host('a'), host('b')]);
  });

  it('polls again pollIntervalMs after the previous poll finished, not before', async () => {
    const membership = start();
    await membership.pollNow();
    clock.advance(INTERVAL_MS - 1);
    expect(data.calls).toBe(1);
    clock.advance(1);
    expect(data.calls).toBe(2);
    await membership.pollNow(); // joins the poll the timer started
    expect(data.calls).toBe(2);
  });

  it('publishes a change only when ids, addresses or weights changed', async () => {
    const weights: Record<string, number> = { a: 1 };
    data.answer = [lease('a')];
    const membership = start({ weightOf: (l) => weights[l.hostId] ?? 1 });
    await membership.ready;
    const seen: RoutingHost[][] = [];
    membership.onChange((hosts) => seen.push([...hosts]));
    await membership.pollNow();
    expect(seen).toEqual([]);
    data.answer = [lease('a', 'a:9001')];
    await membership.pollNow();
    weights.a = 3;
    await membership.pollNow();
    data.answer = [lease('a', 'a:9001'), lease('b')];
    await membership.pollNow();
    expect(seen).toEqual([
      [{ id: 'a', address: 'a:9001', weight: 1 }],
      [{ id: 'a', address: 'a:9001', weight: 3 }],
      [{ id: 'a', address: 'a:9001', weight: 3 }, host('b')],
    ]);
  });

  it('keeps the last known hosts when a poll fails, and logs the failure', async () => {
    const { log, events } = captureLog();
    data.answer = [lease('a'), lease('b')];
    const membership = start({ log });
    await membership.ready;
    const listener = jest.fn();
    membership.onChange(listener);
    data.answer = new Error('connection reset');
    await membership.pollNow();
    expect(ids(membership.current())).toEqual(['a', 'b']);
    expect(listener).not.toHaveBeenCalled();
    expect(events.at(-1)).toMatchObject({ event: 'membership.poll_failed', failures: 1, hosts: 2, err: { message: 'connection reset' } });
  });

  it('keeps polling after a failure and logs the recovery', async () => {
    const { log, events } = captureLog();
    data.answer = new Error('down');
    const membership = start({ log });
    await membership.pollNow();
    data.answer = [lease('a')];
    clock.advance(INTERVAL_MS);
    await membership.pollNow();
    expect(ids(membership.current())).toEqual(['a']);
    expect(events.map((e) => e.event)).toEqual(['membership.poll_failed', 'membership.changed', 'membership.poll_recovered']);
  });

  it('logs a long run of failed polls at failures 1, 2, 4, 8, ... rather than at every poll', async () => {
    const { log, events } = captureLog();
    data.answer = new Error('down');
    const membership = start({ log });
    for (let i = 0; i < 10; i++) {
      await membership.pollNow();
      clock.advance(INTERVAL_MS);
    }
    expect(events.filter((e) => e.event === 'membership.poll_failed').map((e) => e.failures)).toEqual([1, 2, 4, 8]);
  });

  it('treats a liveHosts that throws synchronously as a failed poll and keeps polling', async () => {
    let calls = 0;
    const liveHosts = (): Promise<HostLease[]> => { calls++; throw new Error('sync'); };
    const membership = startLeaseMembership({ data: { liveHosts }, pollIntervalMs: INTERVAL_MS, clock });
    m = membership;
    await membership.pollNow();
    clock.advance(INTERVAL_MS);
    await membership.pollNow();
    expect(calls).toBe(2);
    expect(membership.current()).toEqual([]);
  });

  it('is not ready until a poll succeeds', async () => {
    data.answer = new Error('down');
    const membership = start();
    let ready = false;
    void membership.ready.then(() => { ready = true; });
    await membership.pollNow();
    expect(ready).toBe(false);
    data.answer = [];
    await membership.pollNow();
    expect(ready).toBe(true);
  });

  it('empties the view when a successful poll finds no live host', async () => {
    data.answer = [lease('a')];
    const membership = start();
    await membership.ready;
    data.answer = [];
    await membership.pollNow();
    expect(membership.current()).toEqual([]);
  });

  it('never overlaps a slow poll with the next one', async () => {
    const membership = start();
    await membership.pollNow();
    data.hold();
    clock.advance(INTERVAL_MS);
    expect(data.calls).toBe(2);
    clock.advance(10 * INTERVAL_MS);
    const joined = membership.pollNow();
    expect(data.calls).toBe(2);
    data.release();
    await joined;
    clock.advance(INTERVAL_MS - 1);
    expect(data.calls).toBe(2);
    clock.advance(1);
    expect(data.calls).toBe(3);
  });

  it('restarts the interval when polled on demand', async () => {
    const membership = start();
    await membership.pollNow();
    clock.advance(INTERVAL_MS / 2);
    await membership.pollNow();
    expect(data.calls).toBe(2);
    clock.advance(INTERVAL_MS - 1);
    expect(data.calls).toBe(2);
    clock.advance(1);
    expect(data.calls).toBe(3);
  });

  it('stops polling and publishing once closed, even for the poll in flight', async () => {
    data.answer = [lease('a')];
    const membership = start();
    await membership.ready;
    const listener = jest.fn();
    membership.onChange(listener);
    data.hold();
    clock.advance(INTERVAL_MS);
    data.answer = [lease('b')];
    const closing = membership.close();
    data.release();
    await closing;
    clock.advance(10 * INTERVAL_MS);
    await membership.pollNow();
    expect(data.calls).toBe(2);
    expect(listener).not.toHaveBeenCalled();
    expect(ids(membership.current())).toEqual(['a']);
    await membership.close(); // idempotent
  });

  it('rejects ready when closed before any poll succeeded', async () => {
    data.answer = new Error('down');
    const membership = start();
    await membership.close();
    await expect(membership.ready).rejects.toThrow('closed before its first successful poll');
  });

  it('refuses a poll interval that is not a positive number', () => {
    for (const pollIntervalMs of [0, -5, NaN, Infinity]) {
      expect(() => startLeaseMembership({ data, pollIntervalMs, clock })).toThrow(RangeError);
    }
  });
});
