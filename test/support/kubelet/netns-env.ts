/**
 * @module netns-env
 * The contract between the process kubelet and the network shim it preloads into every container
 * process (pod-netns-preload.ts): environment variables, not ADAMA_* names, so no `adama` command
 * reads them as flags.
 */
export const NETNS_ENV = {
  /** The pod's IP: binds to any/loopback addresses land here, and the pod's own loopback means it. */
  podIP: 'FAKE_KUBE_POD_IP',
  /** A directory shared by the pod's processes: one file per TCP port something in the pod listens on. */
  portsDir: 'FAKE_KUBE_POD_PORTS',
  /** `http://127.0.0.1:<port>`: the cluster DNS the shim asks for names (resolv.conf's nameserver). */
  dnsUrl: 'FAKE_KUBE_DNS',
  /** The pod's namespace: the first search domain of its resolv.conf. */
  namespace: 'FAKE_KUBE_POD_NAMESPACE',
  /** What `os.hostname()` answers in the pod (spec.hostname, else the pod name). */
  hostname: 'FAKE_KUBE_POD_HOSTNAME',
} as const;

/** The cluster DNS server's answer to one name asked from one namespace. */
export type DnsAnswer =
  | { kind: 'addresses'; addresses: string[] }
  /** Not a cluster name: the shim resolves it as the node would (the real resolver). */
  | { kind: 'external'; name: string }
  | { kind: 'notfound'; reason: string };
