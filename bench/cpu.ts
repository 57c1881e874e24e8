/**
 * @module cpu
 * Where the CPU went during a measured phase (Linux /proc; elsewhere the figures are empty): this
 * process (clients, and for PGlite the database's worker thread too), each child process, and the
 * whole machine, so that work of other programs on a shared machine shows up as the difference.
 * Figures are cores: CPU seconds per second of the phase (2 = both cores of a 2-core machine busy).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { round } from './stats';
import { nowMs } from './timing';

export interface CpuSample {
  atMs: number;
  /** Cumulative CPU seconds of this process. */
  self: number;
  /** Cumulative CPU seconds per named child (absent when unreadable). */
  children: Record<string, number>;
  /** Cumulative busy CPU seconds of the whole machine (all cores), or NaN. */
  machine: number;
}

export interface CpuUsage {
  /** Cores used by this process during the phase. */
  self: number;
  /** Cores used by each child during the phase. */
  children: Record<string, number>;
  /** Cores busy machine-wide (ours and everything else's). */
  machine: number;
  /** machine - self - children: other programs on the machine (and the kernel, PostgreSQL, ...). */
  other: number;
  /** Length of the phase in seconds (cores x seconds = CPU seconds). */
  seconds: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond !== undefined) return ticksPerSecond;
  try {
    ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** utime + stime of a process in seconds, or undefined when /proc is not there or the process is gone. */
function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start at field 3; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, ...values] = line.trim().split(/\s+/);
    const n = values.map(Number);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0); // user nice system idle iowait irq softirq steal
    return (total - n[3]! - n[4]!) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

export function sampleCpu(children: Record<string, number | undefined>): CpuSample {
  const usage = process.cpuUsage();
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(children)) {
    const s = pid === undefined ? undefined : processCpuSeconds(pid);
    if (s !== undefined) out[name] = s;
  }
  return { atMs: nowMs(), self: (usage.user + usage.system) / 1e6, children: out, machine: machineBusySeconds() };
}

export function cpuBetween(a: CpuSample, b: CpuSample): CpuUsage {
  const seconds = (b.atMs - a.atMs) / 1000;
  const cores = (v: number): number => (seconds > 0 ? round(v / seconds, 2) : Number.NaN);
  const children: Record<string, number> = {};
  let childSum = 0;
  for (const [name, end] of Object.entries(b.children)) {
    const start = a.children[name];
    if (start === undefined) continue;
    children[name] = cores(end - start);
    childSum += end - start;
  }
  const self = b.self - a.self;
  const machine = b.machine - a.machine;
  // Clock-tick granularity can make the difference slightly negative on an idle machine.
  return { self: cores(self), children, machine: cores(machine), other: Math.max(0, cores(machine - self - childSum)), seconds: round(seconds, 3) };
}

/** "this process 0.80, host-1 0.31, ... ; machine 1.95 (other programs 0.20)" */
export function formatCpu(u: CpuUsage): string {
  const parts = [`this process ${u.self}`, ...Object.entries(u.children).map(([n, v]) => `${n} ${v}`)];
  return `${parts.join(', ')}; machine ${u.machine} (other programs ${u.other}) cores`;
}
