// Validates an AuthPolicy manifest the way the API server does, offline, from the
// CRD's own schema (crds/authpolicy.yaml, passed in): `check -f` uses it when the
// CRD is not installed. Like the API server, it fills `default:` values first,
// then checks the structural schema (types, enums, bounds, lengths, patterns,
// required and unknown fields, formats, list types) and the CEL rules
// (x-kubernetes-validations). CEL is evaluated by a port of each rule the CRD
// holds, looked up by the rule's exact text: a rule without a port is reported,
// never skipped (test/unit/api/validate.test.ts keeps them in step).
import { parseDuration } from './duration.ts';
import { API_VERSION, KIND } from './types.ts';

export interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  pattern?: string;
  format?: string;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string; fieldPath?: string; reason?: string }[];
}

type Json = unknown;
type Obj = Record<string, Json>;
const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: Json): string => (v === undefined ? 'undefined' : JSON.stringify(v));

/** A CEL rule's port: undefined when the rule holds for `self`. */
type RulePort = (self: Json) => boolean;

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const has = (o: Json, k: string): boolean => isObj(o) && o[k] !== undefined;
const list = (o: Json, k: string): Json[] => (isObj(o) && Array.isArray(o[k]) ? o[k] : []);
const unique = (self: Json): boolean => Array.isArray(self) && self.every((x) => self.filter((y) => y === x).length === 1);

/** The CRD's CEL rules, by exact text, ported to TypeScript. */
const PORTS: Record<string, RulePort> = {
  "!has(self.legacyBindingFallback) || !self.legacyBindingFallback || !has(self.mode) || self.mode == 'NodeAuthorizer'": (s) =>
    !has(s, 'legacyBindingFallback') || (s as Obj).legacyBindingFallback !== true || !has(s, 'mode') || (s as Obj).mode === 'NodeAuthorizer',
  "!has(self.rotateOn) || !self.rotateOn.exists(t, t == 'MaxAge') || has(self.maxAge)": (s) =>
    !has(s, 'rotateOn') || !list(s, 'rotateOn').includes('MaxAge') || has(s, 'maxAge'),
  "!has(self.maxAge) || (has(self.rotateOn) && self.rotateOn.exists(t, t == 'MaxAge'))": (s) =>
    !has(s, 'maxAge') || (has(s, 'rotateOn') && list(s, 'rotateOn').includes('MaxAge')),
  '!has(self.workloadKinds) || size(self.workloadKinds) > 0 || (has(self.restartWorkloads) && !self.restartWorkloads)': (s) =>
    !has(s, 'workloadKinds') || list(s, 'workloadKinds').length > 0 || (has(s, 'restartWorkloads') && (s as Obj).restartWorkloads === false),
  "self.all(k, k.size() <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))":
    (s) => isObj(s) && Object.keys(s).every((k) => k.length <= 317 && LABEL_KEY.test(k)),
  "self.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$')": (s) =>
    typeof s === 'string' && LABEL_KEY.test(s),
  "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)": (s) =>
    ['In', 'NotIn'].includes((s as Obj).operator as string) === list(s, 'values').length > 0,
  'self.all(t, self.exists_one(u, u == t))': unique,
  'self.all(k, self.exists_one(u, u == k))': unique,
  'self.all(d, self.exists_one(u, u == d))': unique,
  'self.start != self.end': (s) => isObj(s) && s.start !== s.end,
};

/** The duration rules share one shape: a syntax guard, then bounds (CEL's && absorbs the conversion error). */
const DURATION_RULE = /^self\.matches\('(.+)'\) && duration\(self\) >= duration\('([^']+)'\)(?: && duration\(self\) <= duration\('([^']+)'\))?$/;

function portOf(rule: string): RulePort | undefined {
  const port = PORTS[rule];
  if (port) return port;
  const m = DURATION_RULE.exec(rule);
  if (!m?.[1] || !m[2]) return undefined;
  const syntax = new RegExp(m[1].replaceAll('\\\\', '\\'));
  const min = parseDuration(m[2]);
  const max = m[3] === undefined ? Infinity : parseDuration(m[3]);
  return (s) => typeof s === 'string' && syntax.test(s) && parseDuration(s) >= min && parseDuration(s) <= max;
}

/** Whether every CEL rule in the schema has a port (for the unit test that keeps them in step). */
export function unportedRules(node: SchemaNode): string[] {
  const own = (node['x-kubernetes-validations'] ?? []).map((v) => v.rule).filter((r) => portOf(r) === undefined);
  const children = [
    ...Object.values(node.properties ?? {}),
    ...(node.items ? [node.items] : []),
    ...(isObj(node.additionalProperties) ? [node.additionalProperties as SchemaNode] : []),
  ];
  return [...own, ...children.flatMap(unportedRules)];
}

/** messageExpression as the CRD writes them: string literals joined by + with self or self.<field>. */
function evalMessage(expr: string, self: Json): string {
  return expr
    .split(/\s*\+\s*(?=(?:[^']*'[^']*')*[^']*$)/)
    .map((part) => {
      if (part.startsWith("'") && part.endsWith("'")) return part.slice(1, -1);
      const value = part === 'self' ? self : part.startsWith('self.') && isObj(self) ? self[part.slice(5)] : undefined;
      return typeof value === 'string' ? value : show(value);
    })
    .join('');
}

const typeName = (v: Json): string =>
  Array.isArray(v)
    ? 'array'
    : v === null
      ? 'null'
      : Number.isInteger(v)
        ? 'integer'
        : typeof v === 'number'
          ? 'number'
          : typeof v === 'object'
            ? 'object'
            : typeof v;
const typeOk = (type: string | undefined, v: Json): boolean => type === undefined || typeName(v) === type || (type === 'number' && typeof v === 'number');
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Fills `default:` values into absent fields, as the API server does before validating. */
export function applyDefaults(node: SchemaNode, value: Json): Json {
  const items = node.items;
  if (Array.isArray(value) && items) return value.map((v) => applyDefaults(items, v)); // list items too (restartWindows[].timeZone)
  if (!isObj(value)) return value;
  const out: Obj = { ...value };
  for (const [k, child] of Object.entries(node.properties ?? {})) {
    if (out[k] === undefined && child.default !== undefined) out[k] = structuredClone(child.default);
    if (out[k] !== undefined) out[k] = applyDefaults(child, out[k]);
  }
  return out;
}

/** Every violation of `node` by `value` at `path`, one message each, naming the field. */
export function validateNode(node: SchemaNode, value: Json, path: string): string[] {
  if (!typeOk(node.type, value)) return [`${path}: Invalid value: ${show(value)}: must be of type ${node.type ?? ''}`];
  const errors: string[] = [];
  if (node.enum && !node.enum.includes(value)) errors.push(`${path}: Unsupported value: ${show(value)}: supported values: ${node.enum.map(show).join(', ')}`);
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) errors.push(`${path}: Invalid value: ${value}: must be greater than or equal to ${node.minimum}`);
    if (node.maximum !== undefined && value > node.maximum) errors.push(`${path}: Invalid value: ${value}: must be less than or equal to ${node.maximum}`);
  }
  if (typeof value === 'string') {
    if (node.minLength !== undefined && value.length < node.minLength)
      errors.push(`${path}: Invalid value: ${show(value)}: must be at least ${node.minLength} characters long`);
    if (node.maxLength !== undefined && value.length > node.maxLength) errors.push(`${path}: Too long: may not be more than ${node.maxLength} characters`);
    if (node.pattern !== undefined && !new RegExp(node.pattern).test(value))
      errors.push(`${path}: Invalid value: ${show(value)}: must match '${node.pattern}'`);
    if (node.format === 'date-time' && !RFC3339.test(value))
      errors.push(`${path}: Invalid value: ${show(value)}: must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z`);
  }
  if (Array.isArray(value)) {
    if (node.maxItems !== undefined && value.length > node.maxItems)
      errors.push(`${path}: Too many: ${value.length}: must have at most ${node.maxItems} items`);
    if (node['x-kubernetes-list-type'] === 'set') {
      value.forEach((v, i) => {
        if (value.indexOf(v) !== i) errors.push(`${path}[${i}]: Duplicate value: ${show(v)}`);
      });
    }
    if (node.items) value.forEach((v, i) => errors.push(...validateNode(node.items as SchemaNode, v, `${path}[${i}]`)));
  }
  if (isObj(value)) {
    for (const r of node.required ?? []) if (value[r] === undefined) errors.push(`${path}.${r}: Required value`);
    if (node.maxProperties !== undefined && Object.keys(value).length > node.maxProperties)
      errors.push(`${path}: Too many: ${Object.keys(value).length}: must have at most ${node.maxProperties} items`);
    for (const [k, v] of Object.entries(value)) {
      const child = node.properties?.[k] ?? (isObj(node.additionalProperties) ? node.additionalProperties : undefined);
      if (child) errors.push(...validateNode(child, v, `${path}.${k}`));
      else if (!node['x-kubernetes-preserve-unknown-fields'] && node.properties) errors.push(`${path}.${k}: unknown field "${path}.${k}"`);
    }
  }
  for (const v of node['x-kubernetes-validations'] ?? []) {
    const port = portOf(v.rule);
    const field = `${path}${v.fieldPath ?? ''}`;
    if (!port) {
      errors.push(`${field}: cannot evaluate the CRD rule ${show(v.rule)} offline: install the CRD and check again`);
      continue;
    }
    if (port(value)) continue;
    const message = v.messageExpression ? evalMessage(v.messageExpression, value) : (v.message ?? `failed rule: ${v.rule}`);
    errors.push(`${field}: ${v.reason === 'FieldValueRequired' ? 'Required value' : 'Invalid value'}: ${message}`);
  }
  return errors;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Validates a whole manifest: apiVersion, kind and metadata.name as the API
 * server requires them for this cluster-scoped resource, then the schema.
 * Returns the errors (empty: valid) and the manifest with defaults filled.
 */
export function validateAuthPolicy(manifest: Json, schema: SchemaNode): { errors: string[]; defaulted: Json } {
  if (!isObj(manifest))
    return {
      errors: [`the document is ${typeName(manifest)}, not an object: expected apiVersion: ${API_VERSION}, kind: ${KIND}, metadata and spec`],
      defaulted: manifest,
    };
  const errors: string[] = [];
  const envelope = (field: string, value: Json, want: string): string =>
    `${field}: ${value === undefined ? 'Required value' : `Invalid value: ${show(value)}`}: must be ${want}`;
  if (manifest.apiVersion !== API_VERSION) errors.push(envelope('apiVersion', manifest.apiVersion, API_VERSION));
  if (manifest.kind !== KIND) errors.push(envelope('kind', manifest.kind, KIND));
  const metadata = manifest.metadata;
  if (!isObj(metadata))
    errors.push(
      metadata === undefined
        ? 'metadata.name: Required value: name or generateName is required'
        : `metadata: Invalid value: ${show(metadata)}: must be an object`,
    );
  else if (typeof metadata.name !== 'string' || metadata.name === '') errors.push('metadata.name: Required value: name or generateName is required');
  else if (metadata.name.length > 253 || !DNS_SUBDOMAIN.test(metadata.name))
    errors.push(
      `metadata.name: Invalid value: ${show(metadata.name)}: a lowercase RFC 1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)`,
    );
  const { metadata: _m, ...rest } = manifest;
  const defaulted = applyDefaults(schema, rest);
  for (const e of validateNode(
    { ...schema, properties: { ...schema.properties, metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
    { ...(defaulted as Obj), ...(metadata === undefined ? {} : { metadata }) },
    '',
  )) {
    errors.push(e.replace(/^\./, '').replace(/unknown field "\./, 'unknown field "'));
  }
  return { errors: [...new Set(errors)], defaulted: { ...(defaulted as Obj), ...(metadata === undefined ? {} : { metadata }) } };
}

const YAML11_BOOLEANS = new Set(['yes', 'no', 'y', 'n', 'on', 'off', 'true', 'false']);

/**
 * What to write instead, for the type mistakes a hand-written manifest makes most (a quoted or
 * YAML 1.1 boolean, a quoted number, a single value where a list belongs): the API server says only
 * "expected boolean, got …". One hint per field, each naming it.
 */
export function typeHints(manifest: unknown, schema: SchemaNode, path = ''): string[] {
  const at = (key: string): string => (path ? `${path}.${key}` : key);
  if (Array.isArray(manifest)) return schema.items ? manifest.flatMap((v, i) => typeHints(v, schema.items ?? {}, `${path}[${i}]`)) : [];
  if (isObj(manifest)) {
    return Object.entries(manifest).flatMap(([k, v]) => {
      const child = schema.properties?.[k];
      return child ? typeHints(v, child, at(k)) : [];
    });
  }
  if (typeof manifest !== 'string') return [];
  const text = JSON.stringify(manifest);
  if (schema.type === 'boolean' && YAML11_BOOLEANS.has(manifest.toLowerCase()))
    return [`${path}: ${text} is a string, not a boolean: write true or false, without quotes (YAML 1.2 reads yes/no/on/off as strings)`];
  if ((schema.type === 'integer' || schema.type === 'number') && manifest.trim() !== '' && Number.isFinite(Number(manifest)))
    return [`${path}: ${text} is a string, not a number: write ${manifest.trim()} without quotes`];
  if (schema.type === 'array') return [`${path}: ${text} is a single value where a list belongs: write [${manifest}], or one "- ${manifest}" line per item`];
  if (schema.type === 'object') return [`${path}: ${text} is a string where a mapping (key: value lines) belongs`];
  return [];
}
