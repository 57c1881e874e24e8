/**
 * @module host-observation
 * What the reconciler saw of one host pod this pass. The shell fills it from the pod, the host's
 * Status RPC and a count of `directory` rows; the planners never look anywhere else.
 */
export interface HostObservation {
  /** Pod name, also the host id. */
  name: string;
  ordinal: number;
  ready: boolean;
  /** The pod has a deletionTimestamp. */
  terminating: boolean;
  /** Value of the adama.io/draining annotation (RFC 3339 start time), if set. */
  drainingSince?: string;
  /** From the Status RPC; undefined when the host did not answer. */
  reported?: { draining: boolean; documentsLoaded: number };
  /** `directory` rows this host owns; undefined when Postgres could not be asked. */
  documentsOwned?: number;
}

/** The StatefulSet ordinal of a pod name (`<set>-<n>`), or undefined. */
export function ordinalOf(podName: string): number | undefined {
  const m = /-(\d+)$/.exec(podName);
  return m ? Number(m[1]) : undefined;
}
