/**
 * @module crd
 * The one source of the `adamaclusters.adama.io` CustomResourceDefinition. `write-crd.ts` renders it
 * to deploy/crds/ and charts/adama/templates/crds/; test/deploy/crd.test.ts fails on drift.
 * The schema is structural (every field typed) so the API server can default and prune it.
 */
import {
  CONDITION_TYPES, DRAIN_PHASES, DRAIN_PURPOSES, GROUP, INTERNAL_TLS_MODES, KIND, LOG_LEVELS, MEMBER_STATES, PLURAL, PULL_POLICIES, SERVICE_TYPES, TLS_ROLES, VERSION,
} from './types';

/** A JSON-schema node as the API server accepts it (`x-kubernetes-*` extensions included). */
export type Schema = { [key: string]: unknown };

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (extra: Schema = {}): Schema => ({ type: 'integer', format: 'int32', ...extra });
const bool = (dflt: boolean): Schema => ({ type: 'boolean', default: dflt });
const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({ type: 'object', properties, ...extra });
const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });
const port = (dflt: number): Schema => int({ default: dflt, minimum: 1, maximum: 65535 });
const time = (): Schema => str({ format: 'date-time' });

const quantity: Schema = { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }], pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$' };
const resources: Schema = obj({
  limits: { type: 'object', additionalProperties: quantity },
  requests: { type: 'object', additionalProperties: quantity },
}, { description: 'Container resources, as in a Pod spec.' });

const keyRef = obj({ name: str({ minLength: 1 }), key: str({ minLength: 1 }), optional: { type: 'boolean' } }, { required: ['name', 'key'] });
const env: Schema = arr(obj({
  name: str({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
  value: str(),
  valueFrom: obj({ secretKeyRef: keyRef, configMapKeyRef: keyRef }),
}, { required: ['name'] }), {
  description: 'Extra environment (e.g. ADAMA_DOC_QUEUE_DEPTH). Secrets only through valueFrom.secretKeyRef.',
  'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
});

const secretRef = (what: string): Schema => obj({
  secretRef: obj({ name: str({ minLength: 1 }), key: str({ default: 'url', minLength: 1 }) }, { required: ['name'] }),
}, { required: ['secretRef'], description: `${what} connection string, read from a Secret key; never inline.` });

const tier = (replicas: number, extra: Record<string, Schema> = {}): Schema => obj({
  replicas: int({ default: replicas, minimum: 0 }),
  image: str({ description: 'Overrides spec.image for this tier.' }),
  resources,
  env,
  ...extra,
}, { default: {} });

/**
 * The cross-field rules of operator/controller/validate-spec.ts that CEL can say, checked by the API
 * server at admission (Kubernetes >= 1.25; the chart requires 1.27), so `kubectl apply` refuses
 * the spec instead of the operator reporting InvalidSpec later. The operator keeps its own check
 * for servers that skip them. Rules run after defaulting, so every field they read is present.
 */
function specRules(): Schema[] {
  // [the field under spec, when it is in use]
  const ports: [string, string | undefined][] = [
    ['hosts.port', undefined], ['proxies.port', undefined], ['locator.port', undefined], ['gossip.port', 'self.gossip.enabled'], ['metrics.port', 'self.metrics.enabled'],
    ['internalTls.healthPort', "self.internalTls.mode != 'insecure'"],
  ];
  const rules: Schema[] = [
    { rule: '!self.archiver.enabled || has(self.objectStore)', message: 'spec.archiver.enabled needs spec.objectStore (the archiver has nowhere to write)' },
    { rule: "self.internalTls.mode != 'certManager' || has(self.internalTls.issuerRef)", message: 'spec.internalTls.mode certManager needs spec.internalTls.issuerRef' },
  ];
  ports.forEach(([a, ca], i) => ports.slice(i + 1).forEach(([b, cb]) => {
    const when = [ca, cb].filter((x): x is string => x !== undefined);
    const differ = `self.${a} != self.${b}`;
    rules.push({ rule: when.length ? `!(${when.join(' && ')}) || ${differ}` : differ, message: `spec.${a} and spec.${b} must differ` });
  }));
  return rules;
}

const specSchema: Schema = obj({
  image: str({ minLength: 1, description: 'Image of every tier (one image, role chosen by args).' }),
  imagePullPolicy: str({ enum: [...PULL_POLICIES], default: 'IfNotPresent' }),
  imagePullSecrets: arr(obj({ name: str() }, { required: ['name'] })),
  logLevel: str({ enum: [...LOG_LEVELS], default: 'info' }),
  hosts: tier(3, {
    minReplicas: int({ default: 1, minimum: 1, description: 'A scale-down below this is refused (at least 1: a cluster without hosts serves nothing).' }),
    port: port(7100),
    topologySpreadConstraints: arr({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
    drain: obj({
      timeoutSeconds: int({ default: 300, minimum: 10, maximum: 3600, description: 'One drain attempt; also the pod grace period.' }),
      retryBackoffSeconds: int({ default: 30, minimum: 1, maximum: 600 }),
    }, { default: {} }),
  }),
  proxies: tier(2, { port: port(8080), serviceType: str({ enum: [...SERVICE_TYPES], default: 'ClusterIP' }) }),
  locator: tier(1, { port: port(7000) }),
  archiver: tier(1, { enabled: bool(false) }),
  gossip: obj({ enabled: bool(true), port: port(7946), resources }, { default: {} }),
  postgres: secretRef('PostgreSQL'),
  redis: secretRef('Redis'),
  objectStore: secretRef('Object store (fs:<dir> or s3://bucket/prefix)'),
  metrics: obj({ enabled: bool(true), port: port(9464) }, { default: {} }),
  podDisruptionBudgets: obj({ enabled: bool(true) }, { default: {} }),
  networkPolicies: obj({ enabled: bool(false), operatorNamespace: str({ default: 'adama-system' }), metricsNamespace: str({ default: '' }) }, { default: {} }),
  internalTls: obj({
    mode: str({ enum: [...INTERNAL_TLS_MODES], default: 'insecure' }),
    secretNames: obj(Object.fromEntries(TLS_ROLES.map((r) => [r, str({ minLength: 1 })]))),
    issuerRef: obj({ name: str({ minLength: 1 }), kind: str({ enum: ['Issuer', 'ClusterIssuer'], default: 'Issuer' }), group: str({ default: 'cert-manager.io' }) }, { required: ['name'] }),
    healthPort: port(7101),
  }, { default: {} }),
}, { required: ['image', 'postgres'], 'x-kubernetes-validations': specRules() });

const tierStatus = (extra: Record<string, Schema> = {}): Schema => obj({ desired: int(), ready: int(), readyOf: str(), ...extra });

const drainStatus: Schema = obj({
  host: str(), ordinal: int(), phase: str({ enum: [...DRAIN_PHASES] }), purpose: str({ enum: [...DRAIN_PURPOSES] }),
  startTime: time(), attemptStartTime: time(), attempts: int(), documentsRemaining: int(), progressTime: time(),
  reason: str(), message: str(), nextAttemptTime: time(),
}, { required: ['host', 'ordinal', 'phase', 'startTime', 'attemptStartTime', 'attempts'] });

const statusSchema: Schema = obj({
  observedGeneration: { type: 'integer', format: 'int64' },
  paused: { type: 'boolean' },
  conditions: arr(obj({
    type: str({ enum: [...CONDITION_TYPES] }),
    status: str({ enum: ['True', 'False', 'Unknown'] }),
    reason: str({ pattern: '^[A-Z][A-Za-z0-9]*$', maxLength: 1024 }),
    message: str({ maxLength: 32768 }),
    lastTransitionTime: time(),
    observedGeneration: { type: 'integer', format: 'int64' },
  }, { required: ['type', 'status', 'reason', 'lastTransitionTime'] }), { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  hosts: tierStatus({ current: int(), draining: int(), selector: str() }),
  proxies: tierStatus(),
  locator: tierStatus(),
  archiver: tierStatus(),
  members: arr(obj({
    name: str(), ordinal: int(), state: str({ enum: [...MEMBER_STATES] }), ready: { type: 'boolean' },
    documentsRemaining: int(), drainStartTime: time(), reason: str(),
  }, { required: ['name', 'ordinal', 'state'] })),
  drain: drainStatus,
});

const readyCondition = '.status.conditions[?(@.type=="Ready")]';

/**
 * What `kubectl explain` shows for each field, by path (array items are skipped in the path). A
 * path not listed takes the entry of its longest listed suffix (`env.name` covers every tier's
 * env). test/deploy/crd.test.ts fails for a field left without one.
 */
const DESCRIPTIONS: Record<string, string> = {
  apiVersion: 'APIVersion of this object: adama.io/v1alpha1.',
  kind: 'Kind of this object: AdamaCluster.',
  metadata: 'Standard object metadata. Annotations adama.io/paused and adama.io/skip-drain-on-delete are read by the operator.',
  spec: 'The desired cluster. The operator applies children from it; status says how far it got.',
  status: 'What the operator observed and did; written only by the operator.',
  'spec.imagePullPolicy': 'Pull policy of every container.',
  'spec.imagePullSecrets': 'Secrets (in this namespace) for pulling the image.',
  'imagePullSecrets.name': 'Name of a docker-registry Secret.',
  'spec.logLevel': 'ADAMA_LOG_LEVEL of every tier (in the ConfigMap).',
  'spec.hosts': 'The host StatefulSet: adama host processes that own documents. Scaled through the scale subresource; shrinking drains.',
  'spec.proxies': 'The proxy Deployment: the WebSocket edge clients connect to.',
  'spec.locator': 'The locator Deployment: answers which host owns a document.',
  'spec.archiver': 'The archiver Deployment: moves cold documents to the object store.',
  'spec.archiver.enabled': 'Run the archiver (needs spec.objectStore).',
  replicas: 'Number of pods of this tier.',
  'spec.hosts.replicas': 'Number of hosts. A decrease drains the highest ordinal first, one host at a time.',
  resources: 'Container resources, as in a Pod spec.',
  limits: 'Resource limits (quantities by resource name).',
  requests: 'Resource requests (quantities by resource name).',
  env: 'Extra environment (e.g. ADAMA_DOC_QUEUE_DEPTH). Secrets only through valueFrom.secretKeyRef.',
  'env.name': 'Environment variable name.',
  'env.value': 'Literal value.',
  'env.valueFrom': 'Value from a Secret or ConfigMap key.',
  secretKeyRef: 'A key of a Secret in this namespace.',
  configMapKeyRef: 'A key of a ConfigMap in this namespace.',
  'KeyRef.name': 'Name of the Secret or ConfigMap.',
  'KeyRef.key': 'Key within it.',
  'KeyRef.optional': 'Start the container even when the key is missing.',
  port: 'Container port of this tier\'s main service.',
  'spec.hosts.port': 'gRPC port of the host (proxies, locator, operator and drain-self reach it here).',
  'spec.proxies.port': 'HTTP/WebSocket port of the proxy.',
  'spec.locator.port': 'gRPC port of the locator.',
  'spec.proxies.serviceType': 'Type of the proxy Service clients reach.',
  'spec.hosts.drain': 'How a host is drained before it is removed or replaced.',
  'spec.hosts.drain.retryBackoffSeconds': 'Wait after a failed attempt before the next; doubles up to 10 min.',
  'spec.hosts.topologySpreadConstraints': 'Pod topologySpreadConstraints of host pods. Unset: spread across zones and nodes (maxSkew 1, ScheduleAnyway); [] turns spreading off.',
  'spec.gossip': 'The adama gossip sidecar beside every host and proxy (membership and health).',
  'spec.gossip.enabled': 'Run the sidecar.',
  'spec.gossip.port': 'Gossip port of the sidecar (peers reach it on the pod IP).',
  'spec.gossip.resources': 'Resources of the sidecar container.',
  'spec.redis': 'Redis connection string for the proxies, read from a Secret key.',
  'spec.objectStore': 'Object store (fs:<dir> or s3://bucket/prefix) for hosts and the archiver, read from a Secret key.',
  'spec.postgres': 'PostgreSQL connection string for every tier, read from a Secret key; never inline.',
  secretRef: 'The Secret holding the connection string.',
  'secretRef.name': 'Secret name, in the cluster\'s namespace.',
  'secretRef.key': 'Key within the Secret.',
  'spec.metrics': 'Prometheus /metrics on every pod.',
  'spec.metrics.enabled': 'Serve /metrics (ADAMA_METRICS_PORT).',
  'spec.metrics.port': 'Port of /metrics on every pod.',
  'spec.podDisruptionBudgets': 'PodDisruptionBudgets of one unavailable pod per tier (none for a tier of one replica).',
  'spec.podDisruptionBudgets.enabled': 'Create them.',
  'spec.networkPolicies': 'One NetworkPolicy per tier that admits only its callers: proxies from anywhere on their port; hosts from proxies and the operator; the locator from proxies, hosts and the operator; gossip ports from gossiping pods of this cluster.',
  'spec.networkPolicies.enabled': 'Create them (off by default: they need a CNI that enforces them, and the operator namespace below must be right).',
  'spec.networkPolicies.operatorNamespace': 'Namespace of the operator pods, which call hosts (Status, Drain) and the locator.',
  'spec.networkPolicies.metricsNamespace': 'Namespace allowed to scrape metrics ports (empty: any).',
  'spec.internalTls': 'mTLS between the tiers, each role with its own certificate (urn:adama:role:<role> URI SAN, DNS SAN adama.internal).',
  'spec.internalTls.mode': 'insecure (plaintext, every process logs internal.insecure), secrets (you provide one Secret per role) or certManager (the operator creates one Certificate per role).',
  'spec.internalTls.secretNames': 'Secret per role (keys ca.crt, tls.crt, tls.key); default <cluster>-<role>-tls.',
  'spec.internalTls.issuerRef': 'certManager: the Issuer or ClusterIssuer that signs the certificates.',
  'secretNames.host': 'Secret of the hosts\' certificate (role host).',
  'secretNames.proxy': 'Secret of the proxies\' certificate (role proxy).',
  'secretNames.locator': 'Secret of the locator\'s certificate (role locator).',
  'secretNames.archiver': 'Secret of the archiver\'s certificate (role archiver).',
  'secretNames.gossip': 'Secret of the gossip sidecars\' certificate (role gossip).',
  'issuerRef.name': 'Name of the cert-manager issuer.',
  'issuerRef.kind': 'Issuer (in the cluster\'s namespace) or ClusterIssuer.',
  'issuerRef.group': 'API group of the issuer (cert-manager.io, or an external issuer\'s).',
  'spec.internalTls.healthPort': 'Plaintext gRPC health port of hosts and the locator in the TLS modes (kubelet gRPC probes speak no TLS); serves the health status only.',
  'status.observedGeneration': 'The spec generation whose children are applied.',
  'status.paused': 'adama.io/paused is set: the operator changes nothing.',
  'status.conditions': 'Ready, Progressing, Degraded, Draining, Synced, Migrated.',
  'conditions.type': 'Condition type.',
  'conditions.status': 'True, False or Unknown.',
  'conditions.reason': 'CamelCase reason (see docs/kubernetes.md).',
  'conditions.message': 'Human-readable detail.',
  'conditions.lastTransitionTime': 'When status last flipped.',
  'conditions.observedGeneration': 'The generation this condition describes.',
  desired: 'Pods the spec asks for.',
  ready: 'Ready pods.',
  readyOf: 'ready/desired, as printed in kubectl get.',
  'status.hosts': 'Host tier counts.',
  'status.hosts.current': 'The host StatefulSet\'s replica count.',
  'status.hosts.draining': 'Hosts being drained (0 or 1).',
  'status.hosts.selector': 'Label selector of host pods (for an HPA through the scale subresource).',
  'status.proxies': 'Proxy tier counts.',
  'status.locator': 'Locator tier counts.',
  'status.archiver': 'Archiver tier counts.',
  'status.members': 'One entry per host pod.',
  'members.name': 'Pod name, also the host id.',
  'members.ordinal': 'StatefulSet ordinal.',
  'members.state': 'Serving, NotReady (pod not Ready), Draining, Drained or Failed.',
  'members.ready': 'The pod is Ready.',
  'members.documentsRemaining': 'Directory rows the host still owns.',
  'members.drainStartTime': 'When its drain started.',
  'members.reason': 'Why its drain failed.',
  'status.drain': 'The one drain in flight.',
  'drain.host': 'Pod being drained.',
  'drain.ordinal': 'Its ordinal.',
  'drain.phase': 'Requested, MovingStreams, ReleasingBindings, Done or Failed.',
  'drain.purpose': 'ScaleDown (a scale-down or deletion) or Roll (a template change).',
  'drain.startTime': 'When the drain started.',
  'drain.attemptStartTime': 'When the current attempt started.',
  'drain.attempts': 'Attempts so far.',
  'drain.documentsRemaining': 'Directory rows the host still owns.',
  'drain.progressTime': 'When that count last fell (or the phase advanced); DrainStalled counts from here.',
  'drain.reason': 'Why the last attempt failed (DrainFailed, DrainTimedOut), or DrainStalled while it makes no progress.',
  'drain.message': 'Detail of the failure.',
  'drain.nextAttemptTime': 'When the next attempt starts.',
};

function descriptionOf(path: string[]): string | undefined {
  for (let i = 0; i < path.length; i++) {
    const d = DESCRIPTIONS[path.slice(i).join('.')];
    if (d) return d;
  }
  // `secretKeyRef.name` and `configMapKeyRef.name` share one entry.
  const [parent, leaf] = path.slice(-2);
  return parent?.endsWith('KeyRef') ? DESCRIPTIONS[`KeyRef.${leaf}`] : undefined;
}

/** A copy of `node` with a description on every property that has none (see DESCRIPTIONS). */
function described(node: Schema, path: string[]): Schema {
  const out: Schema = { ...node };
  const own = path.length > 0 && out['description'] === undefined ? descriptionOf(path) : undefined;
  if (own) out['description'] = own;
  const props = out['properties'] as Record<string, Schema> | undefined;
  if (props) out['properties'] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, described(v, [...path, k])]));
  const items = out['items'] as Schema | undefined;
  if (items) out['items'] = described(items, path);
  return out;
}

/** The CustomResourceDefinition object, ready to serialize. */
export function buildCrd(): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}`, labels: { 'app.kubernetes.io/name': 'adama', 'app.kubernetes.io/component': 'crd' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: 'adamacluster', shortNames: ['ac'], categories: ['adama'] },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: {
          status: {},
          // `kubectl scale ac/x --replicas=n` and an HPA act on hosts; the operator drains on the way down.
          scale: { specReplicasPath: '.spec.hosts.replicas', statusReplicasPath: '.status.hosts.current', labelSelectorPath: '.status.hosts.selector' },
        },
        additionalPrinterColumns: [
          { name: 'Hosts', type: 'string', jsonPath: '.status.hosts.readyOf', description: 'ready/desired hosts' },
          { name: 'Proxies', type: 'string', jsonPath: '.status.proxies.readyOf', description: 'ready/desired proxies' },
          { name: 'Draining', type: 'integer', jsonPath: '.status.hosts.draining' },
          { name: 'Ready', type: 'string', jsonPath: `${readyCondition}.status` },
          { name: 'Reason', type: 'string', jsonPath: `${readyCondition}.reason` },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: described(obj({
            apiVersion: str(), kind: str(), metadata: { type: 'object' },
            spec: specSchema,
            status: statusSchema,
          }, { required: ['spec'], description: 'An Adama cluster: hosts, proxies, locator, archiver and gossip.' }), []),
        },
      }],
    },
  };
}

/** The YAML header both rendered copies carry, so readers know not to edit them. */
export const GENERATED_HEADER = '# Generated from operator/api/v1alpha1/crd.ts by operator/scripts/write-crd.ts; do not edit.\n';
