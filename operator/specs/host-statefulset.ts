/**
 * @module host-statefulset
 * adama-hosts as a StatefulSet: stable names (`<cluster>-host-<n>`) are stable host ids, and
 * `OnDelete` leaves every pod replacement to the operator, which drains a host before removing it.
 * The replica count is an argument because the drain plan, not the spec, decides it.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import {
  CLI_PATH, childMeta, containerSecurityContext, databaseEnv, hostAdvertisedAddress, mergeEnv, metricsArgs, names, objectStoreEnv, podNameEnv,
  selectorLabels, TMP_MOUNT,
} from './common';
import { NO_MIGRATE } from './migrate-job';
import { LIVENESS_SERVICE } from '../../services/grpc/server';
import { buildGossipSidecar, localGossipAddress } from './gossip-sidecar';
import type { Container, EnvVar, PodTemplate, StatefulSet } from './k8s';
import { buildPodTemplate } from './pod-template';
import { tlsArgs, tlsEnabled, tlsMounts } from './internal-tls';

/** Time after the drain for SIGTERM handling and the process exit (s). */
export const GRACE_SLACK_SECONDS = 30;

/** The host id (`--host-id`) is the pod name: stable across restarts of a StatefulSet pod. */
const HOST_ID_VAR = 'ADAMA_HOST_ID';

const drainTimeoutMs = (c: AdamaCluster): number => c.spec.hosts.drain.timeoutSeconds * 1000;

/**
 * The preStop drain: the same Drain RPC the operator sends, so an eviction or node drain moves
 * documents before SIGTERM. `host drain-self` calls the host in this container directly (no
 * database, no hosts-table lookup: that lease is gone once a drain starts) and exits 0 when the
 * host is already stopped. Exec hooks get no $(VAR) expansion; this needs none, so no shell.
 */
export function hostPreStopCommand(c: AdamaCluster): string[] {
  // With mTLS the hook presents the host's own certificate (Drain admits the host role on loopback).
  return ['node', '--no-node-snapshot', CLI_PATH, 'host', 'drain-self', '--port', String(c.spec.hosts.port), '--timeout-ms', String(drainTimeoutMs(c)), ...tlsArgs(c, 'host')];
}

/** The port the kubelet's gRPC probes ask: the host's own, or with mTLS its plaintext health-only port. */
const probePort = (c: AdamaCluster): number => (tlsEnabled(c) ? c.spec.internalTls.healthPort : c.spec.hosts.port);

/** The pod's grace period covers the preStop drain plus the SIGTERM shutdown. */
export const hostTerminationGraceSeconds = (c: AdamaCluster): number => c.spec.hosts.drain.timeoutSeconds + GRACE_SLACK_SECONDS;

function hostEnv(c: AdamaCluster): EnvVar[] {
  return [
    podNameEnv(HOST_ID_VAR),
    ...databaseEnv(c),
    ...objectStoreEnv(c),
    // SIGTERM runs the same drain as the operator, with the same budget (hostDefaults.shutdownGraceMs).
    { name: 'ADAMA_SHUTDOWN_GRACE_MS', value: String(drainTimeoutMs(c)) },
  ];
}

function hostContainer(c: AdamaCluster): Container {
  const h = c.spec.hosts;
  const args = [
    'host', '--port', String(h.port), '--bind', '0.0.0.0', ...NO_MIGRATE,
    '--advertise', hostAdvertisedAddress(c, HOST_ID_VAR),
    ...metricsArgs(c),
    ...(c.spec.gossip.enabled ? ['--gossip', localGossipAddress(c)] : []),
    ...(tlsEnabled(c) ? ['--health-port', String(c.spec.internalTls.healthPort)] : []),
    ...tlsArgs(c, 'host'),
  ];
  const ports = [{ name: 'grpc', containerPort: h.port, protocol: 'TCP' as const }];
  if (c.spec.metrics.enabled) ports.push({ name: 'metrics', containerPort: c.spec.metrics.port, protocol: 'TCP' });
  return {
    name: 'host',
    image: h.image ?? c.spec.image,
    imagePullPolicy: c.spec.imagePullPolicy,
    args,
    env: mergeEnv(hostEnv(c), h.env),
    envFrom: [{ configMapRef: { name: names.config(c) } }],
    ports,
    ...(h.resources ? { resources: h.resources } : {}),
    // Readiness asks the serving status (NOT_SERVING while draining); liveness asks only whether
    // the process answers, or a drain longer than a minute would get the host restarted mid-drain.
    readinessProbe: { grpc: { port: probePort(c) }, periodSeconds: 5, failureThreshold: 2 },
    livenessProbe: { grpc: { port: probePort(c), service: LIVENESS_SERVICE }, periodSeconds: 10, failureThreshold: 6, initialDelaySeconds: 10 },
    lifecycle: { preStop: { exec: { command: hostPreStopCommand(c) } } },
    securityContext: containerSecurityContext(),
    volumeMounts: [TMP_MOUNT, ...tlsMounts(c, 'host')],
  };
}

export function buildHostStatefulSet(c: AdamaCluster, replicas: number): StatefulSet {
  const containers = [hostContainer(c), ...(c.spec.gossip.enabled ? [buildGossipSidecar(c, 'host')] : [])];
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: childMeta(c, names.hosts(c), 'host'),
    spec: {
      replicas,
      serviceName: names.hosts(c),
      // Hosts are independent; start them together, the operator orders removals itself.
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: selectorLabels(c, 'host') },
      template: withSpread(buildPodTemplate(c, 'host', containers, hostTerminationGraceSeconds(c), c.spec.gossip.enabled ? ['host', 'gossip'] : ['host']), hostSpread(c)),
    },
  };
}

/**
 * Host pods spread across zones, then nodes, so one node or zone going down takes as few hosts as
 * possible. ScheduleAnyway: a cluster with one node still schedules every host. The spec's own
 * list replaces this default ([] turns spreading off).
 */
export function hostSpread(c: AdamaCluster): Record<string, unknown>[] {
  if (c.spec.hosts.topologySpreadConstraints !== undefined) return c.spec.hosts.topologySpreadConstraints;
  const labelSelector = { matchLabels: selectorLabels(c, 'host') };
  return ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: 'ScheduleAnyway', labelSelector }));
}

function withSpread(t: PodTemplate, constraints: Record<string, unknown>[]): PodTemplate {
  return constraints.length === 0 ? t : { ...t, spec: { ...t.spec, topologySpreadConstraints: constraints } };
}
