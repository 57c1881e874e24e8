/**
 * @module pod-runner
 * One pod on the node, in the kubelet's order:
 *
 * 1. the sandbox: the pod's IP exists (reported at once, phase Pending) and its network namespace
 *    (a ports directory the shim shares between the pod's processes);
 * 2. init containers in spec order: a regular one runs to completion (restarted on failure per
 *    the pod's policy; with `Never`, a failure fails the pod), a native sidecar (`restartPolicy:
 *    Always`) is started (running, past its startup probe) before the next one;
 * 3. the main containers, in spec order (each after the previous one's postStart hook);
 * 4. deletion: every main container at once (its preStop hook, SIGTERM, SIGKILL when the grace
 *    period, at least 2 s after the hook, is over), then the native sidecars in reverse order
 *    with what is left of the grace.
 * Phase: Pending until the init containers are done and a main container started; Succeeded or
 * Failed once every main container exited for good; Running otherwise.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeClient } from '../../../operator/kube/kube-client';
import type { LogEntry } from '../child';
import type { PodRuntimeReport } from '../fake-kube';
import { ContainerRunner, type Backoff, type ContainerEnvironment, type ContainerRole } from './container-runner';
import { IMAGE_ENV } from './image';
import { NETNS_ENV } from './netns-env';
import { ContainerConfigError, resolveEnv } from './pod-env';
import { podSpec, type ContainerSpec, type PodLike } from './pod-spec';

export const NODE_NAME = 'fake-node';
export const HOST_IP = '127.0.0.1';

export interface PreStopRecord { pod: string; container: string; code: number | null; stdout: string }

export interface PodRunnerOptions {
  pod: PodLike;
  podIP: string;
  client: KubeClient;
  /** The cluster DNS the shim asks. */
  dnsUrl: string;
  /** `node --require` of the network shim. */
  preloadPath: string;
  /** Added to every process's environment under the container's own (test tuning, not from the spec). */
  testEnv: Record<string, string>;
  backoff: Backoff;
  report: (r: PodRuntimeReport) => void;
  onPreStop: (r: PreStopRecord) => void;
  /** A container exited or was killed without being asked to. */
  onUnexpectedExit: (pod: string, container: string, detail: string) => void;
  onLog: (pod: string, container: string, e: LogEntry) => void;
}

export class PodRunner {
  readonly name: string;
  readonly ip: string;
  readonly init: ContainerRunner[];
  readonly main: ContainerRunner[];
  private readonly portsDir: string;
  private initialized = false;
  private initFailed = false;
  private terminating = false;
  private frozen = false;

  constructor(private readonly o: PodRunnerOptions) {
    this.name = o.pod.metadata.name ?? '';
    this.ip = o.podIP;
    this.portsDir = mkdtempSync(join(tmpdir(), `fake-pod-${this.name}-`));
    const spec = podSpec(o.pod);
    this.init = (spec.initContainers ?? []).map((c) => this.runner(c, c.restartPolicy === 'Always' ? 'sidecar' : 'init'));
    this.main = spec.containers.map((c) => this.runner(c, 'main'));
  }

  /** Every container by name, init containers included. */
  container(name: string): ContainerRunner | undefined {
    return [...this.init, ...this.main].find((c) => c.name === name);
  }

  /** Reports the sandbox and runs the rest in the background (a stop may come at any time). */
  start(): void {
    this.report();
    void this.lifecycle().catch((e: unknown) => this.o.onUnexpectedExit(this.name, '', `pod start failed: ${String(e)}`));
  }

  /** Deletion with the grace period the DELETE set (pod-spec.ts `graceSecondsOf` of the terminating object). */
  async terminate(graceSeconds: number): Promise<void> {
    this.terminating = true;
    const deadline = Date.now() + graceSeconds * 1000;
    const regular = [...this.main, ...this.init.filter((c) => !this.isSidecar(c))];
    await Promise.all(regular.map((c) => c.terminate(deadline)));
    for (const c of [...this.init].reverse().filter((x) => this.isSidecar(x))) await c.terminate(deadline);
    this.report();
    this.frozen = true;
    rmSync(this.portsDir, { recursive: true, force: true });
  }

  /** The node is gone: every process SIGKILLed, nothing restarts, the status stays as it was. */
  crash(): void {
    this.frozen = true;
    for (const c of [...this.main, ...this.init]) c.crash();
  }

  /** After a crash: resolves once every process is gone, then drops the namespace's files. */
  async exited(): Promise<void> {
    await Promise.all([...this.init, ...this.main].flatMap((c) => c.runs.map((p) => p.exited)));
    rmSync(this.portsDir, { recursive: true, force: true });
  }

  private isSidecar(c: ContainerRunner): boolean { return this.init.includes(c) && podSpec(this.o.pod).initContainers!.find((s) => s.name === c.name)?.restartPolicy === 'Always'; }

  private async lifecycle(): Promise<void> {
    for (const c of this.init) {
      if (this.terminating) return;
      await c.run();
      if (this.isSidecar(c)) { await c.whenStarted(); continue; }
      const code = await c.whenDone();
      if (code !== 0) {
        if (code !== undefined) { this.initFailed = true; this.report(); }
        return;
      }
    }
    if (this.terminating) return;
    this.initialized = true;
    this.report();
    for (const c of this.main) {
      if (this.terminating) return;
      await c.run();
    }
  }

  private phase(): PodRuntimeReport['phase'] {
    if (this.initFailed) return 'Failed';
    if (!this.initialized) return 'Pending';
    const codes = this.main.map((c) => c.finalExitCode);
    if (codes.every((x) => x !== undefined)) return codes.every((x) => x === 0) ? 'Succeeded' : 'Failed';
    return this.main.some((c) => c.runs.length > 0) ? 'Running' : 'Pending';
  }

  private report(): void {
    if (this.frozen) return;
    this.o.report({
      phase: this.phase(),
      podIP: this.ip,
      initialized: this.initialized,
      containerStatuses: this.main.map((c) => c.status()),
      initContainerStatuses: this.init.map((c) => c.status()),
    } as PodRuntimeReport);
  }

  private runner(spec: ContainerSpec, role: ContainerRole): ContainerRunner {
    const pod = this.o.pod;
    return new ContainerRunner({
      spec, role,
      podName: this.name, podUid: pod.metadata.uid ?? '', podIP: this.ip,
      podRestartPolicy: podSpec(pod).restartPolicy ?? 'Always',
      environment: () => this.environment(spec),
      backoff: this.o.backoff,
      livenessGraceMs: (podSpec(pod).terminationGracePeriodSeconds ?? 30) * 1000,
      onChange: () => this.report(),
      onPreStop: (r) => this.o.onPreStop({ pod: this.name, container: spec.name, code: r.code, stdout: r.stdout }),
      onUnexpectedExit: (detail) => { if (!this.terminating) this.o.onUnexpectedExit(this.name, spec.name, detail); },
      onLog: (e) => this.o.onLog(this.name, spec.name, e),
    });
  }

  /** What a container process sees: the image's env, the pod's hostname, the shim, then the container's own env. */
  private async environment(spec: ContainerSpec): Promise<ContainerEnvironment> {
    const pod = this.o.pod;
    const container = await resolveEnv(this.o.client, pod, spec, { podIP: this.ip, hostIP: HOST_IP, nodeName: NODE_NAME });
    const mounts = await this.mountSecrets(spec);
    const hostname = podSpec(pod).hostname ?? this.name;
    const shim: Record<string, string> = {
      NODE_OPTIONS: `--require ${this.o.preloadPath}`,
      [NETNS_ENV.podIP]: this.ip,
      [NETNS_ENV.portsDir]: this.portsDir,
      [NETNS_ENV.dnsUrl]: this.o.dnsUrl,
      [NETNS_ENV.namespace]: pod.metadata.namespace ?? 'default',
      [NETNS_ENV.hostname]: hostname,
    };
    return {
      container,
      process: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...IMAGE_ENV, HOSTNAME: hostname, ...this.o.testEnv, ...container, ...shim },
      mounts,
    };
  }

  /**
   * Writes every Secret volume the container mounts as files (one per key, mode 0440, as the
   * kubelet's defaultMode does) under the pod's directory, at every (re)start, so a Secret
   * updated since is what the new process reads. A missing Secret keeps the container waiting,
   * as a real kubelet's failed mount does.
   */
  private async mountSecrets(spec: ContainerSpec): Promise<[string, string][]> {
    const volumes = new Map((podSpec(this.o.pod).volumes ?? []).map((v) => [v.name, v]));
    const mounts: [string, string][] = [];
    for (const m of spec.volumeMounts ?? []) {
      const secret = volumes.get(m.name)?.secret;
      if (!secret) continue;
      const s = await this.o.client.get({ apiVersion: 'v1', kind: 'Secret', namespace: this.o.pod.metadata.namespace ?? 'default', name: secret.secretName });
      if (!s && !secret.optional) throw new ContainerConfigError(`MountVolume.SetUp failed for volume "${m.name}": secret "${secret.secretName}" not found`);
      const dir = join(this.portsDir, 'volumes', m.name);
      mkdirSync(dir, { recursive: true });
      for (const [key, value] of Object.entries((s?.['data'] ?? {}) as Record<string, string>)) writeFileSync(join(dir, key), Buffer.from(value, 'base64'), { mode: 0o440 });
      mounts.push([m.mountPath, dir]);
    }
    return mounts;
  }
}
