/**
 * @module split-stack
 * The real multi-process stack for the split-tier scenarios: `adama host` and `adama proxy` as
 * child processes (the compiled CLI, dist/services/cli/main.js, with --no-node-snapshot, as
 * test/support/split-cluster.ts does), on loopback, all on one database the caller owns (and has
 * migrated, with the example spaces deployed). Each child is awaited through its JSON ready log
 * line; after that its stdout keeps being read (so a full pipe never blocks it) and every log
 * event is counted per role, which the report prints as diagnostics (warnings, re-attaches, ...).
 *
 * killHost() is SIGKILL (the failover scenario); close() closes the clients, sends SIGTERM (the
 * drain) to every child still running, SIGKILLs whatever has not exited after a bound, and waits
 * for the exits. If the benchmark itself exits or is stopped by SIGINT/SIGTERM, every child still
 * alive is SIGKILLed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../client/index';
import { devTlsFor, ensureDevPki, tlsEnvOf } from '../services/grpc/dev-certs';
import { DEFAULT_TLS_REFRESH_MS } from '../services/grpc/internal-tls';
import { packageRoot } from '../services/shared/paths';
import { BENCH_PROXY_LIMITS } from './bench-stack';
import { nowMs, withTimeout } from './timing';

export const CLI = join(packageRoot(), 'dist', 'services', 'cli', 'main.js');

export type Role = 'host' | 'proxy';

export interface SplitChild {
  readonly name: string;
  readonly role: Role;
  readonly proc: ChildProcess;
  /** The ready log line (host.ready: address; proxy.ready: url, ws). */
  readonly ready: Record<string, unknown>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Milliseconds from spawn to the ready line. */
  readonly startMs: number;
  alive(): boolean;
}

export interface SplitStackOptions {
  databaseUrl: string;
  hosts: number;
  proxies: number;
  /** Bound on one child's start (spawn → ready line). */
  readyTimeoutMs?: number;
  /**
   * Internal gRPC between the children: `mtls` gives every child its role's certificate from a
   * development CA made for this stack; `insecure` (the default) runs them with --insecure-internal.
   */
  internal?: 'mtls' | 'insecure';
}

/** What the children logged, per `role:event`, split by pino level (warn = 40 and above). */
export interface ChildLogCounts {
  warnOrWorse: Record<string, number>;
  info: Record<string, number>;
  /** Children that exited without being told to (neither killHost nor close). */
  unexpectedExits: string[];
  /** Children still running when close() gave up waiting for SIGTERM and used SIGKILL. */
  killedOnClose: string[];
}

export interface SplitStack {
  readonly hostIds: () => string[];
  host(id: string): SplitChild | undefined;
  readonly proxies: readonly SplitChild[];
  /** An SDK client on proxy `proxyIndex % proxies` (its own socket). */
  client(name: string, proxyIndex?: number): AdamaClient;
  /** SIGKILLs the host now (synchronously) and returns its exit. */
  killHost(id: string): Promise<unknown>;
  /** Starts (or restarts, under the same id) `adama host --host-id id` and waits for its ready line. */
  startHost(id: string): Promise<SplitChild>;
  logs(): ChildLogCounts;
  /** Process ids of the running children, by name (for CPU accounting). */
  pids(): Record<string, number | undefined>;
  /** Calls `listener` with every JSON log line of every child from now on; returns the unsubscribe. */
  onLog(listener: LogListener): () => void;
  close(): Promise<void>;
}

/** `entry` is the child's pino line: `event`, `time` (ISO, wall clock), `level` and the event's fields. */
export type LogListener = (child: { name: string; role: Role }, entry: Record<string, unknown>) => void;

const READY_TIMEOUT_MS = 30_000;
/** SIGTERM runs the host's drain (shutdownGraceMs 10 s by default); past this, SIGKILL. */
const TERM_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 5_000;

/**
 * Info logs (the ready lines are info); anonymous identities, as `adama dev` allows (the SDK
 * clients are `anonymous:<name>`); the per-address edge limits lifted as for the in-process stack
 * (bench-stack.ts). Environment variables rather than flags, so a child ignores what it does not know.
 */
const CHILD_ENV: Record<string, string> = {
  ADAMA_LOG_LEVEL: 'info',
  ADAMA_ALLOW_ANONYMOUS: 'true',
  ...Object.fromEntries(Object.entries(BENCH_PROXY_LIMITS).map(([k, v]) => ['ADAMA_' + k.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase(), String(v)])),
};

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killRunning(): void {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

/** Children must not outlive the benchmark: on exit, and on SIGINT/SIGTERM (then re-raised, so the default still applies). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killRunning);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { killRunning(); process.kill(process.pid, signal); });
  }
}

export async function startSplitStack(o: SplitStackOptions): Promise<SplitStack> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  installExitHook();
  const readyTimeoutMs = o.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const counts: ChildLogCounts = { warnOrWorse: {}, info: {}, unexpectedExits: [], killedOnClose: [] };
  const told = new Set<ChildProcess>();
  const all: SplitChild[] = [];
  const hosts = new Map<string, SplitChild>();
  const proxies: SplitChild[] = [];
  const clients: AdamaClient[] = [];
  const listeners = new Set<LogListener>();

  const pkiDir = o.internal === 'mtls' ? mkdtempSync(join(tmpdir(), 'adama-bench-pki-')) : undefined;
  if (pkiDir !== undefined) ensureDevPki(pkiDir, ['host', 'proxy']);
  const internalEnv = (role: Role): Record<string, string> => {
    if (pkiDir === undefined) return { ADAMA_INSECURE_INTERNAL: 'true' };
    return tlsEnvOf(devTlsFor(pkiDir, role, DEFAULT_TLS_REFRESH_MS));
  };

  const spawnChild = async (name: string, role: Role, args: string[]): Promise<SplitChild> => {
    const t0 = nowMs();
    const proc = spawn(process.execPath, ['--no-node-snapshot', CLI, role, ...args, '--database-url', o.databaseUrl], {
      env: { ...process.env, ...CHILD_ENV, ...internalEnv(role) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(proc);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => {
      running.delete(proc);
      if (!told.has(proc)) counts.unexpectedExits.push(`${name} (${code ?? signal})`);
      resolve({ code, signal });
    }));
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    let onReady: ((entry: Record<string, unknown>) => void) | null = null;
    const readyEvent = `${role}.ready`;
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      const key = `${role}:${String(entry.event)}`;
      const bucket = typeof entry.level === 'number' && entry.level >= 40 ? counts.warnOrWorse : counts.info;
      bucket[key] = (bucket[key] ?? 0) + 1;
      if (entry.event === readyEvent && onReady) { const r = onReady; onReady = null; r(entry); }
      for (const l of listeners) {
        try { l({ name, role }, entry); } catch { /* a listener's bug must not stop the log reader */ }
      }
    });
    const readyPromise = new Promise<Record<string, unknown>>((resolve, reject) => {
      onReady = resolve;
      void exited.then((e) => reject(new Error(`adama ${role} ${name} exited before ready (${e.code ?? e.signal}): ${stderr.slice(-2000)}`)));
    });
    try {
      const ready = await withTimeout(readyPromise, readyTimeoutMs, `adama ${role} ${name} ready`);
      const child: SplitChild = { name, role, proc, ready, exited, startMs: nowMs() - t0, alive: () => proc.exitCode === null && proc.signalCode === null };
      all.push(child);
      return child;
    } catch (err) {
      told.add(proc);
      proc.kill('SIGKILL');
      throw err;
    }
  };

  const startHost = async (id: string): Promise<SplitChild> => {
    const existing = hosts.get(id);
    if (existing?.alive()) throw new Error(`host ${id} is already running`);
    const child = await spawnChild(id, 'host', ['--host-id', id, '--port', '0']);
    hosts.set(id, child);
    return child;
  };

  const stopAll = async (): Promise<void> => {
    for (const c of clients) c.close();
    const alive = all.filter((c) => c.alive());
    for (const c of alive) { told.add(c.proc); c.proc.kill('SIGTERM'); }
    await Promise.race([Promise.all(alive.map((c) => c.exited)), new Promise((r) => setTimeout(r, TERM_TIMEOUT_MS).unref())]);
    const stuck = alive.filter((c) => c.alive());
    for (const c of stuck) { counts.killedOnClose.push(c.name); c.proc.kill('SIGKILL'); }
    await Promise.race([Promise.all(stuck.map((c) => c.exited)), new Promise((r) => setTimeout(r, KILL_TIMEOUT_MS).unref())]);
  };

  try {
    await Promise.all(Array.from({ length: o.hosts }, (_, i) => startHost(`host-${i + 1}`)));
    for (let i = 0; i < o.proxies; i++) proxies.push(await spawnChild(`proxy-${i + 1}`, 'proxy', ['--proxy-id', `proxy-${i + 1}`, '--port', '0']));
  } catch (err) {
    await stopAll();
    throw err;
  }

  let closing: Promise<void> | null = null;
  return {
    hostIds: () => [...hosts.keys()].sort(),
    host: (id) => hosts.get(id),
    proxies,
    client(name, proxyIndex = 0) {
      const proxy = proxies[proxyIndex % proxies.length]!;
      const c = new AdamaClient({ url: String(proxy.ready.ws), identity: `anonymous:${name}`, WebSocket: WebSocket as unknown as WebSocketFactory, maxSendAttempts: 20 });
      clients.push(c);
      return c;
    },
    killHost(id) {
      const child = hosts.get(id);
      if (!child) throw new Error(`no host ${id}`);
      told.add(child.proc);
      child.proc.kill('SIGKILL');
      return child.exited;
    },
    startHost,
    pids: () => Object.fromEntries([...hosts.values(), ...proxies].filter((c) => c.alive()).map((c) => [c.name, c.proc.pid])),
    onLog(listener) { listeners.add(listener); return () => { listeners.delete(listener); }; },
    logs: () => ({ warnOrWorse: { ...counts.warnOrWorse }, info: { ...counts.info }, unexpectedExits: [...counts.unexpectedExits], killedOnClose: [...counts.killedOnClose] }),
    close() {
      closing ??= stopAll().finally(() => { if (pkiDir !== undefined) rmSync(pkiDir, { recursive: true, force: true }); });
      return closing;
    },
  };
}
