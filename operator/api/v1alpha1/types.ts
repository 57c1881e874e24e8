/**
 * @module types
 * The AdamaCluster API (`adama.io/v1alpha1`) as TypeScript. The CRD schema in `crd.ts` describes
 * the same shapes for the API server; a test checks both agree on enums and names.
 */

export const GROUP = 'adama.io';
export const VERSION = 'v1alpha1';
export const KIND = 'AdamaCluster';
export const PLURAL = 'adamaclusters';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Annotations the operator reads or writes; the escape hatches are documented in docs/kubernetes.md. */
export const ANNOTATIONS = {
  /** On the AdamaCluster: "true" stops every change the operator would make. */
  paused: 'adama.io/paused',
  /** On a host pod: RFC 3339 time its drain started; survives an operator restart. */
  draining: 'adama.io/draining',
  /** On the AdamaCluster: "true" lets a deletion skip the drain (data stays in Postgres). */
  skipDrainOnDelete: 'adama.io/skip-drain-on-delete',
} as const;

export const FINALIZER = 'adama.io/drain-hosts';

/** A Secret key holding a connection string; the operator never copies its value. */
export interface SecretKeyRef {
  name: string;
  /** Defaults to `url`. */
  key: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string; optional?: boolean } };
}

export interface ResourceRequirements {
  limits?: Record<string, string | number>;
  requests?: Record<string, string | number>;
}

export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** What every tier has. `image` overrides `spec.image` for this tier only. */
export interface TierSpec {
  replicas: number;
  image?: string;
  resources?: ResourceRequirements;
  env?: EnvVar[];
}

export interface HostTierSpec extends TierSpec {
  /** A scale-down below this is refused (Warning event + `ScaleDownRefused`). */
  minReplicas: number;
  /** gRPC port of adama-host. */
  port: number;
  /** Pod topologySpreadConstraints; unset: across zones and nodes (maxSkew 1, ScheduleAnyway); [] for none. */
  topologySpreadConstraints?: Record<string, unknown>[];
  drain: {
    /** One drain attempt gives up after this long and shows `Failed` (s). Also sets the pod's terminationGracePeriodSeconds. */
    timeoutSeconds: number;
    /** First retry delay after a failed drain; doubled per attempt up to 10 min (s). */
    retryBackoffSeconds: number;
  };
}

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export interface ProxyTierSpec extends TierSpec {
  port: number;
  serviceType: ServiceType;
}

export interface LocatorTierSpec extends TierSpec {
  port: number;
}

export interface ArchiverTierSpec extends TierSpec {
  enabled: boolean;
}

export interface GossipSpec {
  enabled: boolean;
  port: number;
  resources?: ResourceRequirements;
}

/**
 * How the tiers authenticate each other (services/grpc/internal-tls.ts): `insecure` runs them with
 * `--insecure-internal true` (plaintext, logged as a warning by every process); `secrets` mounts
 * one Secret per role that you provide; `certManager` has the operator create one cert-manager
 * `Certificate` per role from `issuerRef` and mount the Secrets cert-manager writes.
 */
export const INTERNAL_TLS_MODES = ['insecure', 'secrets', 'certManager'] as const;
export type InternalTlsMode = (typeof INTERNAL_TLS_MODES)[number];

/** The roles of the pods the operator runs, each with a certificate of its own. */
export const TLS_ROLES = ['host', 'proxy', 'locator', 'archiver', 'gossip'] as const;
export type TlsRole = (typeof TLS_ROLES)[number];

export interface InternalTlsSpec {
  mode: InternalTlsMode;
  /** Secret per role with `ca.crt`, `tls.crt` and `tls.key` (cert-manager's layout); default `<cluster>-<role>-tls`. */
  secretNames?: Partial<Record<TlsRole, string>>;
  /** certManager: the issuer that signs every role's certificate. */
  issuerRef?: { name: string; kind: 'Issuer' | 'ClusterIssuer'; group: string };
  /** Plaintext gRPC health port of hosts and the locator in the TLS modes: the kubelet's gRPC probe speaks no TLS. */
  healthPort: number;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AdamaClusterSpec {
  /** Default image of every tier, e.g. ghcr.io/adama/adama:0.1.0. */
  image: string;
  imagePullPolicy: PullPolicy;
  imagePullSecrets?: { name: string }[];
  logLevel: LogLevel;
  hosts: HostTierSpec;
  proxies: ProxyTierSpec;
  locator: LocatorTierSpec;
  archiver: ArchiverTierSpec;
  gossip: GossipSpec;
  postgres: { secretRef: SecretKeyRef };
  redis?: { secretRef: SecretKeyRef };
  objectStore?: { secretRef: SecretKeyRef };
  metrics: { enabled: boolean; port: number };
  podDisruptionBudgets: { enabled: boolean };
  /** One NetworkPolicy per tier admitting only its callers (operator/specs/network-policies.ts). */
  networkPolicies: { enabled: boolean; operatorNamespace: string; metricsNamespace: string };
  /** mTLS between the tiers: off (`insecure`), your Secrets, or cert-manager Certificates. */
  internalTls: InternalTlsSpec;
}

export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded', 'Draining', 'Synced', 'Migrated'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** Every reason the operator writes; CamelCase, as Kubernetes requires. */
export const REASONS = {
  AllTiersReady: 'AllTiersReady',
  TiersNotReady: 'TiersNotReady',
  Reconciling: 'Reconciling',
  Stable: 'Stable',
  Paused: 'Paused',
  ScaleDownRefused: 'ScaleDownRefused',
  DrainFailed: 'DrainFailed',
  DrainTimedOut: 'DrainTimedOut',
  NoDrain: 'NoDrain',
  Requested: 'Requested',
  MovingStreams: 'MovingStreams',
  ReleasingBindings: 'ReleasingBindings',
  Done: 'Done',
  Deleting: 'Deleting',
  Applied: 'Applied',
  ApplyFailed: 'ApplyFailed',
  InvalidSpec: 'InvalidSpec',
  HostsNotReady: 'HostsNotReady',
  RollBlocked: 'RollBlocked',
  DrainStalled: 'DrainStalled',
  MigrationSucceeded: 'MigrationSucceeded',
  MigrationRunning: 'MigrationRunning',
  MigrationFailed: 'MigrationFailed',
} as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: Reason;
  message: string;
  /** RFC 3339; changes only when `status` flips. */
  lastTransitionTime: string;
  observedGeneration?: number;
}

/**
 * The phase of the one drain in flight — the only drain state (docs/architecture.md §11.3). `Failed` waits out
 * its backoff, then starts again at `Requested`.
 */
export const DRAIN_PHASES = ['Requested', 'MovingStreams', 'ReleasingBindings', 'Done', 'Failed'] as const;
export type DrainPhase = (typeof DRAIN_PHASES)[number];

/** Why a host drains: the cluster shrinks (the pod goes away), or its pod is replaced by a new template. */
export const DRAIN_PURPOSES = ['ScaleDown', 'Roll'] as const;
export type DrainPurpose = (typeof DRAIN_PURPOSES)[number];

export interface DrainStatus {
  /** Pod name of the host being drained (the highest ordinal for a scale-down). */
  host: string;
  /** Absent means ScaleDown (status written before rolls existed). */
  purpose?: DrainPurpose;
  ordinal: number;
  phase: DrainPhase;
  /** RFC 3339: first attempt. */
  startTime: string;
  /** RFC 3339: this attempt; the timeout counts from here. */
  attemptStartTime: string;
  /** Attempts started so far (1 on the first). */
  attempts: number;
  documentsRemaining: number;
  /** RFC 3339: when the count of documents still owned last fell (or the phase advanced). */
  progressTime?: string;
  /**
   * Set while `Failed`: DrainTimedOut or DrainFailed, and when the next attempt may start. While
   * still moving: DrainStalled when nothing moved for a while (the drain goes on).
   */
  reason?: Reason;
  message?: string;
  nextAttemptTime?: string;
}

/** `NotReady`: the pod exists but is not Ready (Pending, starting, failing its probe); it serves nothing. */
export const MEMBER_STATES = ['Serving', 'NotReady', 'Draining', 'Drained', 'Failed'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

export interface MemberStatus {
  name: string;
  ordinal: number;
  state: MemberState;
  ready: boolean;
  documentsRemaining?: number;
  drainStartTime?: string;
  reason?: string;
}

export interface TierStatus {
  desired: number;
  ready: number;
  /** "ready/desired", for the printer columns (JSONPath cannot join two fields). */
  readyOf: string;
}

export interface HostTierStatus extends TierStatus {
  /** Pods the StatefulSet runs now (scale subresource statusReplicasPath). */
  current: number;
  draining: number;
  /** Label selector of host pods (scale subresource labelSelectorPath, for the HPA). */
  selector: string;
}

export interface AdamaClusterStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  paused?: boolean;
  hosts?: HostTierStatus;
  proxies?: TierStatus;
  locator?: TierStatus;
  archiver?: TierStatus;
  members?: MemberStatus[];
  drain?: DrainStatus;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  finalizers?: string[];
}

export interface AdamaCluster {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: AdamaClusterSpec;
  status?: AdamaClusterStatus;
}
