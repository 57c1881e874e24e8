/**
 * @module gossip-sidecar
 * The gossip sidecar in host and proxy pods, with the flags of `adama gossip`
 * (services/cli/commands/gossip.ts). Peers find each other through a headless Service that
 * publishes not-ready addresses: a starting or draining pod must still be reachable by gossip.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import { containerSecurityContext, hostAdvertisedAddress, names, podIpEnv, podNameEnv } from './common';
import type { Container } from './k8s';
import { tlsArgs, tlsMounts } from './internal-tls';

/** The address the main container passes as `--gossip` (the sidecar shares the pod's network). */
export const localGossipAddress = (c: AdamaCluster): string => `127.0.0.1:${c.spec.gossip.port}`;

/** Seeds: the headless peer Service's name, which resolves to every gossiping pod of the cluster. */
export const gossipSeeds = (c: AdamaCluster): string => `${names.gossipPeers(c)}.${c.metadata.namespace}.svc:${c.spec.gossip.port}`;

// Expanded by Kubernetes in args ($(VAR)); not ADAMA_* names, so `adama gossip` never reads them as flags.
const POD_NAME = 'POD_NAME';
const POD_IP = 'POD_IP';

/**
 * The member the sidecar announces: a host by the same id and address its host container uses
 * (pod name, per-pod DNS name), so proxies route to it and hosts match it to the hosts table; a
 * proxy by its URL. A host's sidecar probes the host's health and stops heartbeating (and, once
 * the host reports NOT_SERVING while draining, announces its departure).
 */
function memberArgs(c: AdamaCluster, role: 'host' | 'proxy'): string[] {
  if (role === 'proxy') return ['--member-address', `http://$(${POD_IP}):${c.spec.proxies.port}/`];
  return ['--member-address', hostAdvertisedAddress(c, POD_NAME), '--health', `127.0.0.1:${c.spec.hosts.port}`];
}

export function buildGossipSidecar(c: AdamaCluster, role: 'host' | 'proxy'): Container {
  const port = c.spec.gossip.port;
  return {
    name: 'gossip',
    image: c.spec.image,
    imagePullPolicy: c.spec.imagePullPolicy,
    args: [
      'gossip', '--id', `$(${POD_NAME})`, '--role', role, '--port', String(port), '--bind', '0.0.0.0',
      // Peers reach the sidecar at its pod IP: proxy pods (a Deployment) have no per-pod DNS name.
      '--advertise', `$(${POD_IP}):${port}`, '--seeds', gossipSeeds(c),
      ...memberArgs(c, role),
      ...tlsArgs(c, 'gossip'),
    ],
    env: [podNameEnv(POD_NAME), podIpEnv(POD_IP)],
    envFrom: [{ configMapRef: { name: names.config(c) } }],
    ports: [{ name: 'gossip', containerPort: port, protocol: 'TCP' }],
    ...(c.spec.gossip.resources ? { resources: c.spec.gossip.resources } : {}),
    securityContext: containerSecurityContext(),
    volumeMounts: tlsMounts(c, 'gossip'),
  };
}
