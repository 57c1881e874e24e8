/**
 * @module deployments
 * Proxies, the locator and the archiver are stateless Deployments of the same image. Proxies drain
 * their sockets on SIGTERM (15 s in `adama proxy`), so their grace period is a little longer.
 */
import type { AdamaCluster, TierSpec } from '../api/v1alpha1/types';
import {
  childMeta, containerSecurityContext, databaseEnv, mergeEnv, metricsArgs, names, objectStoreEnv, podNameEnv, redisEnv, selectorLabels, TMP_MOUNT,
  type Component,
} from './common';
import { buildGossipSidecar, localGossipAddress } from './gossip-sidecar';
import type { Container, ContainerPort, Deployment, EnvVar, Probe } from './k8s';
import { buildPodTemplate } from './pod-template';
import { tlsArgs, tlsEnabled, tlsMounts } from './internal-tls';
import { NO_MIGRATE } from './migrate-job';

interface TierShape {
  component: Exclude<Component, 'gossip' | 'config' | 'migrate'>;
  name: string;
  tier: TierSpec;
  args: string[];
  /** Only what this tier's command reads (its flags as ADAMA_<FLAG>); the tier's own env is merged last. */
  env: EnvVar[];
  ports: ContainerPort[];
  probe?: Probe;
  graceSeconds: number;
  /** Gossip sidecar; only proxies among the Deployments carry one. */
  sidecar: boolean;
}

function tierContainer(c: AdamaCluster, s: TierShape): Container {
  const ports = [...s.ports];
  if (c.spec.metrics.enabled && s.component !== 'locator') ports.push({ name: 'metrics', containerPort: c.spec.metrics.port, protocol: 'TCP' });
  return {
    name: s.component,
    image: s.tier.image ?? c.spec.image,
    imagePullPolicy: c.spec.imagePullPolicy,
    args: [...s.args, ...tlsArgs(c, s.component)],
    env: mergeEnv(s.env, s.tier.env),
    envFrom: [{ configMapRef: { name: names.config(c) } }],
    ports,
    ...(s.tier.resources ? { resources: s.tier.resources } : {}),
    ...(s.probe ? { readinessProbe: { ...s.probe, periodSeconds: 5 }, livenessProbe: { ...s.probe, periodSeconds: 10, failureThreshold: 6 } } : {}),
    securityContext: containerSecurityContext(),
    volumeMounts: [TMP_MOUNT, ...tlsMounts(c, s.component)],
  };
}

function buildTierDeployment(c: AdamaCluster, s: TierShape): Deployment {
  const containers = [tierContainer(c, s), ...(s.sidecar ? [buildGossipSidecar(c, 'proxy')] : [])];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMeta(c, s.name, s.component),
    spec: {
      replicas: s.tier.replicas,
      selector: { matchLabels: selectorLabels(c, s.component) },
      // Never below the wanted count during a roll: a new pod is ready before an old one goes.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: buildPodTemplate(c, s.component, containers, s.graceSeconds, s.sidecar ? [s.component, 'gossip'] : [s.component]),
    },
  };
}

export function buildProxyDeployment(c: AdamaCluster): Deployment {
  const p = c.spec.proxies;
  const gossip = c.spec.gossip.enabled;
  // With a locator running, proxies take their membership fallback from it and get no database
  // credentials at all; a cluster without a locator falls back to reading the hosts table.
  const viaLocator = c.spec.locator.replicas > 0;
  return buildTierDeployment(c, {
    component: 'proxy', name: names.proxies(c), tier: p, sidecar: gossip, graceSeconds: 30,
    args: [
      'proxy', '--port', String(p.port), '--bind', '0.0.0.0', ...metricsArgs(c), ...(gossip ? ['--gossip', localGossipAddress(c)] : []),
      ...(viaLocator ? ['--locator', `${names.locator(c)}:${c.spec.locator.port}`] : NO_MIGRATE),
    ],
    env: [podNameEnv('ADAMA_PROXY_ID'), ...(viaLocator ? [] : databaseEnv(c)), ...redisEnv(c)],
    ports: [{ name: 'http', containerPort: p.port, protocol: 'TCP' }],
    probe: { httpGet: { path: '/healthz', port: 'http' } },
  });
}

export function buildLocatorDeployment(c: AdamaCluster): Deployment {
  const l = c.spec.locator;
  return buildTierDeployment(c, {
    component: 'locator', name: names.locator(c), tier: l, sidecar: false, graceSeconds: 20,
    // With mTLS the kubelet's gRPC probe (no TLS) asks the plaintext health-only port instead.
    args: ['locator', '--port', String(l.port), '--bind', '0.0.0.0', ...NO_MIGRATE, ...(tlsEnabled(c) ? ['--health-port', String(c.spec.internalTls.healthPort)] : [])],
    env: databaseEnv(c),
    ports: [{ name: 'grpc', containerPort: l.port, protocol: 'TCP' }],
    probe: { grpc: { port: tlsEnabled(c) ? c.spec.internalTls.healthPort : l.port } },
  });
}

/** Undefined when the archiver is disabled: the reconciler then deletes any old one. */
export function buildArchiverDeployment(c: AdamaCluster): Deployment | undefined {
  const a = c.spec.archiver;
  if (!a.enabled) return undefined;
  return buildTierDeployment(c, {
    component: 'archiver', name: names.archiver(c), tier: a, sidecar: false, graceSeconds: 60,
    // The admin gRPC stays on loopback (its default): `kubectl exec … adama doc archive` reaches it.
    args: ['archiver', ...NO_MIGRATE, ...metricsArgs(c)],
    // --object-store is required: without spec.objectStore the archiver exits at start saying so.
    env: [podNameEnv('ADAMA_WORKER_ID'), ...databaseEnv(c), ...objectStoreEnv(c)],
    ports: [],
  });
}
