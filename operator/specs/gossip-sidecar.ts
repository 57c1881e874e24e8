/**
 * @module gossip-sidecar
 * The gossip sidecar in host and proxy pods. Peers find each other through a headless Service that
 * publishes not-ready addresses: a starting or draining pod must still be reachable by gossip.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import { containerSecurityContext, names, podNameEnv } from './common';
import type { Container } from './k8s';

/** The address the main container passes as `--gossip` (the sidecar shares the pod's network). */
export const localGossipAddress = (c: AdamaCluster): string => `127.0.0.1:${c.spec.gossip.port}`;

export function buildGossipSidecar(c: AdamaCluster, role: 'host' | 'proxy'): Container {
  const port = c.spec.gossip.port;
  return {
    name: 'gossip',
    image: c.spec.image,
    imagePullPolicy: c.spec.imagePullPolicy,
    // Flags of `adama gossip` (services/cli/commands/gossip.ts); seeds come from the ConfigMap.
    args: ['gossip', '--member-id', '$(ADAMA_MEMBER_ID)', '--role', role, '--port', String(port), '--bind', '0.0.0.0'],
    env: [podNameEnv('ADAMA_MEMBER_ID')],
    envFrom: [{ configMapRef: { name: names.config(c) } }],
    ports: [{ name: 'gossip', containerPort: port, protocol: 'TCP' }],
    ...(c.spec.gossip.resources ? { resources: c.spec.gossip.resources } : {}),
    securityContext: containerSecurityContext(),
    volumeMounts: [],
  };
}
