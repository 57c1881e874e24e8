/**
 * @module observe-hosts
 * Fills the drain planner's view of each host pod: the pod object (readiness, deletion, the
 * draining annotation) plus what the host itself reports over gRPC. Probes run in parallel with
 * a short deadline, so one hung host cannot stall a reconcile.
 */
import { ANNOTATIONS } from '../api/v1alpha1/types';
import { ordinalOf, type HostObservation } from '../drain/host-observation';
import type { KubeObject } from '../kube/kube-client';
import type { HostProbe } from './host-probe';

interface PodShape {
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

export const podIp = (pod: KubeObject): string | undefined => (pod as PodShape).status?.podIP || undefined;

/** host:port, with IPv6 addresses bracketed. */
export function podAddress(pod: KubeObject, port: number): string | undefined {
  const ip = podIp(pod);
  if (!ip) return undefined;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

const isReady = (pod: KubeObject): boolean =>
  (pod as PodShape).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** `secure`: the cluster runs mTLS (spec.internalTls), so the probe presents the operator's certificate. */
export async function observeHosts(pods: readonly KubeObject[], port: number, probe: HostProbe, secure: boolean): Promise<HostObservation[]> {
  const withOrdinal = pods.filter((p) => ordinalOf(p.metadata.name) !== undefined);
  return Promise.all(withOrdinal.map(async (pod): Promise<HostObservation> => {
    const address = podAddress(pod, port);
    const report = address ? await probe.status(address, secure) : undefined;
    const drainingSince = pod.metadata.annotations?.[ANNOTATIONS.draining];
    return {
      name: pod.metadata.name,
      ordinal: ordinalOf(pod.metadata.name)!,
      ready: isReady(pod),
      terminating: pod.metadata.deletionTimestamp !== undefined,
      ...(drainingSince ? { drainingSince } : {}),
      ...(report ? { reported: { draining: report.draining, documentsLoaded: report.documentsLoaded } } : {}),
      ...(report?.documentsOwned !== undefined ? { documentsOwned: report.documentsOwned } : {}),
    };
  }));
}
