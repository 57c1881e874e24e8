/**
 * @module crd
 * The one source of the `adamaclusters.adama.io` CustomResourceDefinition. `write-crd.ts` renders it
 * to deploy/crds/ and charts/adama/templates/crds/; test/deploy/crd.test.ts fails on drift.
 * The schema is structural (every field typed) so the API server can default and prune it.
 */
import {
  CONDITION_TYPES, DRAIN_PHASES, DRAIN_PURPOSES, GROUP, KIND, LOG_LEVELS, MEMBER_STATES, PLURAL, PULL_POLICIES, SERVICE_TYPES, VERSION,
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

const specSchema: Schema = obj({
  image: str({ minLength: 1, description: 'Image of every tier (one image, role chosen by args).' }),
  imagePullPolicy: str({ enum: [...PULL_POLICIES], default: 'IfNotPresent' }),
  imagePullSecrets: arr(obj({ name: str() }, { required: ['name'] })),
  logLevel: str({ enum: [...LOG_LEVELS], default: 'info' }),
  hosts: tier(3, {
    minReplicas: int({ default: 1, minimum: 1, description: 'A scale-down below this is refused (at least 1: a cluster without hosts serves nothing).' }),
    port: port(7100),
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
}, { required: ['image', 'postgres'] });

const tierStatus = (extra: Record<string, Schema> = {}): Schema => obj({ desired: int(), ready: int(), readyOf: str(), ...extra });

const drainStatus: Schema = obj({
  host: str(), ordinal: int(), phase: str({ enum: [...DRAIN_PHASES] }), purpose: str({ enum: [...DRAIN_PURPOSES] }),
  startTime: time(), attemptStartTime: time(), attempts: int(), documentsRemaining: int(),
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
          openAPIV3Schema: obj({
            apiVersion: str(), kind: str(), metadata: { type: 'object' },
            spec: specSchema,
            status: statusSchema,
          }, { required: ['spec'], description: 'An Adama cluster: hosts, proxies, locator, archiver and gossip.' }),
        },
      }],
    },
  };
}

/** The YAML header both rendered copies carry, so readers know not to edit them. */
export const GENERATED_HEADER = '# Generated from operator/api/v1alpha1/crd.ts by operator/scripts/write-crd.ts; do not edit.\n';
