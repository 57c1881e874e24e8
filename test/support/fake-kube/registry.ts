/**
 * @module registry
 * The resource table: the built-in resources we model plus one entry per CRD, and the discovery
 * documents built from it. client-node's KubernetesObjectApi maps kind → plural through
 * `/apis/{group}/{version}` and takes the first entry whose `kind` matches, so the main resource
 * must precede its `/status` entry (which has the same kind), as on the real server.
 */
import { errors } from './errors';
import { isObject, parseDottedPath, type JsonObject } from './json';
import { StructuralSchema, type SchemaNode } from './structural-schema';

export interface ScaleSubresource {
  specReplicasPath: string[];
  statusReplicasPath: string[];
  /** CRDs: where the selector string lives. Built-ins derive it from `spec.selector`. */
  labelSelectorPath?: string[];
}

export interface ResourceType {
  group: string;
  version: string;
  apiVersion: string;
  /** Plural, as in the URL. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Has a `/status` subresource: the main endpoint keeps the stored status, `/status` only writes status. */
  status: boolean;
  scale?: ScaleSubresource;
  /** `metadata.generation` is maintained (bumped on changes outside metadata and status). */
  generation: boolean;
  /** DELETE answers with the object (pods, services, custom resources) rather than a Status. */
  returnDeletedObject: boolean;
  /** Set for custom resources: pruning, defaulting and validation from the CRD. */
  schema?: StructuralSchema;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface BuiltinSpec {
  group: string; version: string; resource: string; kind: string; namespaced?: boolean; shortNames?: string[];
  categories?: string[]; status?: boolean; scale?: boolean; generation?: boolean; returnDeletedObject?: boolean; verbs?: string[];
}

const REPLICAS_SCALE: ScaleSubresource = { specReplicasPath: ['spec', 'replicas'], statusReplicasPath: ['status', 'replicas'] };

const BUILTINS: BuiltinSpec[] = [
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', shortNames: ['po'], categories: ['all'], status: true, generation: true, returnDeletedObject: true },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', shortNames: ['svc'], categories: ['all'], status: true, returnDeletedObject: true },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret' },
  { group: '', version: 'v1', resource: 'events', kind: 'Event', shortNames: ['ev'] },
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], status: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', shortNames: ['sts'], categories: ['all'], status: true, scale: true, generation: true },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', shortNames: ['deploy'], categories: ['all'], status: true, scale: true, generation: true },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', categories: ['all'], status: true, generation: true },
  { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', shortNames: ['pdb'], status: true, generation: true },
  { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', kind: 'NetworkPolicy', shortNames: ['netpol'], generation: true },
  // cert-manager's CRD, as an API server with cert-manager installed serves it (spec.internalTls.mode certManager).
  { group: 'cert-manager.io', version: 'v1', resource: 'certificates', kind: 'Certificate', shortNames: ['cert', 'certs'], generation: true },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease' },
];

function fromBuiltin(b: BuiltinSpec): ResourceType {
  return {
    group: b.group, version: b.version, apiVersion: b.group ? `${b.group}/${b.version}` : b.version,
    resource: b.resource, singular: b.kind.toLowerCase(), kind: b.kind, listKind: `${b.kind}List`,
    namespaced: b.namespaced ?? true, shortNames: b.shortNames ?? [], categories: b.categories ?? [], verbs: b.verbs ?? ALL_VERBS,
    status: b.status ?? false, ...(b.scale ? { scale: REPLICAS_SCALE } : {}),
    generation: b.generation ?? false, returnDeletedObject: b.returnDeletedObject ?? false,
  };
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v === '') throw new Error(`CRD: ${what} must be a non-empty string`);
  return v;
};

/** One ResourceType for the storage version of a `apiextensions.k8s.io/v1` CustomResourceDefinition. */
export function fromCrd(crd: JsonObject): ResourceType {
  const spec = crd['spec'];
  if (!isObject(spec)) throw new Error('CRD: spec missing');
  const names = isObject(spec['names']) ? spec['names'] : {};
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  // Conversion between versions is not modelled: the storage version is the one served.
  const v = versions.find((x) => x['storage'] === true) ?? versions[0];
  if (!v) throw new Error('CRD: no versions');
  const sub = isObject(v['subresources']) ? v['subresources'] : {};
  const scale = isObject(sub['scale']) ? sub['scale'] : undefined;
  const schema = isObject(v['schema']) && isObject(v['schema']['openAPIV3Schema']) ? v['schema']['openAPIV3Schema'] : undefined;
  const group = str(spec['group'], 'spec.group');
  const kind = str(names['kind'], 'spec.names.kind');
  const version = str(v['name'], 'version name');
  const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
  return {
    group, version, apiVersion: `${group}/${version}`,
    resource: str(names['plural'], 'spec.names.plural'), singular: typeof names['singular'] === 'string' ? names['singular'] : kind.toLowerCase(),
    kind, listKind: typeof names['listKind'] === 'string' ? names['listKind'] : `${kind}List`,
    namespaced: spec['scope'] !== 'Cluster', shortNames: strings(names['shortNames']), categories: strings(names['categories']), verbs: ALL_VERBS,
    status: isObject(sub['status']),
    ...(scale ? {
      scale: {
        specReplicasPath: parseDottedPath(str(scale['specReplicasPath'], 'specReplicasPath')),
        statusReplicasPath: parseDottedPath(str(scale['statusReplicasPath'], 'statusReplicasPath')),
        ...(typeof scale['labelSelectorPath'] === 'string' ? { labelSelectorPath: parseDottedPath(scale['labelSelectorPath']) } : {}),
      },
    } : {}),
    generation: true, returnDeletedObject: true,
    ...(schema ? { schema: new StructuralSchema(schema as SchemaNode) } : {}),
  };
}

export class Registry {
  private readonly types: ResourceType[];

  constructor(crds: JsonObject[]) {
    this.types = [...BUILTINS.map(fromBuiltin), ...crds.map(fromCrd)];
  }

  all(): readonly ResourceType[] { return this.types; }

  /** By URL coordinates; undefined when the group/version does not serve that plural. */
  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.resource === resource);
  }

  byKind(apiVersion: string, kind: string): ResourceType {
    const t = this.types.find((x) => x.apiVersion === apiVersion && x.kind === kind);
    if (!t) throw errors.pathNotFound(`no kind "${kind}" is registered for version "${apiVersion}"`);
    return t;
  }

  /** `v1/pods`, `apps/v1/statefulsets`, `adama.io/v1alpha1/adamaclusters`. */
  byPath(path: string): ResourceType {
    const parts = path.split('/');
    const resource = parts.pop() ?? '';
    const version = parts.pop() ?? '';
    const t = this.find(parts.join('/'), version, resource);
    if (!t) throw errors.pathNotFound(path);
    return t;
  }

  servesGroupVersion(group: string, version: string): boolean {
    return this.types.some((t) => t.group === group && t.version === version);
  }

  /** `GET /api` */
  apiVersions(serverAddress: string): JsonObject {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }

  private groupEntry(group: string): JsonObject {
    const versions = [...new Set(this.types.filter((t) => t.group === group).map((t) => t.version))]
      .map((version) => ({ groupVersion: `${group}/${version}`, version }));
    return { name: group, versions, preferredVersion: versions[0] ?? {} };
  }

  /** `GET /apis` */
  apiGroupList(): JsonObject {
    const groups = [...new Set(this.types.map((t) => t.group).filter((g) => g !== ''))];
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => this.groupEntry(g)) };
  }

  /** `GET /apis/{group}` */
  apiGroup(group: string): JsonObject | undefined {
    if (!this.types.some((t) => t.group === group)) return undefined;
    return { kind: 'APIGroup', apiVersion: 'v1', ...this.groupEntry(group) };
  }

  /** `GET /api/v1`, `GET /apis/{group}/{version}`: main resources, each followed by its subresources. */
  apiResourceList(group: string, version: string): JsonObject | undefined {
    const types = this.types.filter((t) => t.group === group && t.version === version);
    if (types.length === 0) return undefined;
    const resources: JsonObject[] = [];
    for (const t of types) {
      resources.push({
        name: t.resource, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs,
        ...(t.shortNames.length ? { shortNames: t.shortNames } : {}), ...(t.categories.length ? { categories: t.categories } : {}),
      });
      if (t.scale) resources.push({ name: `${t.resource}/scale`, singularName: '', namespaced: t.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
      if (t.status) resources.push({ name: `${t.resource}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }
}
