/**
 * @module process-kubelet
 * A kubelet for the fake API server that runs every container of a pod as a real `adama`
 * process, as the operator built it (test/support/kubelet/ has one module per job):
 *
 * - each pod gets its own IP (127.0.0.N, never reused) and a network namespace shared by all of
 *   its containers: a preloaded shim maps binds to any/loopback onto the pod IP and the pod's own
 *   127.0.0.1 onto it too, and resolves cluster DNS names (headless Services, per-pod hostnames)
 *   from the API server (kubelet/pod-netns-preload.ts, kubelet/cluster-dns.ts);
 * - init containers run to completion in order, native sidecars start before the main
 *   containers, main containers start in order (kubelet/pod-runner.ts);
 * - env from Secrets, ConfigMaps and the downward API, `$(VAR)` expansion (kubelet/pod-env.ts);
 * - readiness, liveness and startup probes as the spec declares them, restarts per the restart
 *   policy with the kubelet's back-off, restart counts and states in the pod's status
 *   (kubelet/container-runner.ts, kubelet/prober.ts, kubelet/probe.ts);
 * - deletion: preStop hooks, SIGTERM, SIGKILL once the grace period is over.
 * What it does not model is listed in test/support/fake-kube/README.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient } from '../../operator/kube/kube-client';
import type { LogEntry } from './child';
import type { Kubelet, PodObject, PodRuntimeReport } from './fake-kube';
import type { DnsOrder } from './kubelet/cluster-dns';
import { KUBELET_BACKOFF, type Backoff, type ContainerRunner } from './kubelet/container-runner';
import { startClusterDns, type ClusterDnsServer } from './kubelet/dns-server';
import { WORKDIR } from './kubelet/image';
import { PodRunner, type PreStopRecord } from './kubelet/pod-runner';
import { graceSecondsOf, type PodLike } from './kubelet/pod-spec';

export { expand } from './kubelet/pod-env';
export type { ContainerRunner } from './kubelet/container-runner';
export type { PreStopRecord } from './kubelet/pod-runner';

/** The compiled shim (npm test builds dist/ first). */
const PRELOAD = join(WORKDIR, 'dist', 'test', 'support', 'kubelet', 'pod-netns-preload.js');

export interface ProcessKubeletOptions {
  /** Reads Secrets, ConfigMaps, Services and Pods (the API server starts after the kubelet is made, hence a getter). */
  client: () => KubeClient;
  /** Extra env for every process, under the container's own (e.g. ADAMA_LEASE_MS for fast tests): not from the pod spec. */
  env?: Record<string, string>;
  /** Crash-loop back-off (default the kubelet's: 10 s doubling to 300 s). */
  restartBackoff?: Backoff;
  /** Order of a headless Service's A records: random per answer as CoreDNS `loadbalance` does (default), stable, or the asking pod's own first. */
  dnsOrder?: DnsOrder;
  /** Print containers that exit or are killed unasked (default true: says why a scenario hangs). */
  logUnexpectedExits?: boolean;
}

export interface UnexpectedExit { pod: string; container: string; detail: string }

export class ProcessKubelet implements Kubelet {
  private nextIp = 2;
  private dns: Promise<ClusterDnsServer> | undefined;
  private readonly pods = new Map<string, PodRunner>();
  /** Pod names in start order, and every preStop hook's result, for assertions. */
  readonly started: string[] = [];
  readonly preStops: PreStopRecord[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  private readonly logListeners = new Set<(pod: string, container: string, e: LogEntry) => void>();

  constructor(private readonly o: ProcessKubeletOptions) {
    if (!existsSync(PRELOAD)) throw new Error(`${PRELOAD} is missing: run npm run build (npm test does it for you)`);
  }

  async start(pod: PodObject, report: (r: PodRuntimeReport) => void): Promise<{ podIP?: string; ready?: boolean }> {
    const n = this.nextIp++;
    const ip = `127.0.${Math.floor(n / 256)}.${n % 256}`;
    this.dns ??= startClusterDns(this.o.client, this.o.dnsOrder ?? 'shuffled');
    const dns = await this.dns;
    const runner = new PodRunner({
      pod: pod as PodLike, podIP: ip, client: this.o.client(), dnsUrl: dns.url, preloadPath: PRELOAD,
      testEnv: this.o.env ?? {}, backoff: this.o.restartBackoff ?? KUBELET_BACKOFF, report,
      onPreStop: (r) => this.preStops.push(r),
      onLog: (p, container, e) => { for (const l of [...this.logListeners]) l(p, container, e); },
      onUnexpectedExit: (p, container, detail) => {
        this.unexpectedExits.push({ pod: p, container, detail });
        if (this.o.logUnexpectedExits ?? true) process.stderr.write(`process-kubelet: ${p}/${container}: ${detail}\n`);
      },
    });
    this.pods.set(pod.metadata.name, runner);
    this.started.push(pod.metadata.name);
    runner.start();
    return { podIP: ip };
  }

  async stop(pod: PodObject): Promise<void> {
    const runner = this.pods.get(pod.metadata.name);
    if (!runner) return;
    // The deletion's own grace period (deletionGracePeriodSeconds) is on the object the fake hands over.
    await runner.terminate(graceSecondsOf(pod as PodLike));
    if (this.pods.get(pod.metadata.name) === runner) this.pods.delete(pod.metadata.name);
  }

  /** SIGKILL every process of a pod and stop managing it (a node crash); the pod object stays as it is. */
  kill(podName: string): void {
    this.pods.get(podName)?.crash();
  }

  /** The pod's IP, while it runs here. */
  ip(podName: string): string | undefined { return this.pods.get(podName)?.ip; }

  address(podName: string, port: number): string | undefined {
    const ip = this.ip(podName);
    return ip ? `${ip}:${port}` : undefined;
  }

  /** One container of a running pod (its processes, logs, restart count). */
  container(podName: string, name: string): ContainerRunner | undefined {
    return this.pods.get(podName)?.container(name);
  }

  /**
   * The first log line of a container of a pod by that name (any run, any pod of that name, the
   * one running now or a later one) that matches; event-driven, rejects after timeoutMs.
   */
  waitForLog(podName: string, container: string, match: (e: LogEntry) => boolean, timeoutMs = 30_000): Promise<LogEntry> {
    const seen = this.container(podName, container)?.runs.flatMap((r) => r.logs).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const listener = (p: string, c: string, e: LogEntry): void => {
        if (p !== podName || c !== container || !match(e)) return;
        done();
        resolve(e);
      };
      const timer = setTimeout(() => { done(); reject(new Error(`process-kubelet: no matching log line of ${podName}/${container} in ${timeoutMs} ms`)); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.logListeners.delete(listener); };
      this.logListeners.add(listener);
    });
  }

  async close(): Promise<void> {
    const all = [...this.pods.values()];
    this.pods.clear();
    for (const r of all) r.crash();
    await Promise.all(all.map((r) => r.exited()));
    if (this.dns) await (await this.dns).close();
  }
}
