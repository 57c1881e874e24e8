/**
 * @module structural-schema
 * What the API server does with a CRD's structural `openAPIV3Schema` on every write (and on read of
 * stored objects): prune unknown fields, apply `default`s, then validate, reporting field errors in
 * apimachinery's wording. Ajv does the defaulting and validation (as test/operator/crd-schema.ts
 * does); pruning is a walk of the schema because Ajv only removes what `additionalProperties: false` names.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { cause, type StatusCause } from './errors';
import { isObject, type JsonObject, type JsonValue } from './json';

/** A schema node as a CRD carries it. */
export type SchemaNode = { [key: string]: unknown };

/** Keywords the API server understands that are not JSON Schema. */
const K8S_KEYWORDS = [
  'x-kubernetes-int-or-string', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-validations', 'example', 'externalDocs',
];

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function asNode(v: unknown): SchemaNode | undefined {
  return isObject(v) ? (v as SchemaNode) : undefined;
}

/** `/spec/env/0/name` → `spec.env[0].name`, the field path style of `field.Path.String()`. */
function fieldPath(instancePath: string, extra?: string): string {
  const tokens = instancePath.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) tokens.push(extra);
  return tokens.reduce((acc, t) => (/^\d+$/.test(t) ? `${acc}[${t}]` : acc ? `${acc}.${t}` : t), '');
}

function toCause(e: ErrorObject, object: JsonObject): StatusCause | undefined {
  const field = fieldPath(e.instancePath);
  const actual = valueAt(object, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': return cause.required(fieldPath(e.instancePath, String(p['missingProperty'])));
    case 'enum': return cause.notSupported(field, actual, (p['allowedValues'] as unknown[]) ?? []);
    case 'type': return cause.typeInvalid(field, typeName(actual), `${field} in body must be of type ${String(p['type'])}: ${JSON.stringify(typeName(actual))}`);
    case 'minimum': return cause.invalid(field, actual, `${field} in body should be greater than or equal to ${String(p['limit'])}`);
    case 'maximum': return cause.invalid(field, actual, `${field} in body should be less than or equal to ${String(p['limit'])}`);
    case 'exclusiveMinimum': return cause.invalid(field, actual, `${field} in body should be greater than ${String(p['limit'])}`);
    case 'exclusiveMaximum': return cause.invalid(field, actual, `${field} in body should be less than ${String(p['limit'])}`);
    case 'pattern': return cause.invalid(field, actual, `${field} in body should match '${String(p['pattern'])}'`);
    case 'minLength': return cause.invalid(field, actual, `${field} in body should be at least ${String(p['limit'])} chars long`);
    case 'maxLength': return { reason: 'FieldValueTooLong', message: `Too long: may not be more than ${String(p['limit'])} bytes`, field };
    case 'minItems': return cause.invalid(field, actual, `${field} in body should have at least ${String(p['limit'])} items`);
    case 'maxItems': return { reason: 'FieldValueTooMany', message: `Too many: must have at most ${String(p['limit'])} items`, field };
    case 'format': return cause.invalid(field, actual, `${field} in body must be of type ${String(p['format'])}: ${JSON.stringify(actual)}`);
    // The branch errors of `anyOf` are noise next to the anyOf error itself.
    default: return e.schemaPath.includes('/anyOf/') ? undefined : cause.invalid(field, actual, `${field} ${e.message ?? 'is invalid'}`);
  }
}

function valueAt(object: JsonObject, instancePath: string): JsonValue | undefined {
  let cur: JsonValue | undefined = object;
  for (const raw of instancePath.split('/').slice(1)) {
    const t = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
  }
  return cur;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export class StructuralSchema {
  private readonly validate: ValidateFunction;

  constructor(private readonly root: SchemaNode) {
    // strict off: this is a server accepting any CRD, not a linter of our own schema.
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, validateFormats: true });
    ajv.addVocabulary(K8S_KEYWORDS);
    ajv.addFormat('date-time', RFC3339).addFormat('int32', true).addFormat('int64', true).addFormat('double', true).addFormat('float', true)
      .addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/).addFormat('date', /^\d{4}-\d{2}-\d{2}$/).addFormat('password', true);
    this.validate = ajv.compile(root);
  }

  /** Drops fields the schema does not declare (metadata is ObjectMeta's business, not the schema's). */
  prune(object: JsonObject): void {
    const walk = (value: JsonValue, schema: SchemaNode | undefined, top: boolean): void => {
      if (!schema || schema['x-kubernetes-preserve-unknown-fields'] === true) return;
      if (Array.isArray(value)) { value.forEach((v) => walk(v, asNode(schema['items']), false)); return; }
      if (!isObject(value)) return;
      const props = asNode(schema['properties']);
      const additional = asNode(schema['additionalProperties']);
      for (const key of Object.keys(value)) {
        if (top && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
        const sub = asNode(props?.[key]) ?? additional;
        if (sub) walk(value[key]!, sub, false);
        else if (schema['additionalProperties'] !== true) delete value[key];
      }
    };
    walk(object, this.root, true);
  }

  /** Applies defaults in place and returns the validation failures (none: valid). */
  defaultAndValidate(object: JsonObject): StatusCause[] {
    if (this.validate(object)) return [];
    const seen = new Set<string>();
    const causes: StatusCause[] = [];
    for (const e of this.validate.errors ?? []) {
      const c = toCause(e, object);
      const key = c ? `${c.field ?? ''}|${c.message}` : '';
      if (c && !seen.has(key)) { seen.add(key); causes.push(c); }
    }
    return causes;
  }
}
