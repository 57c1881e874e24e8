import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { buildCrd } from '../../operator/api/v1alpha1/crd';
import { CHART_CRD_PATH, PLAIN_CRD_PATH, renderChartCrd, renderPlainCrd } from '../../operator/api/v1alpha1/render-crd';
import { CONDITION_TYPES, DRAIN_PHASES, MEMBER_STATES, REASONS } from '../../operator/api/v1alpha1/types';
import { specProblems } from '../../operator/controller/validate-spec';
import { cluster, crdValidator, openApiSchema } from '../operator/crd-schema';

const root = join(__dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const REGENERATE = 'regenerate with: npx esbuild operator/scripts/write-crd.ts --bundle --platform=node --outfile=/tmp/w.js && node /tmp/w.js';

type Node = { [k: string]: unknown };
const at = (o: unknown, ...path: string[]): Node => path.reduce<Node>((n, k) => n[k] as Node, o as Node);

describe('the generated CRD files', () => {
  it('deploy/crds matches operator/api/v1alpha1/crd.ts', () => {
    expect({ file: read(PLAIN_CRD_PATH), hint: REGENERATE }).toEqual({ file: renderPlainCrd(), hint: REGENERATE });
  });

  it('the chart copy matches too and is kept on uninstall, behind crds.create', () => {
    const text = read(CHART_CRD_PATH);
    expect({ file: text, hint: REGENERATE }).toEqual({ file: renderChartCrd(), hint: REGENERATE });
    expect(text).toContain('{{- if .Values.crds.create }}');
    expect(text).toContain('helm.sh/resource-policy: keep');
  });
});

describe('the CRD', () => {
  const crd = buildCrd();
  const version = (at(crd, 'spec')['versions'] as Node[])[0]!;

  it('states the operator\'s cross-field rules as CEL, and they agree with the operator\'s own check', () => {
    const rules = at(version, 'schema', 'openAPIV3Schema', 'properties', 'spec')['x-kubernetes-validations'] as { rule: string; message: string }[];
    expect(rules.map((r) => r.message)).toContain('spec.archiver.enabled needs spec.objectStore (the archiver has nowhere to write)');
    // These rules use only !, &&, ||, != on fields and has(): the same expression in JavaScript
    // evaluates as CEL would, so each is checked against validate-spec on specs that break it.
    const admits = (spec: unknown) => rules.every((r) => new Function('self', `return ${r.rule.replace(/has\(self\.(\w+)\)/g, '(self.$1 !== undefined)')}`)(spec) === true);
    const specs = [
      {}, { archiver: { enabled: true } }, { archiver: { enabled: true }, objectStore: { secretRef: { name: 's3' } } },
      { gossip: { port: 7100 } }, { gossip: { enabled: false, port: 7100 } }, { metrics: { port: 8080 } }, { metrics: { enabled: false, port: 7000 } },
      { locator: { port: 7100 } }, { proxies: { port: 9464 } }, { gossip: { port: 9464 } },
    ];
    for (const spec of specs) {
      const c = cluster(spec);
      expect({ spec, admitted: admits(c.spec) }).toEqual({ spec, admitted: specProblems(c).length === 0 });
    }
  });

  it('describes every field, so kubectl explain never shows an empty description', () => {
    const missing: string[] = [];
    const walk = (node: Node, path: string): void => {
      const props = node['properties'] as Record<string, Node> | undefined;
      for (const [k, child] of Object.entries(props ?? {})) {
        const p = path ? `${path}.${k}` : k;
        if (typeof child['description'] !== 'string' || (child['description'] as string).trim() === '') missing.push(p);
        walk(child, p);
      }
      if (node['items']) walk(node['items'] as Node, `${path}[]`);
    };
    walk(at(version, 'schema', 'openAPIV3Schema'), '');
    expect(missing).toEqual([]);
  });

  it('is adamaclusters.adama.io v1alpha1 with short name ac', () => {
    expect(at(crd, 'metadata')['name']).toBe('adamaclusters.adama.io');
    expect(at(crd, 'spec', 'names')['shortNames']).toEqual(['ac']);
    expect(version['name']).toBe('v1alpha1');
  });

  it('has the status subresource and a scale subresource on hosts for kubectl scale and the HPA', () => {
    expect(at(version, 'subresources')).toEqual({
      status: {},
      scale: { specReplicasPath: '.spec.hosts.replicas', statusReplicasPath: '.status.hosts.current', labelSelectorPath: '.status.hosts.selector' },
    });
  });

  it('prints hosts, proxies, draining, Ready, reason and age', () => {
    expect((version['additionalPrinterColumns'] as Node[]).map((c) => c['name'])).toEqual(['Hosts', 'Proxies', 'Draining', 'Ready', 'Reason', 'Age']);
  });

  it('is structural: every schema node has a type (int-or-string excepted)', () => {
    const untyped: string[] = [];
    const walk = (n: Node, path: string) => {
      if (n['type'] === undefined && n['x-kubernetes-int-or-string'] !== true) untyped.push(path);
      for (const [k, v] of Object.entries((n['properties'] as Record<string, Node> | undefined) ?? {})) walk(v, `${path}.${k}`);
      if (n['items']) walk(n['items'] as Node, `${path}[]`);
      if (typeof n['additionalProperties'] === 'object') walk(n['additionalProperties'] as Node, `${path}{}`);
    };
    walk(openApiSchema(), '');
    expect(untyped).toEqual([]);
  });

  it('enums agree with the TypeScript unions', () => {
    const status = at(openApiSchema(), 'properties', 'status', 'properties');
    expect(at(status, 'conditions', 'items', 'properties', 'type')['enum']).toEqual([...CONDITION_TYPES]);
    expect(at(status, 'drain', 'properties', 'phase')['enum']).toEqual([...DRAIN_PHASES]);
    expect(at(status, 'members', 'items', 'properties', 'state')['enum']).toEqual([...MEMBER_STATES]);
  });

  it('every reason is CamelCase and matches the schema pattern', () => {
    for (const r of Object.values(REASONS)) expect(r).toMatch(/^[A-Z][A-Za-z0-9]*$/);
  });
});

describe('deploy/examples against the CRD schema', () => {
  const validate = crdValidator(true);
  const files = readdirSync(join(root, 'deploy/examples')).filter((f) => f.endsWith('.yaml'));

  it('has examples', () => expect(files.length).toBeGreaterThanOrEqual(2));

  it.each(files)('%s is a valid AdamaCluster', (file) => {
    for (const doc of loadAll(read(`deploy/examples/${file}`)) as Node[]) {
      expect(doc['kind']).toBe('AdamaCluster');
      const ok = validate(doc);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it('the minimal example is defaulted to the documented shape', () => {
    const doc = load(read('deploy/examples/minimal.yaml')) as Node;
    validate(doc);
    expect(at(doc, 'spec')).toMatchObject({
      hosts: { replicas: 3, minReplicas: 1, port: 7100, drain: { timeoutSeconds: 300, retryBackoffSeconds: 30 } },
      proxies: { replicas: 2, port: 8080, serviceType: 'ClusterIP' },
      locator: { replicas: 1 }, archiver: { enabled: false }, gossip: { enabled: true, port: 7946 },
      postgres: { secretRef: { name: 'adama-postgres', key: 'url' } },
    });
  });

  it.each<[string, Node]>([
    ['an inline database URL', { postgres: { url: 'postgres://u:p@db/x' } }],
    ['an unknown service type', { proxies: { serviceType: 'Ingress' } }],
    ['negative replicas', { hosts: { replicas: -1 } }],
    ['a drain timeout below 10 s', { hosts: { drain: { timeoutSeconds: 1 } } }],
  ])('rejects %s', (_name, spec) => {
    const strict = crdValidator(false);
    const base = { image: 'x', postgres: { secretRef: { name: 'db' } } };
    // additionalProperties is not set (the API server prunes), so an inline URL fails by its missing secretRef.
    const doc = { apiVersion: 'adama.io/v1alpha1', kind: 'AdamaCluster', metadata: { name: 'x' }, spec: { ...base, ...spec } };
    expect(strict(doc)).toBe(false);
  });
});
