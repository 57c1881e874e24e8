/**
 * @module host-statefulset
 * adama-hosts as a StatefulSet: stable names (`<cluster>-host-<n>`) are stable host ids, and
 * `OnDelete` leaves every pod replacement to the operator, which drains a host before removing it.
 * The replica count is an argument because the drain plan, not the spec, decides it.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import {
  CLI_PATH, childMeta, connectionEnv, containerSecurityContext, mergeEnv, metricsArgs, names, podNameEnv, selectorLabels, TMP_MOUNT,
} from './common';
import { buildGossipSidecar, localGossipAddress } from './gossip-sidecar';
import type { Container, StatefulSet } from './k8s';
import { buildPodTemplate } from './pod-template';

/** Time after the drain for SIGTERM handling and the process exit (s). */
export const GRACE_SLACK_SECONDS = 30;

/**
 * The preStop drain: the same Drain RPC the operator sends, so an eviction or node drain moves
 * documents before SIGTERM. Uses `adama host drain <id>` (looks the host up in the hosts table).
 */
export function hostPreStopCommand(c: AdamaCluster): string[] {
  const timeoutMs = c.spec.hosts.drain.timeoutSeconds * 1000;
  // A shell only to expand $ADAMA_HOST_ID (exec hooks get no $(VAR) substitution); `exec` keeps node as the child.
  return ['/bin/sh', '-c', `exec node --no-node-snapshot ${CLI_PATH} host drain "$ADAMA_HOST_ID" --timeout-ms ${timeoutMs}`];
}

/** The pod's grace period covers the preStop drain plus the SIGTERM shutdown. */
export const hostTerminationGraceSeconds = (c: AdamaCluster): number => c.spec.hosts.drain.timeoutSeconds + GRACE_SLACK_SECONDS;

function hostContainer(c: AdamaCluster): Container {
  const h = c.spec.hosts;
  const ns = c.metadata.namespace;
  const args = [
    'host', '--port', String(h.port), '--bind', '0.0.0.0',
    // The per-pod DNS name of the headless Service: stable across restarts, unlike the pod IP.
    '--advertise', `$(ADAMA_HOST_ID).${names.hosts(c)}.${ns}.svc:${h.port}`,
    ...metricsArgs(c),
    ...(c.spec.gossip.enabled ? ['--gossip', localGossipAddress(c)] : []),
  ];
  const ports = [{ name: 'grpc', containerPort: h.port, protocol: 'TCP' as const }];
  if (c.spec.metrics.enabled) ports.push({ name: 'metrics', containerPort: c.spec.metrics.port, protocol: 'TCP' });
  return {
    name: 'host',
    image: h.image ?? c.spec.image,
    imagePullPolicy: c.spec.imagePullPolicy,
    args,
    env: mergeEnv([podNameEnv('ADAMA_HOST_ID'), ...connectionEnv(c)], h.env),
    envFrom: [{ configMapRef: { name: names.config(c) } }],
    ports,
    ...(h.resources ? { resources: h.resources } : {}),
    readinessProbe: { grpc: { port: h.port }, periodSeconds: 5, failureThreshold: 2 },
    livenessProbe: { grpc: { port: h.port }, periodSeconds: 10, failureThreshold: 6, initialDelaySeconds: 10 },
    lifecycle: { preStop: { exec: { command: hostPreStopCommand(c) } } },
    securityContext: containerSecurityContext(),
    volumeMounts: [TMP_MOUNT],
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
      template: buildPodTemplate(c, 'host', containers, hostTerminationGraceSeconds(c)),
    },
  };
}
