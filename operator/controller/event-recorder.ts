/**
 * @module event-recorder
 * Core v1 Events on the AdamaCluster for every step the operator takes (`kubectl describe ac`).
 * Best effort: an Event that cannot be written is logged, never fails a reconcile. The same
 * (object, reason, message) within `repeatWindowMs` is written once, because a level-triggered
 * reconcile repeats itself (a refused scale-down would otherwise post an Event every pass).
 */
import type { Clock } from '../../services/shared/clock';
import type { Logger } from '../../services/shared/log';
import type { KubeClient, KubeObject } from '../kube/kube-client';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export class KubeEventRecorder implements EventRecorder {
  private readonly recent = new Map<string, number>();
  private sequence = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly o: { component: string; instance: string; clock: Clock; log: Logger; repeatWindowMs?: number },
  ) {}

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const now = this.o.clock.nowMs();
    const key = `${obj.metadata.uid ?? obj.metadata.name}\u0000${reason}\u0000${message}`;
    const last = this.recent.get(key);
    if (last !== undefined && now - last < (this.o.repeatWindowMs ?? 600_000)) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
    this.o.log.info({ object: `${obj.metadata.namespace}/${obj.metadata.name}`, type, reason, message }, 'operator.event');
    const at = new Date(now).toISOString();
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      // client-go's naming: unique per object and time without a round trip for generateName.
      metadata: { name: `${obj.metadata.name}.${now.toString(16)}${(this.sequence++).toString(16)}`, namespace: obj.metadata.namespace ?? 'default' },
      involvedObject: {
        apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace,
        uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion,
      },
      type, reason, message: message.slice(0, 1024),
      source: { component: this.o.component },
      reportingComponent: this.o.component,
      reportingInstance: this.o.instance,
      firstTimestamp: at, lastTimestamp: at, count: 1,
    };
    this.client.create(event).catch((err: unknown) => this.o.log.warn({ reason, err: String(err) }, 'operator.event_failed'));
  }
}
