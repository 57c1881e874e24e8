/**
 * @module builtins
 * Defaulting and validation of the built-in kinds, limited to what an operator trips over: the
 * defaults that make a live object differ from what was sent (so naive drift checks see a diff, as
 * against a real cluster), the template/selector and container checks, and the immutable fields.
 * Everything else a real server validates is accepted (see README).
 */
import { cause, type StatusCause } from './errors';
import { deepEqual, isObject, type JsonObject, type JsonValue } from './json';
import { matchesLabelSelectorObject, type LabelSelectorObject } from './selectors';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const obj = (v: JsonValue | undefined): JsonObject | undefined => (isObject(v) ? v : undefined);
const arr = (v: JsonValue | undefined): JsonValue[] => (Array.isArray(v) ? v : []);
const setDefault = (o: JsonObject, key: string, value: JsonValue): void => { if (o[key] === undefined) o[key] = value; };
const child = (o: JsonObject, key: string): JsonObject => { if (!isObject(o[key])) o[key] = {}; return o[key] as JsonObject; };

function defaultProbe(p: JsonValue | undefined): void {
  const probe = obj(p);
  if (!probe) return;
  setDefault(probe, 'timeoutSeconds', 1);
  setDefault(probe, 'periodSeconds', 10);
  setDefault(probe, 'successThreshold', 1);
  setDefault(probe, 'failureThreshold', 3);
  const http = obj(probe['httpGet']);
  if (http) setDefault(http, 'scheme', 'HTTP');
}

function defaultContainer(c: JsonObject): void {
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  const image = typeof c['image'] === 'string' ? c['image'] : '';
  const tag = image.includes('@') ? 'digest' : /:[^/]+$/.exec(image)?.[0].slice(1) ?? 'latest';
  setDefault(c, 'imagePullPolicy', tag === 'latest' ? 'Always' : 'IfNotPresent');
  setDefault(c, 'resources', {});
  for (const p of arr(c['ports'])) if (isObject(p)) setDefault(p, 'protocol', 'TCP');
  defaultProbe(c['readinessProbe']);
  defaultProbe(c['livenessProbe']);
  defaultProbe(c['startupProbe']);
}

export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'securityContext', {});
  for (const c of [...arr(spec['containers']), ...arr(spec['initContainers'])]) if (isObject(c)) defaultContainer(c);
}

function defaultTemplate(spec: JsonObject): void {
  const template = child(spec, 'template');
  defaultPodSpec(child(template, 'spec'));
}

const DEFAULTERS: Record<string, (o: JsonObject, ctx: DefaultContext) => void> = {
  Pod: (o) => defaultPodSpec(child(o, 'spec')),
  StatefulSet: (o) => {
    const spec = child(o, 'spec');
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'podManagementPolicy', 'OrderedReady');
    setDefault(spec, 'revisionHistoryLimit', 10);
    const strategy = child(spec, 'updateStrategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate') setDefault(child(strategy, 'rollingUpdate'), 'partition', 0);
    setDefault(spec, 'persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' });
    defaultTemplate(spec);
  },
  Deployment: (o) => {
    const spec = child(o, 'spec');
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    const strategy = child(spec, 'strategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate') {
      const ru = child(strategy, 'rollingUpdate');
      setDefault(ru, 'maxUnavailable', '25%');
      setDefault(ru, 'maxSurge', '25%');
    }
    defaultTemplate(spec);
  },
  Service: (o, ctx) => {
    const spec = child(o, 'spec');
    setDefault(spec, 'type', 'ClusterIP');
    setDefault(spec, 'sessionAffinity', 'None');
    setDefault(spec, 'internalTrafficPolicy', 'Cluster');
    for (const p of arr(spec['ports'])) {
      if (!isObject(p)) continue;
      setDefault(p, 'protocol', 'TCP');
      if (p['port'] !== undefined) setDefault(p, 'targetPort', p['port']);
    }
    if (spec['clusterIP'] === undefined || spec['clusterIP'] === '') spec['clusterIP'] = ctx.previousClusterIP ?? ctx.allocateClusterIP();
    setDefault(spec, 'clusterIPs', [spec['clusterIP']]);
    if (spec['clusterIP'] !== 'None') {
      setDefault(spec, 'ipFamilies', ['IPv4']);
      setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
    }
  },
  Job: (o) => {
    const spec = child(o, 'spec');
    for (const [k, v] of [['backoffLimit', 6], ['completions', 1], ['parallelism', 1], ['completionMode', 'NonIndexed'], ['suspend', false], ['podReplacementPolicy', 'TerminatingOrFailed']] as const) setDefault(spec, k, v);
    // Without manualSelector the server picks the selector and labels the template to match it.
    if (spec['manualSelector'] !== true) {
      const meta = obj(o['metadata']) ?? {};
      const uid = String(meta['uid'] ?? '');
      const name = String(meta['name'] ?? '');
      setDefault(spec, 'selector', { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
      const tmeta = child(child(spec, 'template'), 'metadata');
      tmeta['labels'] = { ...(obj(tmeta['labels']) ?? {}), 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
    }
    const template = child(spec, 'template');
    const podSpec = child(template, 'spec');
    const restart = podSpec['restartPolicy'];
    defaultPodSpec(podSpec);
    if (restart === undefined) delete podSpec['restartPolicy']; // a Job has no default: validation says so
  },
  Secret: (o) => {
    setDefault(o, 'type', 'Opaque');
    const stringData = obj(o['stringData']);
    if (stringData) {
      const data = child(o, 'data');
      for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString('base64');
      delete o['stringData'];
    }
  },
  Namespace: (o) => {
    setDefault(child(o, 'spec'), 'finalizers', ['kubernetes']);
    setDefault(child(o, 'status'), 'phase', 'Active');
  },
};

export interface DefaultContext {
  allocateClusterIP(): string;
  /** On update, a Service keeps the address it was given even when the new body omits it. */
  previousClusterIP?: string;
}

export function defaultBuiltin(kind: string, o: JsonObject, ctx: DefaultContext): void {
  DEFAULTERS[kind]?.(o, ctx);
}

export function validateName(name: string, kind: string): StatusCause[] {
  const dns1035 = kind === 'Service';
  const label = kind === 'Namespace';
  const re = dns1035 ? DNS1035_LABEL : label ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  const max = dns1035 || label ? 63 : 253;
  if (name.length <= max && re.test(name)) return [];
  const what = dns1035 ? 'a DNS-1035 label' : label ? 'a DNS-1123 label' : 'a lowercase RFC 1123 subdomain';
  return [cause.invalid('metadata.name', name, `${what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`)];
}

export function validateLabels(labels: unknown, field = 'metadata.labels'): StatusCause[] {
  if (labels === undefined) return [];
  if (!isObject(labels)) return [cause.typeInvalid(field, labels, 'must be a map of strings')];
  const out: StatusCause[] = [];
  for (const [k, v] of Object.entries(labels)) {
    const slash = k.lastIndexOf('/');
    const name = slash >= 0 ? k.slice(slash + 1) : k;
    const prefix = slash >= 0 ? k.slice(0, slash) : '';
    if (name.length > 63 || !LABEL_KEY_NAME.test(name) || (slash >= 0 && !DNS1123_SUBDOMAIN.test(prefix))) out.push(cause.invalid(field, k, 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\''));
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) out.push(cause.invalid(`${field}`, v, 'a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\''));
  }
  return out;
}

function validatePodSpec(spec: JsonObject | undefined, field: string): StatusCause[] {
  if (!spec) return [cause.required(field)];
  const out: StatusCause[] = [];
  const containers = arr(spec['containers']);
  if (containers.length === 0) out.push(cause.required(`${field}.containers`));
  const volumes = new Set(arr(spec['volumes']).map((v) => (isObject(v) ? String(v['name']) : '')));
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const f = `${field}.containers[${i}]`;
    if (!isObject(c)) { out.push(cause.typeInvalid(f, c, 'must be an object')); return; }
    const name = c['name'];
    if (typeof name !== 'string' || name === '') out.push(cause.required(`${f}.name`));
    else if (!DNS1123_LABEL.test(name)) out.push(cause.invalid(`${f}.name`, name, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\''));
    else if (names.has(name)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(name)}`, field: `${f}.name` });
    else names.add(name);
    if (typeof c['image'] !== 'string' || c['image'] === '') out.push(cause.required(`${f}.image`));
    arr(c['ports']).forEach((p, j) => {
      const port = isObject(p) ? p['containerPort'] : undefined;
      if (typeof port !== 'number' || port < 1 || port > 65535) out.push(cause.invalid(`${f}.ports[${j}].containerPort`, port ?? null, 'must be between 1 and 65535, inclusive'));
    });
    arr(c['volumeMounts']).forEach((m, j) => {
      const n = isObject(m) ? String(m['name']) : '';
      if (!volumes.has(n)) out.push({ reason: 'FieldValueNotFound', message: `Not found: ${JSON.stringify(n)}`, field: `${f}.volumeMounts[${j}].name` });
    });
  });
  return out;
}

/** Workload selector must be set and must select the pod template's labels. */
function validateSelectorAndTemplate(spec: JsonObject | undefined): StatusCause[] {
  if (!spec) return [cause.required('spec')];
  const selector = obj(spec['selector']);
  const template = obj(spec['template']);
  const out: StatusCause[] = [];
  if (!selector || (Object.keys(obj(selector['matchLabels']) ?? {}).length === 0 && arr(selector['matchExpressions']).length === 0)) out.push(cause.required('spec.selector'));
  const labels = obj(obj(template?.['metadata'])?.['labels']) as Record<string, string> | undefined;
  if (selector && !matchesLabelSelectorObject(selector as LabelSelectorObject, labels)) {
    out.push(cause.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'));
  }
  out.push(...validateLabels(labels, 'spec.template.metadata.labels'));
  const replicas = spec['replicas'];
  if (typeof replicas === 'number' && replicas < 0) out.push(cause.invalid('spec.replicas', replicas, 'must be greater than or equal to 0'));
  out.push(...validatePodSpec(obj(template?.['spec']), 'spec.template.spec'));
  return out;
}

const immutable = (field: string, a: JsonValue | undefined, b: JsonValue | undefined): StatusCause[] =>
  deepEqual(a, b) ? [] : [cause.invalid(field, b ?? null, 'field is immutable')];

const STS_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

/** Pod spec fields an update may change (everything else is immutable once created). */
function podSpecWithoutMutable(spec: JsonValue | undefined): JsonValue | undefined {
  if (!isObject(spec)) return spec;
  const strip = (cs: JsonValue | undefined) => arr(cs).map((c) => (isObject(c) ? { ...c, image: null } : c));
  return { ...spec, containers: strip(spec['containers']), initContainers: strip(spec['initContainers']), activeDeadlineSeconds: null, tolerations: null };
}

type Validator = (o: JsonObject, old: JsonObject | undefined) => StatusCause[];

const VALIDATORS: Record<string, Validator> = {
  Pod: (o, old) => {
    const out = validatePodSpec(obj(o['spec']), 'spec');
    if (old && !deepEqual(podSpecWithoutMutable(o['spec']), podSpecWithoutMutable(old['spec']))) {
      out.push(cause.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds` or `spec.tolerations` (only additions to existing tolerations)'));
    }
    return out;
  },
  StatefulSet: (o, old) => {
    const out = validateSelectorAndTemplate(obj(o['spec']));
    if (old) {
      const without = (s: JsonValue | undefined) => Object.fromEntries(Object.entries(obj(s) ?? {}).filter(([k]) => !STS_MUTABLE.includes(k)));
      if (!deepEqual(without(o['spec']), without(old['spec']))) {
        out.push(cause.forbidden('spec', 'updates to statefulset spec for fields other than \'replicas\', \'ordinals\', \'template\', \'updateStrategy\', \'persistentVolumeClaimRetentionPolicy\' and \'minReadySeconds\' are forbidden'));
      }
    }
    return out;
  },
  Deployment: (o, old) => [
    ...validateSelectorAndTemplate(obj(o['spec'])),
    ...(old ? immutable('spec.selector', obj(old['spec'])?.['selector'], obj(o['spec'])?.['selector']) : []),
  ],
  Service: (o, old) => {
    const spec = obj(o['spec']) ?? {};
    const out: StatusCause[] = [];
    if (spec['type'] !== 'ExternalName' && spec['clusterIP'] !== 'None' && arr(spec['ports']).length === 0) out.push(cause.required('spec.ports'));
    arr(spec['ports']).forEach((p, i) => {
      const port = isObject(p) ? p['port'] : undefined;
      if (typeof port !== 'number' || port < 1 || port > 65535) out.push(cause.invalid(`spec.ports[${i}].port`, port ?? null, 'must be between 1 and 65535, inclusive'));
    });
    if (old) out.push(...immutable('spec.clusterIP', obj(old['spec'])?.['clusterIP'], spec['clusterIP']));
    return out;
  },
  Job: (o, old) => {
    const spec = obj(o['spec']) ?? {};
    const podSpec = obj(obj(spec['template'])?.['spec']);
    const out = [...validateSelectorAndTemplate(spec)];
    const restart = podSpec?.['restartPolicy'];
    if (restart !== 'Never' && restart !== 'OnFailure') out.push(cause.notSupported('spec.template.spec.restartPolicy', restart ?? '', ['OnFailure', 'Never']));
    if (typeof spec['backoffLimit'] === 'number' && spec['backoffLimit'] < 0) out.push(cause.invalid('spec.backoffLimit', spec['backoffLimit'], 'must be greater than or equal to 0'));
    if (old) {
      const oldSpec = obj(old['spec']) ?? {};
      out.push(...immutable('spec.template', oldSpec['template'], spec['template']), ...immutable('spec.selector', oldSpec['selector'], spec['selector']), ...immutable('spec.completions', oldSpec['completions'], spec['completions']));
    }
    return out;
  },
  ConfigMap: (o, old) => immutableData(o, old),
  Secret: (o, old) => [...immutableData(o, old), ...(old ? immutable('type', old['type'], o['type']) : [])],
  PodDisruptionBudget: (o) => {
    const spec = obj(o['spec']) ?? {};
    return spec['minAvailable'] !== undefined && spec['maxUnavailable'] !== undefined
      ? [cause.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set')] : [];
  },
};

function immutableData(o: JsonObject, old: JsonObject | undefined): StatusCause[] {
  if (!old || old['immutable'] !== true) return [];
  const out: StatusCause[] = [];
  if (o['immutable'] !== true) out.push(cause.forbidden('immutable', 'field is immutable when `immutable` is set'));
  if (!deepEqual(o['data'], old['data'])) out.push(cause.forbidden('data', 'field is immutable when `immutable` is set'));
  if (!deepEqual(o['binaryData'], old['binaryData'])) out.push(cause.forbidden('binaryData', 'field is immutable when `immutable` is set'));
  return out;
}

export function validateBuiltin(kind: string, o: JsonObject, old: JsonObject | undefined): StatusCause[] {
  return VALIDATORS[kind]?.(o, old) ?? [];
}
