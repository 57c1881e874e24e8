/**
 * @module kubelet
 * The node side of pods: every pod is bound to node `fake-node`, started through the test's
 * `Kubelet` hook (default: a unique loopback IP, ready at once) and reported Running with the
 * Ready condition (a pod that runs to completion, restartPolicy Never or OnFailure: Succeeded at once). A hook that runs containers for real reports their state as it changes
 * (`report`): phase, pod IP, init and container statuses; the simulator derives the conditions
 * from them (ContainersReady and Ready only when every container and sidecar is ready). A deleted
 * pod is stopped through the hook while it shows its deletionTimestamp, then removed with the
 * kubelet's final zero-grace delete. Start and stop of one pod never overlap.
 */
import type { Api } from './api';
import { rfc3339 } from './admission';
import type { Background } from './background';
import { ApiError, errors } from './errors';
import { clone, isObject, type JsonObject, type JsonValue } from './json';
import type { ResourceType } from './registry';
import { asJson, type KubeObject, type StoreEvent } from './store';

/** A stored pod: the server has named and identified it. */
export type PodObject = KubeObject & { metadata: KubeObject['metadata'] & { name: string; namespace: string; uid: string } };

/**
 * What a hook that runs containers reports about a pod, whenever it changes: the parts of
 * `status` only the node knows. Container statuses are written as given (the core/v1
 * ContainerStatus shape: name, ready, started, restartCount, state, lastState, …).
 */
export interface PodRuntimeReport {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** Known once the pod sandbox exists, before any container starts. */
  podIP?: string;
  /** Every init container ran to completion (restartable sidecars: started). */
  initialized: boolean;
  containerStatuses: JsonObject[];
  initContainerStatuses: JsonObject[];
}

/** Lets a test run real processes for pods. */
export interface Kubelet {
  /**
   * Called once per pod after it is bound. A hook that never calls `report` gets the pod marked
   * Running (ready as it answers) when this resolves; one that reports owns the status from its
   * first report on, and its resolved value is ignored. Throwing makes the pod Failed.
   */
  start(pod: PodObject, report: (r: PodRuntimeReport) => void): Promise<{ podIP?: string; ready?: boolean }>;
  /** Called when a started pod is deleted, before the object disappears (and for running pods on close). */
  stop(pod: PodObject): Promise<void>;
}

/** A copy for a hook: hooks may keep or change what they get without touching the store. */
const forHook = (pod: KubeObject): PodObject => structuredClone(pod) as PodObject;

export const NODE_NAME = 'fake-node';
const HOST_IP = '127.0.0.1';

/** 127.0.0.2, 127.0.0.3, … then 127.0.1.0 onwards: never reused within one fake. */
export function defaultKubelet(): Kubelet {
  let next = 2;
  return {
    start: async () => {
      const n = next++;
      return { podIP: `127.0.${Math.floor(n / 256)}.${n % 256}`, ready: true };
    },
    stop: async () => undefined,
  };
}

interface PodState {
  /** Start, then stop, chained so they never overlap. */
  chain: Promise<void>;
  started: boolean;
  stopping: boolean;
  /** The hook reported at least once: it owns the status. */
  reported: boolean;
  readyOverride?: boolean;
  pod: KubeObject;
}

const condition = (type: string, status: boolean, now: string): JsonObject =>
  ({ type, status: status ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: now });

/** Sets one condition, moving lastTransitionTime only when its status flips. */
function setCondition(status: JsonObject, type: string, value: boolean, now: string): void {
  const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter(isObject) : [];
  const c = conditions.find((x) => x['type'] === type);
  const s = value ? 'True' : 'False';
  if (!c) conditions.push(condition(type, value, now));
  else if (c['status'] !== s) { c['status'] = s; c['lastTransitionTime'] = now; }
  status['conditions'] = conditions;
}

/** Sets Ready/ContainersReady and containerStatuses[].ready (a test's override, or the default hook). */
function setReadiness(status: JsonObject, ready: boolean, now: string): void {
  for (const type of ['Ready', 'ContainersReady']) setCondition(status, type, ready, now);
  if (Array.isArray(status['containerStatuses'])) for (const cs of status['containerStatuses']) if (isObject(cs)) cs['ready'] = ready;
}

/** Names of the pod's restartable init containers (native sidecars): they count towards readiness. */
function sidecarNames(pod: KubeObject): Set<string> {
  const spec = asJson(pod)['spec'];
  const init = isObject(spec) && Array.isArray(spec['initContainers']) ? spec['initContainers'].filter(isObject) : [];
  return new Set(init.filter((c) => c['restartPolicy'] === 'Always').map((c) => String(c['name'])));
}

/** restartPolicy Never or OnFailure: the pod ends when its containers do (a Job's pod). */
function runsToCompletion(pod: KubeObject): boolean {
  const spec = asJson(pod)['spec'];
  const policy = isObject(spec) ? spec['restartPolicy'] : undefined;
  return policy === 'Never' || policy === 'OnFailure';
}

export class KubeletSimulator {
  private readonly pods = new Map<string, PodState>();
  private readonly podType: ResourceType;
  private readonly unsubscribe: () => void;
  /** Closing: late reports from hooks still stopping their processes are dropped. */
  private closed = false;

  constructor(private readonly api: Api, private readonly background: Background, private readonly kubelet: Kubelet, private readonly now: () => Date) {
    this.podType = api.registry.byKind('v1', 'Pod');
    this.unsubscribe = api.store.subscribe((e) => { if (e.resource === this.podType) this.observe(e); });
  }

  private observe(e: StoreEvent): void {
    const uid = e.object.metadata.uid ?? '';
    let state = this.pods.get(uid);
    if (!state && e.type !== 'DELETED') {
      const fresh: PodState = { chain: Promise.resolve(), started: false, stopping: false, reported: false, pod: e.object };
      this.pods.set(uid, fresh);
      state = fresh;
      this.enqueue(fresh, `kubelet: start ${e.object.metadata.name ?? ''}`, () => this.start(fresh));
    }
    if (!state) return;
    state.pod = e.object;
    if ((e.type === 'DELETED' || e.object.metadata.deletionTimestamp) && !state.stopping) {
      state.stopping = true;
      const s = state;
      this.enqueue(s, `kubelet: stop ${e.object.metadata.name ?? ''}`, () => this.stop(s, e.type === 'DELETED'));
    }
  }

  private enqueue(state: PodState, label: string, step: () => Promise<void>): void {
    const run = state.chain.then(step);
    state.chain = run.catch(() => undefined);
    this.background.run(label, () => run);
  }

  private podRef(p: KubeObject): [string, string] { return [p.metadata.namespace ?? '', p.metadata.name ?? '']; }

  private async start(state: PodState): Promise<void> {
    if (state.stopping) return;
    const [ns, name] = this.podRef(state.pod);
    const bound = this.api.systemUpdate(this.podType, ns, name, 'kube-scheduler', (p) => {
      const spec = asJson(p)['spec'];
      if (isObject(spec)) spec['nodeName'] = NODE_NAME;
    });
    if (!bound || state.stopping) return;
    state.started = true;
    let result: { podIP?: string; ready?: boolean };
    try {
      result = await this.kubelet.start(forHook(bound), (r) => this.applyReport(state, r));
    } catch (e) {
      this.api.systemUpdate(this.podType, ns, name, 'kubelet', (p) => {
        asJson(p)['status'] = { ...(asJson(p)['status'] as JsonObject), phase: 'Failed', reason: 'StartError', message: e instanceof Error ? e.message : String(e) };
      }, 'status');
      return;
    }
    if (state.stopping || state.reported) return;
    const now = rfc3339(this.now());
    const podIP = result.podIP ?? '';
    const ready = state.readyOverride ?? result.ready ?? true;
    // A pod that runs to completion (a Job's) ran its containers and they exited 0.
    const done = runsToCompletion(state.pod);
    this.api.systemUpdate(this.podType, ns, name, 'kubelet', (p) => {
      const spec = asJson(p)['spec'];
      const containers = isObject(spec) && Array.isArray(spec['containers']) ? spec['containers'].filter(isObject) : [];
      const status: JsonObject = {
        ...(asJson(p)['status'] as JsonObject),
        phase: done ? 'Succeeded' : 'Running', hostIP: HOST_IP, hostIPs: [{ ip: HOST_IP }],
        ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
        startTime: now,
        conditions: [...(done ? [] : ['PodReadyToStartContainers']), 'Initialized', 'PodScheduled'].map((t) => condition(t, true, now)),
        containerStatuses: containers.map((c): JsonValue => ({
          name: c['name'] ?? '', image: c['image'] ?? '', imageID: '', containerID: `fake://${p.metadata.uid ?? ''}/${String(c['name'])}`,
          ready: ready && !done, started: !done, restartCount: 0,
          state: done ? { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } } : { running: { startedAt: now } },
        })),
      };
      setReadiness(status, ready && !done, now);
      asJson(p)['status'] = status;
    }, 'status');
  }

  /**
   * A hook's report: phase, IPs and container statuses as given; PodReadyToStartContainers once
   * there is an IP; Initialized from the report; ContainersReady when every container and native
   * sidecar is ready (after init); Ready the same, unless the pod is terminating (then False, as
   * on stop) or a test holds it with `setPodReady`.
   */
  private applyReport(state: PodState, r: PodRuntimeReport): void {
    if (this.closed) return;
    state.reported = true;
    const [ns, name] = this.podRef(state.pod);
    this.api.systemUpdate(this.podType, ns, name, 'kubelet', (p) => {
      // A late report of a pod that is gone must not land on its successor of the same name.
      if (p.metadata.uid !== state.pod.metadata.uid) return;
      const now = rfc3339(this.now());
      const old = isObject(asJson(p)['status']) ? (asJson(p)['status'] as JsonObject) : {};
      const status: JsonObject = {
        ...old,
        phase: r.phase, hostIP: HOST_IP, hostIPs: [{ ip: HOST_IP }],
        ...(r.podIP ? { podIP: r.podIP, podIPs: [{ ip: r.podIP }] } : {}),
        startTime: typeof old['startTime'] === 'string' ? old['startTime'] : now,
        containerStatuses: r.containerStatuses.map((c) => clone(c)),
        ...(r.initContainerStatuses.length > 0 ? { initContainerStatuses: r.initContainerStatuses.map((c) => clone(c)) } : {}),
      };
      setCondition(status, 'PodScheduled', true, now);
      setCondition(status, 'PodReadyToStartContainers', r.podIP !== undefined, now);
      setCondition(status, 'Initialized', r.initialized, now);
      const sidecars = sidecarNames(p);
      const containersReady = r.initialized && r.containerStatuses.every((c) => c['ready'] === true)
        && r.initContainerStatuses.filter((c) => sidecars.has(String(c['name']))).every((c) => c['ready'] === true);
      setCondition(status, 'ContainersReady', containersReady, now);
      setCondition(status, 'Ready', state.readyOverride ?? (containersReady && !state.stopping), now);
      asJson(p)['status'] = status;
    }, 'status');
  }

  private async stop(state: PodState, alreadyGone: boolean): Promise<void> {
    const [ns, name] = this.podRef(state.pod);
    if (!alreadyGone) {
      // Terminating containers stop being ready, so endpoints and readyReplicas drop them at once.
      this.api.systemUpdate(this.podType, ns, name, 'kubelet', (p) => {
        const status = asJson(p)['status'];
        if (isObject(status) && status['phase'] === 'Running') setReadiness(status, false, rfc3339(this.now()));
      }, 'status');
    }
    if (state.started) await this.kubelet.stop(forHook(state.pod));
    this.pods.delete(state.pod.metadata.uid ?? '');
    if (alreadyGone) return;
    try {
      this.api.delete(this.podType, ns, name, { gracePeriodSeconds: 0, preconditions: { uid: state.pod.metadata.uid ?? '' } });
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
    }
  }

  /** Flips Ready; a pod still starting keeps the value when it comes up. */
  setReady(namespace: string, name: string, ready: boolean): void {
    const pod = this.api.store.get(this.podType, namespace, name);
    if (!pod) throw errors.notFound({ resource: 'pods', group: '', name });
    const state = this.pods.get(pod.metadata.uid ?? '');
    if (state) state.readyOverride = ready;
    this.api.systemUpdate(this.podType, namespace, name, 'kubelet', (p) => {
      const status = asJson(p)['status'];
      if (isObject(status) && status['phase'] === 'Running') setReadiness(status, ready, rfc3339(this.now()));
    }, 'status');
  }

  /** Stops every pod still running (the fake is closing): real processes must not outlive the test. */
  async stopAll(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    const running = [...this.pods.values()];
    this.pods.clear();
    await Promise.allSettled(running.map(async (s) => {
      await s.chain;
      if (s.started && !s.stopping) await this.kubelet.stop(forHook(s.pod));
    }));
  }
}
