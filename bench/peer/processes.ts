/**
 * @module peer/processes
 * The peer benchmark's processes: a server (ours single-process, or Colyseus) spawned from dist/
 * and awaited through its JSON ready line, and the load generator forked with an IPC channel.
 * runLoad() samples the CPU of the given server processes, of the load generator and of the
 * machine at every mark the load generator sends, and returns CPU usage between `<p>-start` and
 * `<p>-end` (and `start`/`end`) pairs. Every child is SIGKILLed if the benchmark exits first.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../services/shared/paths';
import { cpuBetween, sampleCpu, type CpuSample, type CpuUsage } from '../cpu';
import { withTimeout } from '../timing';
import type { TargetKind } from './chat-target';
import type { ChildMessage, JobMessage } from './load-child';
import type { Job, JobResult } from './workloads';

const PEER_DIR = join(packageRoot(), 'dist', 'bench', 'peer');
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

const running = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => { for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });
}

function track(p: ChildProcess): Promise<void> {
  hookExit();
  running.add(p);
  return new Promise((resolve) => p.once('exit', () => { running.delete(p); resolve(); }));
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** Spawns `node <script>` with `env`, waits for `{"event": readyEvent}` on stdout; the URL is `toUrl(readyLine)`. */
export async function spawnServer(name: string, script: string, readyEvent: string, env: Record<string, string>, toUrl: (ready: Record<string, unknown>) => string): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ['--no-node-snapshot', join(PEER_DIR, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = track(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try { const e = JSON.parse(line) as Record<string, unknown>; if (e.event === readyEvent) resolve(e); } catch { /* not ours */ }
    });
    void exited.then(() => reject(new Error(`${name} exited before ready: ${stderr.slice(-2000)}`)));
  });
  try {
    const line = await withTimeout(ready, READY_TIMEOUT_MS, `${name} ready`);
    return {
      name, pid: proc.pid!, url: toUrl(line),
      async stop() {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref())]);
        if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await exited; }
      },
    };
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
}

export function startColyseus(): Promise<ServerProcess> {
  return spawnServer('colyseus', 'colyseus-server.js', 'colyseus.ready', {}, (r) => `ws://127.0.0.1:${String(r.port)}`);
}

export function startRelay(): Promise<ServerProcess> {
  return spawnServer('relay', 'relay-server.js', 'relay.ready', {}, (r) => `ws://127.0.0.1:${String(r.port)}`);
}

/** Ours on one process; `databaseUrl` undefined = PGlite inside that process. */
export function startAdamaSingle(databaseUrl: string | undefined, spacesDir?: string): Promise<ServerProcess> {
  const env: Record<string, string> = {};
  if (databaseUrl) env.BENCH_SERVER_DATABASE_URL = databaseUrl;
  if (spacesDir) env.BENCH_SERVER_SPACES_DIR = spacesDir;
  return spawnServer(databaseUrl ? 'adama-postgres' : 'adama-pglite', 'adama-server.js', 'adama.ready', env, (r) => String(r.ws));
}

export interface LoadRun<R = JobResult> {
  result: R;
  /** CPU between marks: `phase` for the `start`/`end` pair, `join` for `join-start`/`join-end`. */
  cpu: Record<string, CpuUsage>;
}

/** Forks the load generator, runs `job` against `target`, samples CPU of `servers()` (name → pid) at each mark. */
export async function runLoad<R = JobResult>(target: { kind: TargetKind; urls: string[] }, job: Job, servers: () => Record<string, number | undefined>, timeoutMs: number): Promise<LoadRun<R>> {
  const child = fork(join(PEER_DIR, 'load-child.js'), [], { execArgv: ['--no-node-snapshot'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = track(child);
  const samples = new Map<string, CpuSample>();
  const outcome = new Promise<R>((resolve, reject) => {
    child.on('message', (raw) => {
      const m = raw as ChildMessage;
      if (m.type === 'mark') {
        samples.set(m.name, sampleCpu({ ...servers(), loadgen: child.pid }));
        child.send({ type: 'marked' });
      } else if (m.type === 'result') resolve(m.result as R);
      else if (m.type === 'error') reject(new Error(m.message));
    });
    void exited.then(() => reject(new Error(`load generator exited (${child.exitCode ?? child.signalCode}) without a result`)));
  });
  child.send({ type: 'job', target, job } satisfies JobMessage);
  try {
    const result = await withTimeout(outcome, timeoutMs, `${job.workload} on ${target.kind}`);
    const cpu: Record<string, CpuUsage> = {};
    for (const [name, start] of samples) {
      if (!name.endsWith('start')) continue;
      const end = samples.get(name.replace(/start$/, 'end'));
      if (end) cpu[name === 'start' ? 'phase' : name.replace(/-start$/, '')] = cpuBetween(start, end);
    }
    return { result, cpu };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
