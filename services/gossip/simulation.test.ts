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
