import { resolveGossipConfig } from './config';
import { HeapClock } from './heap-clock';
import { MemoryNetwork } from './memory-transport';
import { seededRng } from './rng';
import { GossipRunner } from './runner';
import { formatSimulationTable, runSimulation } from './simulation';

describe('runners over the memory network', () => {
  it('join from one seed each, then remove a killed member within the failure timeout plus spread', () => {
    const cfg = resolveGossipConfig();
    const clock = new HeapClock();
    const net = new MemoryNetwork({ clock, rng: seededRng(7), lossRate: 0, minDelayMs: 1, maxDelayMs: 5 });
    const runners = ['a', 'b', 'c', 'd'].map((id, i) => new GossipRunner({ cfg, clock, rng: seededRng(i + 1), transport: net.transport(id), seeds: i === 0 ? [] : ['a'], self: { id, address: `${id}:1`, role: 'host', weight: 1 } }));
    for (const r of runners) r.start();
    clock.runUntil(10_000, () => runners.every((r) => r.state.chain.current.ids.length === 4));
    expect(runners.map((r) => r.state.chain.current.ids)).toEqual(Array(4).fill(['a', 'b', 'c', 'd']));
    net.down.add('d');
    void runners[3]!.stop();
    const killedAt = clock.nowMs();
    clock.runUntil(killedAt + 10_000, () => runners.slice(0, 3).every((r) => !r.state.index.has('d')));
    expect(clock.nowMs() - killedAt).toBeLessThan(cfg.failureTimeoutMs + 1_000);
  });
});

describe('two groups that formed apart (every member seeded with every address)', () => {
  it('merge through a probe of a seed address no member has', () => {
    const cfg = resolveGossipConfig();
    const clock = new HeapClock();
    const net = new MemoryNetwork({ clock, rng: seededRng(3), lossRate: 0, minDelayMs: 1, maxDelayMs: 5 });
    const ids = ['a', 'b', 'c', 'd'];
    const runners = ids.map((id, i) => new GossipRunner({ cfg, clock, rng: seededRng(i + 1), transport: net.transport(id), seeds: ids, self: { id, address: `${id}:1`, role: 'host', weight: 1 } }));
    // a and b found each other first, so did c and d: each group knows members, so none uses seeds to join.
    const entry = (id: string) => ({ id, gossipAddress: id, address: `${id}:1`, role: 'host' as const, weight: 1, counter: 1 });
    runners[0]!.bootstrap([entry('b')]);
    runners[1]!.bootstrap([entry('a')]);
    runners[2]!.bootstrap([entry('d')]);
    runners[3]!.bootstrap([entry('c')]);
    for (const r of runners) r.start();
    clock.runUntil(10_000, () => runners.every((r) => r.state.chain.current.ids.length === 4));
    expect(runners.map((r) => r.state.chain.current.ids)).toEqual(Array(4).fill(ids));
    // Within a couple of probe intervals, not by luck of a timeout.
    expect(clock.nowMs()).toBeLessThan(3 * cfg.seedProbeIntervalMs);
  });
});

describe('a member that departs and comes back under the same id', () => {
  const cfg = resolveGossipConfig();
  function cluster(): { clock: HeapClock; net: MemoryNetwork; runners: GossipRunner[]; everyoneSees(id: string, present: boolean): boolean } {
    const clock = new HeapClock();
    const net = new MemoryNetwork({ clock, rng: seededRng(11), lossRate: 0, minDelayMs: 1, maxDelayMs: 5 });
    const runners = ['a', 'b', 'c', 'd'].map((id, i) => new GossipRunner({ cfg, clock, rng: seededRng(i + 1), transport: net.transport(id), seeds: i === 0 ? [] : ['a'], self: { id, address: `${id}:1`, role: 'host', weight: 1 } }));
    for (const r of runners) r.start();
    clock.runUntil(10_000, () => runners.every((r) => r.state.chain.current.ids.length === 4));
    return { clock, net, runners, everyoneSees: (id, present) => runners.every((r) => r.state.index.has(id) === present) };
  }

  it('rejoins (a cancelled drain) and stays a member past every timeout and tombstone', () => {
    const { clock, runners, everyoneSees } = cluster();
    runners[3]!.leave();
    clock.runUntil(clock.nowMs() + 5_000, () => everyoneSees('d', false));
    expect(everyoneSees('d', false)).toBe(true);
    runners[3]!.join();
    const back = clock.nowMs();
    clock.runUntil(back + 5_000, () => everyoneSees('d', true));
    expect(everyoneSees('d', true)).toBe(true);
    // Well past the failure timeout and the departure tombstones' lifetime: still everyone's member.
    clock.runUntil(back + cfg.tombstoneTtlMs + 2 * cfg.failureTimeoutMs, () => false);
    expect(everyoneSees('d', true)).toBe(true);
  });

  it('a new process under the old id (an older clock even) is taken back: peers refute nothing, it refutes their deletions', () => {
    const { clock, net, runners, everyoneSees } = cluster();
    runners[3]!.leave();
    clock.runUntil(clock.nowMs() + 2_000, () => everyoneSees('d', false));
    void runners[3]!.stop();
    // The replacement starts below the departed counter (its clock lags), outside its set until its host serves.
    const reborn = new GossipRunner({ cfg, clock, rng: seededRng(99), transport: net.transport('d'), seeds: ['a'], self: { id: 'd', address: 'd:1', role: 'host', weight: 1 }, initialCounter: 0, joined: false });
    reborn.start();
    clock.runUntil(clock.nowMs() + 1_000, () => false);
    expect(runners.slice(0, 3).every((r) => !r.state.index.has('d'))).toBe(true);
    reborn.join();
    const all = [...runners.slice(0, 3), reborn];
    clock.runUntil(clock.nowMs() + 5_000, () => all.every((r) => r.state.index.has('d')));
    clock.runUntil(clock.nowMs() + cfg.tombstoneTtlMs + 2 * cfg.failureTimeoutMs, () => false);
    expect(all.map((r) => r.state.chain.current.ids)).toEqual(Array(4).fill(['a', 'b', 'c', 'd']));
  });
});

describe('runSimulation', () => {
  it('is deterministic for a seed and finds no false positive at 10 members, 1 % loss', () => {
    const a = runSimulation({ members: 10, lossRate: 0.01, seed: 5 });
    expect(runSimulation({ members: 10, lossRate: 0.01, seed: 5 })).toEqual(a);
    expect(a.falsePositives).toBe(0);
    expect(a.undetected).toBe(0);
    expect(a.detectMaxMs).toBeLessThan(5_000);
    expect(a.leaveMaxMs).toBeLessThan(a.detectMedianMs);
    expect(formatSimulationTable([a])).toContain('| 10 | 1 % |');
  });
});
