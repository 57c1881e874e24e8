/**
 * @module kubelet
 * The node side of pods: every pod is bound to node `fake-node`, started through the test's
 * `Kubelet` hook (default: a unique loopback IP, ready at once) and reported Running with the
 * Ready condition. A deleted pod is stopped through the hook while it shows its deletionTimestamp,
 * then removed with the kubelet's final zero-grace delete. Start and stop of one pod never overlap.
 */
import type { Api } from './api';
import { rfc3339 } from './admission';
import type { Background } from './background';
import { ApiError, errors } from './errors';
import { isObject, type JsonObject, type JsonValue } from './json';
import type { ResourceType } from './registry';
import { asJson, type KubeObject, type StoreEvent } from './store';

/** A stored pod: the server has named and identified it. */
export type PodObject = KubeObject & { metadata: KubeObject['metadata'] & { name: string; namespace: string; uid: string } };

/** Lets a test run real processes for pods. */
export interface Kubelet {
  /** Called once per pod after it is bound; the pod is Running afterwards (Failed if this throws). */
  start(pod: PodObject): Promise<{ podIP?: string; ready?: boolean }>;
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
  readyOverride?: boolean;
  pod: KubeObject;
}

const condition = (type: string, status: boolean, now: string): JsonObject =>
  ({ type, status: status ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: now });

/** Sets Ready/ContainersReady (moving lastTransitionTime only on a flip) and containerStatuses[].ready. */
function setReadiness(status: JsonObject, ready: boolean, now: string): void {
  const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter(isObject) : [];
  for (const type of ['Ready', 'ContainersReady']) {
    const c = conditions.find((x) => x['type'] === type);
    const s = ready ? 'True' : 'False';
    if (!c) conditions.push(condition(type, ready, now));
    else if (c['status'] !== s) { c['status'] = s; c['lastTransitionTime'] = now; }
  }
  status['conditions'] = conditions;
  if (Array.isArray(status['containerStatuses'])) for (const cs of status['containerStatuses']) if (isObject(cs)) cs['ready'] = ready;
}

export class KubeletSimulator {
  private readonly pods = new Map<string, PodState>();
  private readonly podType: ResourceType;
  private readonly unsubscribe: () => void;

  constructor(private readonly api: Api, private readonly background: Background, private readonly kubelet: Kubelet, private readonly now: () => Date) {
    this.podType = api.registry.byKind('v1', 'Pod');
    this.unsubscribe = api.store.subscribe((e) => { if (e.resource === this.podType) this.observe(e); });
  }

  private observe(e: StoreEvent): void {
    const uid = e.object.metadata.uid ?? '';
    let state = this.pods.get(uid);
    if (!state && e.type !== 'DELETED') {
      const fresh: PodState = { chain: Promise.resolve(), started: false, stopping: false, pod: e.object };
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
      result = await this.kubelet.start(forHook(bound));
    } catch (e) {
      this.api.systemUpdate(this.podType, ns, name, 'kubelet', (p) => {
        asJson(p)['status'] = { ...(asJson(p)['status'] as JsonObject), phase: 'Failed', reason: 'StartError', message: e instanceof Error ? e.message : String(e) };
      }, 'status');
      return;
    }
    if (state.stopping) return;
    const now = rfc3339(this.now());
    const podIP = result.podIP ?? '';
    const ready = state.readyOverride ?? result.ready ?? true;
    this.api.systemUpdate(this.podType, ns, name, 'kubelet', (p) => {
      const spec = asJson(p)['spec'];
      const containers = isObject(spec) && Array.isArray(spec['containers']) ? spec['containers'].filter(isObject) : [];
      const status: JsonObject = {
        ...(asJson(p)['status'] as JsonObject),
        phase: 'Running', hostIP: HOST_IP, hostIPs: [{ ip: HOST_IP }],
        ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
        startTime: now,
        conditions: ['PodReadyToStartContainers', 'Initialized', 'PodScheduled'].map((t) => condition(t, true, now)),
        containerStatuses: containers.map((c): JsonValue => ({
          name: c['name'] ?? '', image: c['image'] ?? '', imageID: '', containerID: `fake://${p.metadata.uid ?? ''}/${String(c['name'])}`,
          ready, started: true, restartCount: 0, state: { running: { startedAt: now } },
        })),
      };
      setReadiness(status, ready, now);
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
    this.unsubscribe();
    const running = [...this.pods.values()];
    this.pods.clear();
    await Promise.allSettled(running.map(async (s) => {
      await s.chain;
      if (s.started && !s.stopping) await this.kubelet.stop(forHook(s.pod));
    }));
  }
}
