/**
 * @module jobs
 * The Job controller, reduced to what an operator observes of a one-pod Job (completions 1,
 * parallelism 1, NonIndexed): one pod at a time from the template (`generateName` `<job>-`, the
 * template's labels, a controller ownerReference); a pod that Succeeded completes the Job
 * (`succeeded: 1`, `completionTime`, conditions SuccessCriteriaMet and Complete); a pod that
 * Failed counts in `failed` and is replaced, until `failed` exceeds `spec.backoffLimit`: then the
 * conditions FailureTarget and Failed (reason BackoffLimitExceeded), as batch/v1 reports them
 * since Kubernetes 1.31. Retries come at once (the real controller backs off 10 s, 20 s, …);
 * `activeDeadlineSeconds` and suspension are not enforced. Finished pods stay, as they do.
 */
import { rfc3339 } from './admission';
import type { Api } from './api';
import type { Background } from './background';
import { ApiError } from './errors';
import { deepEqual, isObject, type JsonObject, type JsonValue } from './json';
import type { ResourceType } from './registry';
import { asJson, type KubeObject, type StoreEvent } from './store';

const MANAGER = 'kube-controller-manager';

const spec = (o: KubeObject): JsonObject => (isObject(asJson(o)['spec']) ? (asJson(o)['spec'] as JsonObject) : {});
const status = (o: KubeObject): JsonObject => (isObject(asJson(o)['status']) ? (asJson(o)['status'] as JsonObject) : {});
const phaseOf = (p: KubeObject): JsonValue | undefined => status(p)['phase'];

export class Jobs {
  private readonly queued = new Set<string>();
  private readonly jobs: ResourceType;
  private readonly pods: ResourceType;
  private readonly unsubscribe: () => void;

  constructor(private readonly api: Api, private readonly background: Background, private readonly now: () => Date) {
    this.jobs = api.registry.byKind('batch/v1', 'Job');
    this.pods = api.registry.byKind('v1', 'Pod');
    this.unsubscribe = api.store.subscribe((e) => this.observe(e));
  }

  stop(): void { this.unsubscribe(); }

  private observe(e: StoreEvent): void {
    const ns = e.object.metadata.namespace ?? '';
    if (e.resource === this.jobs) this.enqueue(ns, e.object.metadata.name ?? '');
    else if (e.resource === this.pods) {
      const owner = (e.object.metadata.ownerReferences ?? []).find((r) => r.controller === true && r.kind === 'Job');
      if (owner) this.enqueue(ns, owner.name);
    }
  }

  private enqueue(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.background.run(`reconcile job ${key}`, () => {
      this.queued.delete(key);
      this.reconcile(namespace, name);
    });
  }

  private reconcile(namespace: string, name: string): void {
    const job = this.api.store.get(this.jobs, namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const st = status(job);
    const finished = (Array.isArray(st['conditions']) ? st['conditions'] : []).some((c) => isObject(c) && (c['type'] === 'Complete' || c['type'] === 'Failed') && c['status'] === 'True');
    if (finished) return;
    const pods = this.api.store.list(this.pods, namespace).filter((p) => (p.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === job.metadata.uid));
    const succeeded = pods.filter((p) => phaseOf(p) === 'Succeeded').length;
    const failed = pods.filter((p) => phaseOf(p) === 'Failed').length;
    const active = pods.filter((p) => phaseOf(p) !== 'Succeeded' && phaseOf(p) !== 'Failed' && !p.metadata.deletionTimestamp).length;
    const backoffLimit = typeof spec(job)['backoffLimit'] === 'number' ? (spec(job)['backoffLimit'] as number) : 6;
    const now = rfc3339(this.now());
    const condition = (type: string, reason: string, message: string): JsonObject => ({ type, status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now });
    let next: JsonObject;
    if (succeeded > 0) {
      next = {
        ...st, succeeded, failed, active: 0, ready: 0, terminating: 0, completionTime: now,
        conditions: [condition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'), condition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods')],
      };
    } else if (failed > backoffLimit) {
      next = {
        ...st, failed, active: 0, ready: 0, terminating: 0,
        conditions: [condition('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'), condition('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')],
      };
    } else {
      if (active === 0) this.createPod(job);
      next = { ...st, startTime: typeof st['startTime'] === 'string' ? st['startTime'] : now, active: 1, failed, ready: 0, terminating: 0 };
    }
    // Writing an unchanged status would wake this controller again, for ever.
    if (!deepEqual(next, st)) this.api.systemUpdate(this.jobs, namespace, name, MANAGER, (j) => { asJson(j)['status'] = next; }, 'status');
  }

  private createPod(job: KubeObject): void {
    const template = isObject(spec(job)['template']) ? (spec(job)['template'] as JsonObject) : {};
    const tmeta = isObject(template['metadata']) ? template['metadata'] : {};
    const pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        generateName: `${job.metadata.name ?? ''}-`, namespace: job.metadata.namespace ?? '',
        labels: isObject(tmeta['labels']) ? tmeta['labels'] : {},
        ...(isObject(tmeta['annotations']) ? { annotations: tmeta['annotations'] } : {}),
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name ?? '', uid: job.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: isObject(template['spec']) ? template['spec'] : {},
    };
    try {
      this.api.create(this.pods, job.metadata.namespace ?? '', pod, { manager: MANAGER });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  }
}
