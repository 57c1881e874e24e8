/**
 * @module operator (command)
 * `adama operator`: the Kubernetes operator for AdamaCluster resources (operator/operator.ts).
 * Reads the API server location from the pod's service account, or $KUBECONFIG outside a pod.
 * Exits 1 when it loses the leader Lease, so Kubernetes restarts it with clean caches.
 */
import { hostname } from 'node:os';
import { createLogger } from '../../shared/log';
import { parseFlags, type FlagSpec } from '../options';
import { runUntilSignal } from '../run-until-signal';
import { INTERNAL_TLS_FLAGS, internalTlsFlags, type Command } from './command';

const flags: FlagSpec = {
  'watch-namespaces': { default: '', help: 'comma-separated namespaces to watch; empty watches all (needs a ClusterRole)' },
  'operator-namespace': { default: 'default', help: 'namespace of the leader-election Lease (the operator\'s own)' },
  'pod-name': { help: 'leader identity (default the hostname)' },
  'metrics-port': { default: '8080', help: 'port of /metrics, /healthz and /readyz' },
  'metrics-host': { default: '127.0.0.1', help: 'interface of that endpoint (0.0.0.0 in a pod)' },
  workers: { default: '2', help: 'clusters reconciled in parallel (one key is never reconciled twice at once)' },
  'resync-seconds': { default: '300', help: 'every cluster is reconciled at least this often' },
  'drain-poll-ms': { default: '5000', help: 'how often a drain in flight is checked' },
  'lease-duration-ms': { default: '15000', help: 'a standby takes over after the leader was silent this long' },
  ...INTERNAL_TLS_FLAGS,
};

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'run the Kubernetes operator that reconciles AdamaCluster resources',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    // Loaded here, not at the top: @kubernetes/client-node adds half a second to every other command (preStop hooks too).
    const { ClientNodeKube } = await import('../../../operator/kube/client-node-kube');
    const { startOperator } = await import('../../../operator/operator');
    const identity = f.get('pod-name') || hostname();
    const log = createLogger('operator').child({ identity });
    const leaseDurationMs = f.int('lease-duration-ms', 3000);
    const watchNamespaces = f.get('watch-namespaces')!.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    let onLost!: () => void;
    const lostLease = new Promise<'lost'>((resolve) => { onLost = () => resolve('lost'); });
    const op = await startOperator({
      client: ClientNodeKube.fromEnvironment(), identity, log, watchNamespaces,
      leaseNamespace: f.get('operator-namespace')!,
      metricsPort: f.int('metrics-port', 0, 65535), metricsHost: f.get('metrics-host')!,
      workers: f.int('workers', 1, 64), resyncMs: f.int('resync-seconds', 10) * 1000, drainPollMs: f.int('drain-poll-ms', 100),
      // client-go's proportions: renew deadline 2/3 of the lease, retries every 2/15 of it.
      leader: { leaseDurationMs, renewDeadlineMs: Math.round(leaseDurationMs * 2 / 3), retryPeriodMs: Math.round(leaseDurationMs * 2 / 15) },
      onLostLeadership: () => onLost(),
      internalTls: internalTlsFlags(f, log, 'client'),
    });
    log.info({ metricsPort: op.metricsPort, watchNamespaces: watchNamespaces.length ? watchNamespaces : 'all' }, 'operator.started');
    const outcome = await Promise.race([runUntilSignal(() => op.close(), log, 30_000), lostLease]);
    if (outcome !== 'lost') return outcome;
    // operator.leadership_lost (with its reason) is logged; leave non-zero so the pod restarts clean.
    // A close stuck on an unreachable API server must not keep a process that stopped leading.
    const force = setTimeout(() => { log.error({ ms: 30_000 }, 'process.stop_timeout'); process.exit(1); }, 30_000);
    force.unref();
    await op.close();
    return 1;
  },
};
