/**
 * @module operator
 * The operator process: campaign for the leader Lease; while leading, run the controller; serve
 * `/metrics`, `/healthz` and `/readyz`. Losing the lease stops every write at once (the controller
 * stops before anything else happens); `onLostLeadership` then decides (the CLI exits so the pod
 * restarts clean, as controller-runtime does; tests campaign again).
 */
import { systemClock, type Clock } from '../services/shared/clock';
import type { Logger } from '../services/shared/log';
import { startTelemetry, type Telemetry } from '../services/shared/telemetry';
import { Controller, DEFAULT_INFORMER_TIMINGS, type InformerTimings } from './controller/controller';
import { KubeEventRecorder } from './controller/event-recorder';
import { GrpcHostProbe, type HostProbe } from './controller/host-probe';
import type { InternalTls } from '../services/grpc/internal-tls';
import type { KubeClient } from './kube/kube-client';
import { DEFAULT_LEADER_TIMINGS, LeaderElector, type LeaderConfig, type LostReason } from './runtime/leader-election';
import type { BackoffConfig } from './runtime/work-queue';

export interface OperatorOptions {
  client: KubeClient;
  /** Pod name; the Lease holder identity and the Events' reportingInstance. */
  identity: string;
  /** Where the leader Lease lives (the operator's own namespace). */
  leaseNamespace: string;
  leaseName?: string;
  /** Namespaces to watch; empty: all. */
  watchNamespaces: readonly string[];
  log: Logger;
  clock?: Clock;
  /** /metrics, /healthz, /readyz; undefined: no endpoint. */
  metricsPort?: number;
  metricsHost?: string;
  workers?: number;
  resyncMs?: number;
  informers?: Partial<InformerTimings>;
  leader?: Partial<Omit<LeaderConfig, 'identity'>>;
  backoff?: BackoffConfig;
  drainPollMs?: number;
  probe?: HostProbe;
  /** The operator's certificate for hosts that require mTLS; plaintext when absent. */
  internalTls?: InternalTls;
  onLostLeadership?: (reason: LostReason) => void;
}

export interface RunningOperator {
  readonly isLeader: boolean;
  /** Leading with synced caches (or standing by): what /readyz reports. */
  readonly ready: boolean;
  readonly metricsPort: number | undefined;
  readonly telemetry: Telemetry;
  /** Clusters the controller keeps per-cluster state for (0 while standing by). */
  readonly trackedClusters: number;
  /** Stops reconciling, hands the lease back, closes the endpoint. */
  close(): Promise<void>;
  /** Stops like a crashed process would: no lease hand-back, so a successor waits for expiry (tests). */
  abandon(): Promise<void>;
}

export const LEASE_NAME = 'adama-operator-leader';

export async function startOperator(o: OperatorOptions): Promise<RunningOperator> {
  const clock = o.clock ?? systemClock;
  const log = o.log;
  const probe = o.probe ?? new GrpcHostProbe(undefined, o.internalTls);
  let controller: Controller | undefined;
  let controllerStop: Promise<void> = Promise.resolve();
  let closing = false;
  // Every timer (systemClock) and the metrics server are unref()'d so no role's process is held up
  // by them; a standby, or a leader whose informers all wait out a backoff, would then hold no
  // handle at all and Node would end the process with code 0. The operator runs until shutdown.
  const keepAlive = setInterval(() => undefined, 2 ** 30);

  /** A standby is ready (it campaigns); a leader once its caches are filled. */
  const isReady = () => !elector.isLeader || (controller?.synced ?? false);
  const telemetry = await startTelemetry({
    service: 'adama-operator', instance: o.identity, log,
    ...(o.metricsPort !== undefined ? { metricsPort: o.metricsPort } : {}),
    ...(o.metricsHost ? { metricsHost: o.metricsHost } : {}),
    routes: {
      '/healthz': () => ({ status: 200, body: 'ok\n' }),
      '/readyz': () => {
        if (!isReady()) return { status: 503, body: 'caches not synced\n' };
        return { status: 200, body: elector.isLeader ? 'leading\n' : 'standing by\n' };
      },
    },
  });
  const events = new KubeEventRecorder(o.client, { component: 'adama-operator', instance: o.identity, clock, log });

  const startLeading = () => {
    telemetry.metrics.operatorLeader.add(1);
    log.info({}, 'operator.leading');
    const c = new Controller({
      client: o.client, probe, events, clock, log, metrics: telemetry.metrics,
      namespaces: o.watchNamespaces, workers: o.workers ?? 2, resyncMs: o.resyncMs ?? 300_000,
      informers: { ...DEFAULT_INFORMER_TIMINGS, ...o.informers },
      ...(o.backoff ? { backoff: o.backoff } : {}),
      ...(o.drainPollMs ? { drainPollMs: o.drainPollMs } : {}),
    });
    controller = c;
    // Start after the previous controller (if any) fully stopped: two never act at once.
    controllerStop.then(() => c.start()).catch((err: unknown) => log.error({ err: String(err) }, 'operator.start_failed'));
  };
  const stopLeading = (reason: LostReason) => {
    telemetry.metrics.operatorLeader.add(-1);
    const c = controller;
    controller = undefined;
    if (c) controllerStop = c.stop();
    if (!closing) {
      log.warn({ reason }, 'operator.leadership_lost');
      o.onLostLeadership?.(reason);
    }
  };
  const elector = new LeaderElector(
    o.client, { namespace: o.leaseNamespace, name: o.leaseName ?? LEASE_NAME },
    { identity: o.identity, ...DEFAULT_LEADER_TIMINGS, ...o.leader },
    { onStartedLeading: startLeading, onStoppedLeading: stopLeading },
    clock, log,
  );
  elector.start();

  let stopping: Promise<void> | undefined;
  const shutdown = (releaseLease: boolean) => (stopping ??= (async () => {
    closing = true;
    const c = controller;
    controller = undefined;
    // Stop writes first, then give the lease back so a standby takes over without waiting it out.
    if (c) await c.stop();
    await controllerStop;
    if (elector.isLeader) telemetry.metrics.operatorLeader.add(-1);
    await elector.stop(releaseLease);
    if (o.probe === undefined) probe.close();
    await telemetry.shutdown();
    clearInterval(keepAlive);
  })());

  return {
    get isLeader() { return elector.isLeader; },
    get ready() { return isReady(); },
    metricsPort: telemetry.metricsPort,
    telemetry,
    get trackedClusters() { return controller?.trackedClusters ?? 0; },
    close: () => shutdown(true),
    abandon: () => shutdown(false),
  };
}
