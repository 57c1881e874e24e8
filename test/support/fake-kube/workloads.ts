/**
 * @module workloads
 * The StatefulSet and Deployment controllers, reduced to what an operator observes.
 *
 * StatefulSet: pods `<name>-0 … <name>-(replicas-1)` from the template (labels, annotations,
 * spec; `controller-revision-hash`, `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index`
 * labels; a controller ownerReference). Missing ordinals are created (a deleted pod comes back
 * under the same name once the old one is gone — how OnDelete updates happen), ordinals ≥ replicas
 * are deleted highest first. `OrderedReady` creates one pod at a time and waits for it to be
 * Running and Ready; `Parallel` does not wait. `RollingUpdate` replaces outdated pods ≥ partition,
 * highest first, one at a time once all are ready. Failed pods stay (the real controller
 * recreates them with a backoff; here a test deletes them).
 * Status follows the apps/v1 JSON (zero counters other than replicas/availableReplicas omitted).
 *
 * Deployment: no pods; status says spec.replicas are updated/ready/available unless the test holds
 * it not ready.
 */
import { createHash } from 'node:crypto';
import { rfc3339 } from './admission';
import type { Api } from './api';
import type { Background } from './background';
import { ApiError } from './errors';
import { isObject, type JsonObject, type JsonValue } from './json';
import type { ResourceType } from './registry';
import { asJson, type KubeObject, type StoreEvent } from './store';

const MANAGER = 'kube-controller-manager';
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with sorted keys, so equal templates hash alike whatever their key order. */
function canonical(v: JsonValue | undefined): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

/** `<sts>-<hash>`: the revision a template gets, as `status.updateRevision` and the pods' label show it. */
export function templateRevision(name: string, template: JsonValue | undefined): string {
  const digest = createHash('sha256').update(canonical(template)).digest();
  return `${name}-${[...digest.subarray(0, 10)].map((b) => SAFE[b % SAFE.length]).join('')}`;
}

const spec = (o: KubeObject): JsonObject => (isObject(asJson(o)['spec']) ? (asJson(o)['spec'] as JsonObject) : {});
const status = (o: KubeObject): JsonObject => (isObject(asJson(o)['status']) ? (asJson(o)['status'] as JsonObject) : {});
const ready = (p: KubeObject): boolean =>
  status(p)['phase'] === 'Running' && (Array.isArray(status(p)['conditions']) ? status(p)['conditions'] as JsonValue[] : []).some((c) => isObject(c) && c['type'] === 'Ready' && c['status'] === 'True');
const healthy = (p: KubeObject): boolean => ready(p) && !p.metadata.deletionTimestamp;

/** Drops zero counters, as the `omitempty` JSON tags of apps/v1 do. */
function omitZero(s: JsonObject, keys: string[]): JsonObject {
  for (const k of keys) if (s[k] === 0) delete s[k];
  return s;
}

export class Workloads {
  private readonly queued = new Set<string>();
  private readonly deploymentReady = new Map<string, boolean>();
  private readonly sts: ResourceType;
  private readonly deploy: ResourceType;
  private readonly pods: ResourceType;
  private readonly unsubscribe: () => void;

  constructor(private readonly api: Api, private readonly background: Background, private readonly deploymentsReady: boolean, private readonly now: () => Date) {
    this.sts = api.registry.byKind('apps/v1', 'StatefulSet');
    this.deploy = api.registry.byKind('apps/v1', 'Deployment');
    this.pods = api.registry.byKind('v1', 'Pod');
    this.unsubscribe = api.store.subscribe((e) => this.observe(e));
  }

  stop(): void { this.unsubscribe(); }

  private observe(e: StoreEvent): void {
    const ns = e.object.metadata.namespace ?? '';
    if (e.resource === this.sts) this.enqueue('sts', ns, e.object.metadata.name ?? '');
    else if (e.resource === this.deploy) this.enqueue('deploy', ns, e.object.metadata.name ?? '');
    else if (e.resource === this.pods) {
      const owner = (e.object.metadata.ownerReferences ?? []).find((r) => r.controller === true && r.kind === 'StatefulSet');
      if (owner) this.enqueue('sts', ns, owner.name);
    }
  }

  /** One pending reconcile per object: bursts of events collapse into one pass. */
  private enqueue(kind: 'sts' | 'deploy', namespace: string, name: string): void {
    const key = `${kind}/${namespace}/${name}`;
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.background.run(`reconcile ${key}`, () => {
      this.queued.delete(key);
      if (kind === 'sts') this.reconcileStatefulSet(namespace, name);
      else this.reconcileDeployment(namespace, name);
    });
  }

  setDeploymentReady(namespace: string, name: string, isReady: boolean): void {
    this.deploymentReady.set(`${namespace}/${name}`, isReady);
    this.enqueue('deploy', namespace, name);
  }

  // ---- StatefulSet -------------------------------------------------------------------------

  private reconcileStatefulSet(namespace: string, name: string): void {
    const set = this.api.store.get(this.sts, namespace, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const s = spec(set);
    const replicas = typeof s['replicas'] === 'number' ? s['replicas'] : 1;
    const parallel = s['podManagementPolicy'] === 'Parallel';
    const strategy = isObject(s['updateStrategy']) ? s['updateStrategy'] : {};
    const revision = templateRevision(name, s['template']);
    const ordinalOf = (p: KubeObject): number => Number(new RegExp(`^${name}-(\\d+)$`).exec(p.metadata.name ?? '')?.[1] ?? -1);
    const owned = () => this.api.store.list(this.pods, namespace)
      .filter((p) => (p.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === set.metadata.uid) && ordinalOf(p) >= 0);

    // Scale up / replace: ordinals below replicas, in order.
    for (let i = 0; i < replicas; i++) {
      const podName = `${name}-${i}`;
      const existing = this.api.store.get(this.pods, namespace, podName);
      if (!existing) {
        this.createPod(set, i, revision);
        if (!parallel) break;
      } else if (!parallel && !healthy(existing)) break;
    }

    // Scale down, highest ordinal first; OrderedReady one at a time.
    const condemned = owned().filter((p) => ordinalOf(p) >= replicas && !p.metadata.deletionTimestamp).sort((a, b) => ordinalOf(b) - ordinalOf(a));
    const terminating = owned().some((p) => p.metadata.deletionTimestamp);
    if (parallel) condemned.forEach((p) => this.deletePod(p));
    else if (!terminating && condemned[0]) this.deletePod(condemned[0]);

    if (strategy['type'] !== 'OnDelete') this.rollOne(set, replicas, revision, ordinalOf, owned());
    this.writeStatefulSetStatus(set, revision, owned());
  }

  /** RollingUpdate: once every pod is healthy, replace the highest outdated ordinal ≥ partition. */
  private rollOne(set: KubeObject, replicas: number, revision: string, ordinalOf: (p: KubeObject) => number, pods: KubeObject[]): void {
    const ru = isObject(spec(set)['updateStrategy']) ? (spec(set)['updateStrategy'] as JsonObject)['rollingUpdate'] : undefined;
    const partition = isObject(ru) && typeof ru['partition'] === 'number' ? ru['partition'] : 0;
    const live = pods.filter((p) => ordinalOf(p) < replicas);
    if (live.length < replicas || !live.every(healthy)) return;
    const outdated = live.filter((p) => ordinalOf(p) >= partition && p.metadata.labels?.['controller-revision-hash'] !== revision).sort((a, b) => ordinalOf(b) - ordinalOf(a));
    if (outdated[0]) this.deletePod(outdated[0]);
  }

  private createPod(set: KubeObject, ordinal: number, revision: string): void {
    const setName = set.metadata.name ?? '';
    const namespace = set.metadata.namespace ?? '';
    const podName = `${setName}-${ordinal}`;
    const template = isObject(spec(set)['template']) ? (spec(set)['template'] as JsonObject) : {};
    const tmeta = isObject(template['metadata']) ? template['metadata'] : {};
    const podSpec: JsonObject = { ...(isObject(template['spec']) ? template['spec'] : {}), hostname: podName };
    if (typeof spec(set)['serviceName'] === 'string' && spec(set)['serviceName'] !== '') podSpec['subdomain'] = spec(set)['serviceName'] as string;
    const pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: podName, namespace,
        labels: {
          ...(isObject(tmeta['labels']) ? tmeta['labels'] : {}),
          'controller-revision-hash': revision, 'statefulset.kubernetes.io/pod-name': podName, 'apps.kubernetes.io/pod-index': String(ordinal),
        },
        ...(isObject(tmeta['annotations']) ? { annotations: tmeta['annotations'] } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: setName, uid: set.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: podSpec,
    };
    try {
      this.api.create(this.pods, namespace, pod, { manager: MANAGER });
    } catch (e) {
      if (e instanceof ApiError && e.code === 409) return;
      if (e instanceof ApiError) { this.warn(set, 'FailedCreate', `create Pod ${podName} in StatefulSet ${setName} failed error: ${e.message}`); return; }
      throw e;
    }
  }

  private deletePod(p: KubeObject): void {
    try {
      this.api.delete(this.pods, p.metadata.namespace ?? '', p.metadata.name ?? '', { preconditions: { uid: p.metadata.uid ?? '' } });
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
    }
  }

  /** A Warning Event on the workload, as the controller records a failed pod creation. */
  private warn(owner: KubeObject, reason: string, message: string): void {
    const events = this.api.registry.byKind('v1', 'Event');
    const now = rfc3339(this.now());
    this.api.create(events, owner.metadata.namespace ?? '', {
      apiVersion: 'v1', kind: 'Event',
      metadata: { generateName: `${owner.metadata.name ?? ''}.` },
      involvedObject: { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name ?? '', namespace: owner.metadata.namespace ?? '', uid: owner.metadata.uid ?? '' },
      reason, message, type: 'Warning', source: { component: 'statefulset-controller' }, firstTimestamp: now, lastTimestamp: now, count: 1,
    }, { manager: MANAGER });
  }

  private writeStatefulSetStatus(set: KubeObject, updateRevision: string, pods: KubeObject[]): void {
    const replicas = typeof spec(set)['replicas'] === 'number' ? (spec(set)['replicas'] as number) : 1;
    const old = status(set);
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    const updated = live.filter((p) => p.metadata.labels?.['controller-revision-hash'] === updateRevision).length;
    const readyCount = pods.filter(ready).length;
    // The current revision catches up once every replica runs the update revision.
    let currentRevision = typeof old['currentRevision'] === 'string' ? old['currentRevision'] : updateRevision;
    if (updated === replicas && readyCount >= replicas && live.length === replicas) currentRevision = updateRevision;
    const next = omitZero({
      observedGeneration: set.metadata.generation ?? 1,
      replicas: pods.length,
      readyReplicas: readyCount,
      currentReplicas: live.filter((p) => p.metadata.labels?.['controller-revision-hash'] === currentRevision).length,
      updatedReplicas: updated,
      availableReplicas: readyCount,
      currentRevision,
      updateRevision,
      collisionCount: 0,
    }, ['readyReplicas', 'currentReplicas', 'updatedReplicas']);
    this.api.systemUpdate(this.sts, set.metadata.namespace ?? '', set.metadata.name ?? '', MANAGER, (o) => { asJson(o)['status'] = next; }, 'status');
  }

  // ---- Deployment --------------------------------------------------------------------------

  private reconcileDeployment(namespace: string, name: string): void {
    const d = this.api.store.get(this.deploy, namespace, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const replicas = typeof spec(d)['replicas'] === 'number' ? (spec(d)['replicas'] as number) : 1;
    const isReady = this.deploymentReady.get(`${namespace}/${name}`) ?? this.deploymentsReady;
    const old = status(d);
    const oldConditions = Array.isArray(old['conditions']) ? old['conditions'].filter(isObject) : [];
    const now = rfc3339(this.now());
    // Timestamps move only when a condition's status or reason does, so an idle pass writes nothing.
    const cond = (type: string, ok: boolean, reason: string, message: string): JsonObject => {
      const prev = oldConditions.find((c) => c['type'] === type);
      const st = ok ? 'True' : 'False';
      const same = prev && prev['status'] === st && prev['reason'] === reason;
      return { type, status: st, reason, message, lastUpdateTime: same ? prev['lastUpdateTime'] ?? now : now, lastTransitionTime: prev && prev['status'] === st ? prev['lastTransitionTime'] ?? now : now };
    };
    const available = isReady || replicas === 0;
    const next = omitZero({
      observedGeneration: d.metadata.generation ?? 1,
      replicas, updatedReplicas: replicas,
      readyReplicas: isReady ? replicas : 0, availableReplicas: isReady ? replicas : 0, unavailableReplicas: isReady ? 0 : replicas,
      conditions: [
        cond('Available', available, available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
        cond('Progressing', true, 'NewReplicaSetAvailable', `ReplicaSet "${name}" has successfully progressed.`),
      ],
    }, ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas']);
    this.api.systemUpdate(this.deploy, namespace, name, MANAGER, (o) => { asJson(o)['status'] = next; }, 'status');
  }
}
