/**
 * @module simulation
 * A deterministic, in-process simulation of N sidecars (the real GossipRunner on a HeapClock over
 * a lossy MemoryNetwork, seeded). One run: warm up, measure steady bytes, join a member, kill a
 * member (it stops answering, like SIGKILL/SIGSTOP), then have one leave by announcing it.
 * Everything a run reports is in simulated time, so the figures do not depend on this machine.
 */
import { gossipDefaults, type GossipConfig } from './config';
import { HeapClock } from './heap-clock';
import { MemoryNetwork } from './memory-transport';
import type { MemberEntry } from './messages';
import { seededRng } from './rng';
import { GossipRunner } from './runner';
import type { GossipState } from './state';

export interface SimulationOptions {
  members: number;
  lossRate: number;
  seed?: number;
  cfg?: Readonly<GossipConfig>;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Give up waiting for detection or convergence after this long, ms of simulated time. */
  horizonMs?: number;
}

export interface SimulationResult {
  members: number;
  lossRate: number;
  /** From the kill until each live member has removed the victim, ms. */
  detectMedianMs: number;
  detectMaxMs: number;
  /** Members that had not removed the victim at the horizon. */
  undetected: number;
  /** Any member removing any member that was alive and had not left. */
  falsePositives: number;
  joinRounds: number;
  /** From the departure announcement until every member has removed the leaver, ms. */
  leaveMaxMs: number;
  steadyBytesPerMemberRound: number;
  changeBytesPerMemberRound: number;
  slowPaths: number;
}

const idOf = (i: number): string => `m${String(i).padStart(4, '0')}`;

export function runSimulation(o: SimulationOptions): SimulationResult {
  const cfg = o.cfg ?? gossipDefaults;
  const horizonMs = o.horizonMs ?? 20_000;
  const clock = new HeapClock(0);
  const rng = seededRng(o.seed ?? 1);
  const net = new MemoryNetwork({ clock, rng, lossRate: o.lossRate, minDelayMs: o.minDelayMs ?? 1, maxDelayMs: o.maxDelayMs ?? 10 });
  const runners = new Map<string, GossipRunner>();
  const gone = new Set<string>(); // killed or left: removing these is correct
  let falsePositives = 0;
  let slowPaths = 0;
  const make = (id: string, seeds: string[]): GossipRunner => {
    const r = new GossipRunner({ cfg, self: { id, address: `${id}:7100`, role: 'host', weight: 1 }, clock, rng, transport: net.transport(id), seeds });
    r.onEvent((e) => {
      if (e.kind === 'slow-path') slowPaths++;
      if (e.kind === 'dead' && !gone.has(e.id)) falsePositives++;
    });
    runners.set(id, r);
    return r;
  };
  // Bootstrapped: everyone starts knowing everyone, so the run measures steady state, not a cold start.
  const all: MemberEntry[] = Array.from({ length: o.members }, (_, i) => ({ id: idOf(i), gossipAddress: idOf(i), address: `${idOf(i)}:7100`, role: 'host', weight: 1, counter: 1 }));
  for (const e of all) make(e.id, []).bootstrap(all);
  for (const r of runners.values()) r.start();
  const live = (): GossipRunner[] => [...runners].filter(([id]) => !gone.has(id)).map(([, r]) => r);
  const roundMs = cfg.gossipIntervalMs;

  clock.advance(2_000);
  net.resetCounters();
  clock.advance(5 * roundMs);
  const steadyBytesPerMemberRound = net.bytes / 5 / o.members;

  // Join: one new member, seeded with one existing sidecar.
  net.resetCounters();
  const joinAt = clock.nowMs();
  const joiner = make('j0000', [idOf(Math.floor(rng.next() * o.members))]);
  joiner.start();
  // Counted by set-change listeners, so the stop test is O(1) per simulated event.
  const complete = new Set<string>();
  const track = (id: string, s: GossipState): void => { if (s.index.has('j0000') && s.chain.current.ids.length === o.members + 1) complete.add(id); else complete.delete(id); };
  const untrack = [...runners].map(([id, r]) => { track(id, r.state); return r.onSetChange((s) => track(id, s)); });
  clock.runUntil(joinAt + horizonMs, () => complete.size === o.members + 1);
  for (const u of untrack) u();
  const joinMs = clock.nowMs() - joinAt;
  const changeBytesPerMemberRound = net.bytes / Math.max(1, joinMs / roundMs) / (o.members + 1);

  clock.advance(1_000);
  // Kill: the victim stops sending and answering at once.
  const victim = idOf(Math.floor(o.members / 2));
  gone.add(victim);
  net.down.add(victim);
  void runners.get(victim)!.stop();
  const killAt = clock.nowMs();
  const detected = new Map<string, number>();
  for (const [id, r] of runners) {
    if (gone.has(id)) continue;
    r.onSetChange((s) => { if (!s.index.has(victim) && !detected.has(id)) detected.set(id, clock.nowMs() - killAt); });
  }
  const watchers = live().length;
  clock.runUntil(killAt + horizonMs, () => detected.size === watchers);
  const times = [...detected.values()].sort((a, b) => a - b);

  clock.advance(1_000);
  const leaver = idOf(1);
  gone.add(leaver);
  const leaveAt = clock.nowMs();
  runners.get(leaver)!.leave();
  const stillListing = new Set(live().filter((r) => r.state.index.has(leaver)).map((r) => r.state.selfId));
  for (const r of live()) r.onSetChange((s) => { if (!s.index.has(leaver)) stillListing.delete(s.selfId); });
  clock.runUntil(leaveAt + horizonMs, () => stillListing.size === 0);
  const leaveMaxMs = clock.nowMs() - leaveAt;
  for (const r of runners.values()) void r.stop();

  return {
    members: o.members, lossRate: o.lossRate,
    detectMedianMs: times[Math.floor((times.length - 1) / 2)] ?? NaN,
    detectMaxMs: times[times.length - 1] ?? NaN,
    undetected: watchers - detected.size,
    falsePositives, joinRounds: Math.ceil(joinMs / roundMs), leaveMaxMs,
    steadyBytesPerMemberRound, changeBytesPerMemberRound, slowPaths,
  };
}

export function formatSimulationTable(rows: readonly SimulationResult[], cfg: Readonly<GossipConfig> = gossipDefaults): string {
  const head = '| members | loss | detect median (s) | detect max (s) | false positives | join rounds | leave max (s) | steady B/member/round | B/counter | change B/member/round | slow paths |';
  const sep = '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const s = (ms: number): string => (ms / 1000).toFixed(2);
  const lines = rows.map((r) => `| ${r.members} | ${(r.lossRate * 100).toFixed(0)} % | ${s(r.detectMedianMs)} | ${s(r.detectMaxMs)}${r.undetected ? ` (${r.undetected} missed)` : ''} | ${r.falsePositives} | ${r.joinRounds} | ${s(r.leaveMaxMs)} | ${r.steadyBytesPerMemberRound.toFixed(0)} | ${(r.steadyBytesPerMemberRound / r.members).toFixed(2)} | ${r.changeBytesPerMemberRound.toFixed(0)} | ${r.slowPaths} |`);
  const config = `config: round ${cfg.gossipIntervalMs} ms ±${cfg.gossipJitterRatio * 100} %, heartbeat ${cfg.heartbeatIntervalMs} ms, failure timeout ${cfg.failureTimeoutMs} ms, deletion guard ${cfg.deletionGuardMs} ms`;
  const seedLine = 'seed figures: a member is dead after 10 s unseen; about 10–11 rounds to spread a counter across 1000 members';
  return [config, seedLine, '', head, sep, ...lines].join('\n');
}
