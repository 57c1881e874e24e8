/**
 * @module container-runner
 * One container of a pod across its restarts, with the kubelet's rules:
 *
 * - start: the environment is resolved (a missing Secret or ConfigMap leaves it waiting with
 *   CreateContainerConfigError, retried every second), `$(VAR)` expanded in command and args,
 *   the process started, then its postStart hook (a failure kills it), then its probes;
 * - a container that exits is restarted per the restart policy that applies to it (main
 *   containers: the pod's; init containers: on failure unless the pod's is Never; native sidecars:
 *   always), after the kubelet's crash-loop back-off: the first restart at once, then 10 s,
 *   doubling to 300 s, reset once a container ran 10 minutes (2 × the cap) without exiting;
 * - a failed liveness or startup probe kills the container as a deletion does (preStop hook,
 *   SIGTERM, SIGKILL after the pod's grace period) and the restart policy takes over;
 * - ready = running, started (startup probe passed, if any) and, if it has a readiness probe,
 *   that probe's current result; without one, running is ready.
 *
 * `restartCount` counts restarts performed (it rises when the new process starts).
 */
import type { LogEntry } from '../child';
import { ContainerProcess, type ExitStatus } from './container-process';
import { execIn } from './exec';
import { containerCommand } from './image';
import { expand, ContainerConfigError } from './pod-env';
import { mountedPath, type Mounts } from './mounts';
import type { ContainerSpec, RestartPolicy } from './pod-spec';
import { runHook, runProbe, type ProbeTarget } from './probe';
import { ProbeWorker } from './prober';

export type ContainerRole = 'init' | 'sidecar' | 'main';

export interface Backoff { initialMs: number; maxMs: number }
/** The kubelet's crash-loop back-off (pkg/kubelet: initial 10 s, max 300 s). */
export const KUBELET_BACKOFF: Backoff = { initialMs: 10_000, maxMs: 300_000 };
/** The kubelet's minimum grace after a preStop hook used the rest (minimumGracePeriodInSeconds). */
const MIN_GRACE_MS = 2_000;
const CONFIG_RETRY_MS = 1_000;

export interface ContainerEnvironment {
  /** The container's own env (spec env + envFrom): what `$(VAR)` expands against. */
  container: Record<string, string>;
  /** Everything the process gets (image env, the pod network shim, the container's env). */
  process: Record<string, string>;
  /**
   * Where each Secret volume the container mounts was written on this machine: [mountPath, dir].
   * A process has no filesystem of its own here, so a path under a mountPath in its command, args
   * or exec commands is rewritten to the dir (mountedPath).
   */
  mounts: Mounts;
}


export interface ContainerRunnerOptions {
  spec: ContainerSpec;
  role: ContainerRole;
  podName: string;
  podUid: string;
  podIP: string;
  podRestartPolicy: RestartPolicy;
  /** Resolved anew for every start, as the kubelet does; may throw ContainerConfigError. */
  environment: () => Promise<ContainerEnvironment>;
  backoff: Backoff;
  /** The grace period a liveness kill gets (the pod's terminationGracePeriodSeconds), ms. */
  livenessGraceMs: number;
  /** Any change of what status() shows. */
  onChange: () => void;
  /** A preStop hook finished (for tests' assertions). */
  onPreStop: (r: { code: number | null; stdout: string; ok: boolean }) => void;
  /** An exit nobody asked for (a crash, a failed probe's kill): the detail says why. */
  onUnexpectedExit: (detail: string) => void;
  /** Every log line of every run, as it arrives. */
  onLog: (e: LogEntry) => void;
}

interface Terminated { exitCode: number; signal?: number; reason: string; message?: string; startedAt: string; finishedAt: string; containerID: string }

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export class ContainerRunner {
  restartCount = 0;
  /** Every process this container ran, oldest first (tests read logs and pids). */
  readonly runs: ContainerProcess[] = [];
  private current: ContainerProcess | undefined;
  private env: ContainerEnvironment | undefined;
  private waiting: { reason: string; message?: string } | undefined = { reason: 'ContainerCreating' };
  private terminated: Terminated | undefined;
  private lastTerminated: Terminated | undefined;
  private startupPassed = false;
  private readinessOk = false;
  private probes: ProbeWorker[] = [];
  private stopping = false;
  private frozen = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffEntry: { delayMs: number; updatedAt: number } | undefined;
  private readonly startedWaiters: (() => void)[] = [];
  private readonly doneWaiters: ((exitCode: number | undefined) => void)[] = [];

  constructor(private readonly o: ContainerRunnerOptions) {}

  get name(): string { return this.o.spec.name; }
  get process(): ContainerProcess | undefined { return this.current; }
  get running(): boolean { return this.current?.running ?? false; }
  /** Running and past its startup probe (what the kubelet waits for before the next native sidecar). */
  get started(): boolean { return this.running && this.startupPassed; }
  get ready(): boolean { return this.started && (this.o.spec.readinessProbe ? this.readinessOk : true); }
  /** Exited for good (no restart will follow): the exit code; undefined while it may still run. */
  get finalExitCode(): number | undefined { return this.terminated && !this.willRestart() ? this.terminated.exitCode : undefined; }

  /** Starts the first process. */
  async run(): Promise<void> { await this.launch(); }

  /** Resolves once the container is started (see `started`), or when it is stopped first. */
  whenStarted(): Promise<void> {
    if (this.started || this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.startedWaiters.push(resolve));
  }

  /** Resolves with the exit code once it exited for good (init containers: after their restarts); undefined if stopped. */
  whenDone(): Promise<number | undefined> {
    const code = this.finalExitCode;
    if (code !== undefined || this.stopping) return Promise.resolve(code);
    return new Promise((resolve) => this.doneWaiters.push(resolve));
  }

  /** A signal to the current process (a test making it die); the restart policy decides what follows. */
  signal(sig: NodeJS.Signals): void { this.current?.signal(sig); }

  /**
   * Stops it as a pod deletion does: probes stop, no restart, the preStop hook runs within the
   * budget, then SIGTERM, then SIGKILL when the remaining grace (at least 2 s) is over.
   */
  async terminate(deadlineMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.stopProbes();
    this.release();
    const proc = this.current;
    if (!proc?.running) {
      if (this.waiting) { this.waiting = undefined; this.o.onChange(); }
      return;
    }
    await this.kill(proc, deadlineMs);
  }

  /** The node died: SIGKILL, no hook, no restart, no more status. */
  crash(): void {
    this.stopping = true;
    this.frozen = true;
    clearTimeout(this.retryTimer);
    this.stopProbes();
    this.current?.signal('SIGKILL');
    this.release();
  }

  status(): Record<string, unknown> {
    const state = this.waiting ? { waiting: this.waiting }
      : this.current?.running ? { running: { startedAt: iso(this.current.startedAt) } }
      : this.terminated ? { terminated: this.terminated }
      : { waiting: { reason: 'ContainerCreating' } };
    return {
      name: this.o.spec.name,
      image: this.o.spec.image ?? '',
      imageID: '',
      ...(this.current ? { containerID: this.containerId() } : {}),
      ready: this.ready,
      started: this.started,
      restartCount: this.restartCount,
      state,
      lastState: this.lastTerminated ? { terminated: this.lastTerminated } : {},
    };
  }

  private containerId(): string { return `fake://${this.o.podUid}/${this.o.spec.name}/${this.restartCount}`; }

  private async launch(): Promise<void> {
    if (this.stopping) return;
    let env: ContainerEnvironment;
    try {
      env = await this.o.environment();
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      this.waiting = { reason: 'CreateContainerConfigError', message: e.message };
      this.o.onChange();
      this.retryTimer = setTimeout(() => void this.launch(), CONFIG_RETRY_MS);
      return;
    }
    if (this.stopping) return;
    this.env = env;
    const spec = this.o.spec;
    const arg = (a: string): string => mountedPath(expand(a, env.container), env.mounts);
    const line = containerCommand(spec.command?.map(arg), spec.args?.map(arg));
    if (this.current) this.restartCount++;
    const proc = new ContainerProcess(line, env.process, this.o.onLog);
    this.current = proc;
    this.runs.push(proc);
    this.waiting = undefined;
    this.terminated = undefined;
    this.startupPassed = !spec.startupProbe;
    this.readinessOk = false;
    void proc.exited.then((exit) => this.onExit(proc, exit));
    this.o.onChange();
    if (spec.lifecycle?.postStart) {
      const r = await runHook(spec.lifecycle.postStart, this.target(), this.o.livenessGraceMs);
      if (!r.ok && proc.running) {
        this.o.onUnexpectedExit(`postStart hook failed: ${r.detail}`);
        await this.kill(proc, Date.now() + this.o.livenessGraceMs);
        return;
      }
    }
    if (proc !== this.current || !proc.running) return;
    this.startProbes(proc);
    this.notifyStarted();
  }

  private target(): ProbeTarget {
    return { podIP: this.o.podIP, container: this.o.spec, exec: execIn(() => this.env?.process ?? {}, () => this.env?.mounts ?? []) };
  }

  private startProbes(proc: ContainerProcess): void {
    const spec = this.o.spec;
    const t = this.target();
    const steady = (): void => {
      if (spec.readinessProbe) {
        const p = spec.readinessProbe;
        this.probes.push(new ProbeWorker('readiness', p, () => runProbe(p, t), (ok) => { this.readinessOk = ok; this.o.onChange(); }));
      }
      if (spec.livenessProbe) {
        const p = spec.livenessProbe;
        this.probes.push(new ProbeWorker('liveness', p, () => runProbe(p, t), (ok, detail) => { if (!ok) void this.killForRestart(proc, `liveness probe failed: ${detail}`); }));
      }
      for (const w of this.probes) w.start();
    };
    if (spec.startupProbe) {
      const p = spec.startupProbe;
      const w = new ProbeWorker('startup', p, () => runProbe(p, t), (ok, detail) => {
        if (!ok) { void this.killForRestart(proc, `startup probe failed: ${detail}`); return; }
        this.startupPassed = true;
        this.o.onChange();
        this.notifyStarted();
        steady();
      });
      this.probes.push(w);
      w.start();
    } else {
      steady();
    }
  }

  private stopProbes(): void {
    for (const w of this.probes) w.stop();
    this.probes = [];
  }

  private async killForRestart(proc: ContainerProcess, why: string): Promise<void> {
    if (this.stopping || proc !== this.current || !proc.running) return;
    this.o.onUnexpectedExit(why);
    this.stopProbes();
    await this.kill(proc, Date.now() + this.o.livenessGraceMs);
  }

  /** preStop within the budget, then SIGTERM, then SIGKILL after what is left (at least 2 s). */
  private async kill(proc: ContainerProcess, deadlineMs: number): Promise<void> {
    const hook = this.o.spec.lifecycle?.preStop;
    if (hook) {
      const r = await runHook(hook, this.target(), Math.max(0, deadlineMs - Date.now()));
      this.o.onPreStop({ code: r.code ?? (r.ok ? 0 : null), stdout: r.stdout ?? '', ok: r.ok });
    }
    const graceMs = Math.max(deadlineMs - Date.now(), MIN_GRACE_MS);
    proc.signal('SIGTERM');
    const timer = setTimeout(() => proc.signal('SIGKILL'), graceMs);
    await proc.exited;
    clearTimeout(timer);
  }

  private willRestart(): boolean {
    if (this.stopping || !this.terminated) return false;
    const failed = this.terminated.exitCode !== 0;
    if (this.o.role === 'sidecar') return true;
    if (this.o.role === 'init') return failed && this.o.podRestartPolicy !== 'Never';
    return this.o.podRestartPolicy === 'Always' || (this.o.podRestartPolicy === 'OnFailure' && failed);
  }

  private onExit(proc: ContainerProcess, exit: ExitStatus): void {
    if (proc !== this.current || this.frozen) return;
    this.stopProbes();
    const signo = exit.signal ? SIGNALS[exit.signal] ?? 0 : undefined;
    const exitCode = exit.code ?? 128 + (signo ?? 0);
    this.terminated = {
      exitCode, ...(signo !== undefined ? { signal: signo } : {}),
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: iso(proc.startedAt), finishedAt: iso(exit.at), containerID: this.containerId(),
    };
    if (!this.stopping && exitCode !== 0) this.o.onUnexpectedExit(`exited ${exit.code ?? exit.signal}: ${proc.stderrTail.slice(-1_500)}`);
    if (!this.willRestart()) {
      this.o.onChange();
      this.release();
      return;
    }
    this.lastTerminated = this.terminated;
    const delayMs = this.nextDelay(exit.at.getTime());
    if (delayMs === 0) { void this.launch(); return; }
    this.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delayMs / 1000)}s restarting failed container=${this.name} pod=${this.o.podName}` };
    this.o.onChange();
    this.retryTimer = setTimeout(() => void this.launch(), Math.max(0, exit.at.getTime() + delayMs - Date.now()));
  }

  /** kubelet's IsInBackOffSince/Next: no entry (or one older than 2 × max) restarts now. */
  private nextDelay(finishedAt: number): number {
    const e = this.backoffEntry;
    const { initialMs, maxMs } = this.o.backoff;
    if (!e || finishedAt - e.updatedAt > 2 * maxMs) {
      this.backoffEntry = { delayMs: initialMs, updatedAt: Date.now() };
      return 0;
    }
    this.backoffEntry = { delayMs: Math.min(e.delayMs * 2, maxMs), updatedAt: Date.now() };
    return e.delayMs;
  }

  private notifyStarted(): void {
    if (!this.started) return;
    for (const w of this.startedWaiters.splice(0)) w();
  }

  /** Wakes everyone waiting on this container: it is done, or stopping. */
  private release(): void {
    for (const w of this.startedWaiters.splice(0)) w();
    const code = this.finalExitCode;
    if (code !== undefined || this.stopping) for (const w of this.doneWaiters.splice(0)) w(code);
  }
}

const iso = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');
