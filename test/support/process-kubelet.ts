/**
 * @module process-kubelet
 * A kubelet for the fake API server that runs host pods as real `adama` processes: it takes the
 * pod's container args and env exactly as the operator built them, resolves `valueFrom`
 * (Secrets, fieldRefs) and `envFrom` ConfigMaps from the API server, expands `$(VAR)`, and starts
 * the CLI. Each pod gets its own loopback IP (127.0.0.N), standing in for a pod network namespace,
 * so `--bind 0.0.0.0` becomes that IP. Deleting a pod runs its preStop hook, then SIGTERM, as the
 * kubelet does; SIGKILL after the grace period.
 */
import { runAdama, spawnAdama, type Child } from './child';
import type { KubeClient } from '../../operator/kube/kube-client';
import { CLI_PATH } from '../../operator/specs/common';

interface EnvVarSpec {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface ContainerSpec {
  name: string;
  args?: string[];
  env?: EnvVarSpec[];
  envFrom?: { configMapRef?: { name: string } }[];
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
/** What the kubelet reads of a pod (the fake's and the operator's object types both fit). */
type PodLike = { metadata: { name?: string; namespace?: string }; spec?: unknown };
interface PodSpec { containers: ContainerSpec[]; terminationGracePeriodSeconds?: number }

export interface ProcessKubeletOptions {
  /** Reads Secrets and ConfigMaps (the API server starts after the kubelet is made, hence a getter). */
  client: () => KubeClient;
  /** The one container of each pod to run, by name (e.g. `host`: sidecars are not started). */
  container: string;
  /** The log event of that container's command that means "ready". */
  readyEvent: string;
  /** Extra env for every process (e.g. ADAMA_LEASE_MS for fast tests). */
  env?: NodeJS.ProcessEnv;
}

export class ProcessKubelet {
  private nextIp = 2;
  private readonly running = new Map<string, { child: Child; ip: string; env: Record<string, string>; container: ContainerSpec }>();
  /** Pod names in start order, and preStop results, for assertions. */
  readonly started: string[] = [];
  readonly preStops: { pod: string; code: number | null; stdout: string }[] = [];

  constructor(private readonly o: ProcessKubeletOptions) {}

  async start(pod: PodLike): Promise<{ podIP?: string; ready?: boolean }> {
    const ip = `127.0.0.${this.nextIp++}`;
    const container = (pod.spec as PodSpec).containers.find((c) => c.name === this.o.container);
    if (!container) throw new Error(`kubelet: pod ${pod.metadata.name} has no container ${this.o.container}`);
    const env = await this.resolveEnv(pod, container, ip);
    const args = (container.args ?? []).map((a) => expand(a, env)).map((a) => (a === '0.0.0.0' ? ip : a));
    const child = await spawnAdama(args, this.o.readyEvent, { ...this.o.env, ...env });
    this.running.set(pod.metadata.name!, { child, ip, env, container });
    this.started.push(pod.metadata.name!);
    return { podIP: ip, ready: true };
  }

  /** preStop (with the pod's grace period), then SIGTERM, then SIGKILL when the grace runs out. */
  async stop(pod: PodLike): Promise<void> {
    const run = this.running.get(pod.metadata.name!);
    if (!run) return;
    this.running.delete(pod.metadata.name!);
    const graceMs = ((pod.spec as PodSpec).terminationGracePeriodSeconds ?? 30) * 1000;
    const deadline = Date.now() + graceMs;
    const hook = run.container.lifecycle?.preStop?.exec?.command;
    if (hook) {
      const args = hookArgs(hook, run.ip);
      if (args) {
        const r = await runAdama(args, { ...this.o.env, ...run.env }, graceMs).catch((err: unknown) => ({ code: null, stdout: String(err), stderr: '' }));
        this.preStops.push({ pod: pod.metadata.name!, code: r.code, stdout: r.stdout });
      }
    }
    run.child.proc.kill('SIGTERM');
    const timer = setTimeout(() => run.child.proc.kill('SIGKILL'), Math.max(0, deadline - Date.now()));
    await run.child.exited;
    clearTimeout(timer);
  }

  /** SIGKILL one pod's processes (a node crash); the pod object stays as it is. */
  kill(podName: string): void {
    this.running.get(podName)?.child.proc.kill('SIGKILL');
  }

  address(podName: string, port: number): string | undefined {
    const run = this.running.get(podName);
    return run ? `${run.ip}:${port}` : undefined;
  }

  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    for (const r of all) r.child.proc.kill('SIGKILL');
    await Promise.all(all.map((r) => r.child.exited));
  }

  private async resolveEnv(pod: PodLike, c: ContainerSpec, ip: string): Promise<Record<string, string>> {
    const ns = pod.metadata.namespace!;
    const env: Record<string, string> = {};
    for (const from of c.envFrom ?? []) {
      if (!from.configMapRef) continue;
      const cm = await this.o.client().get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: from.configMapRef.name });
      Object.assign(env, (cm?.data ?? {}) as Record<string, string>);
    }
    for (const e of c.env ?? []) {
      const value = e.value !== undefined ? expand(e.value, env) : await this.valueFrom(pod, e, ip);
      if (value !== undefined) env[e.name] = value;
    }
    return env;
  }

  private async valueFrom(pod: PodLike, e: EnvVarSpec, ip: string): Promise<string | undefined> {
    const ns = pod.metadata.namespace!;
    const from = e.valueFrom;
    if (from?.fieldRef) {
      if (from.fieldRef.fieldPath === 'metadata.name') return pod.metadata.name!;
      if (from.fieldRef.fieldPath === 'metadata.namespace') return ns;
      if (from.fieldRef.fieldPath === 'status.podIP') return ip;
      throw new Error(`kubelet: fieldRef ${from.fieldRef.fieldPath} is not modelled`);
    }
    if (from?.secretKeyRef) {
      const s = await this.o.client().get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: from.secretKeyRef.name });
      const data = (s?.data ?? {}) as Record<string, string>;
      const raw = data[from.secretKeyRef.key];
      // A missing Secret or key keeps the container from starting (CreateContainerConfigError).
      if (raw === undefined) throw new Error(`kubelet: secret ${from.secretKeyRef.name} has no key ${from.secretKeyRef.key}`);
      return Buffer.from(raw, 'base64').toString('utf8');
    }
    if (from?.configMapKeyRef) {
      const cm = await this.o.client().get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: from.configMapKeyRef.name });
      return ((cm?.data ?? {}) as Record<string, string>)[from.configMapKeyRef.key];
    }
    return undefined;
  }
}

/** Kubernetes' `$(VAR)` expansion: defined names are replaced, others are left as written. */
export function expand(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}

/**
 * The `adama` arguments of a preStop exec hook (`node … /app/dist/services/cli/main.js <args>`).
 * In a pod, `drain-self` reaches its host on the pod's own 127.0.0.1; here every pod shares the
 * machine's loopback and its host listens on the pod's IP, so the hook is pointed there: without
 * this, the hook would find nothing listening and report the host as already stopped.
 */
function hookArgs(command: readonly string[], podIp: string): string[] | undefined {
  const at = command.indexOf(CLI_PATH);
  if (at < 0) return undefined;
  const args = command.slice(at + 1);
  const port = args[args.indexOf('--port') + 1];
  if (args.includes('drain-self') && !args.includes('--target') && args.includes('--port') && port) args.push('--target', `${podIp}:${port}`);
  return args;
}
