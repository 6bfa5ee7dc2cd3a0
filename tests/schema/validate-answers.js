#!/usr/bin/env node
// Holds real answers of the gateway to the HTTP contract's twin,
// schemas/openapi.yaml. Integration tests save answers with lt_http_save
// (tests/integration/lib.sh) as JSON files {method, path, status, headers,
// body} (body: the text that came, or JSON); for each one this finds the operation (path template and method),
// the response of its status (exact, then 4XX-style, then default), checks
// the headers the response marks required, the content type, and validates
// the body against the response's schema with ajv (JSON Schema 2020-12, the
// dialect of OpenAPI 3.1; $refs to other files such as dossier.schema.json
// are followed). An answer the contract does not describe is a failure.
//
//   node validate-answers.js OPENAPI.yaml DIR|FILE...
//
// Prints one line per failure naming the file, and a summary; exit 1 when
// anything failed or there was nothing to check.
'use strict';
const fs = require('fs');
const path = require('path');
// js-yaml comes with @redocly/cli (pinned in package-lock.json), which
// reads the same file for the lint.
const yaml = require('js-yaml');
const Ajv2020 = require('ajv/dist/2020').default;

const ROOT_ID = 'urn:lienthong:openapi';

function loadDoc(file) {
  const text = fs.readFileSync(file, 'utf8');
  return /\.ya?ml$/.test(file) ? yaml.load(text) : JSON.parse(text);
}

// JSON pointer of a list of keys, escaped for use in a URI fragment.
function pointer(keys) {
  return keys
    .map((k) => '/' + encodeURIComponent(String(k).replace(/~/g, '~0').replace(/\//g, '~1')))
    .join('');
}

// Loads the spec into ajv: every $ref to another file is rewritten to that
// file's $id (added to ajv once), so ajv resolves everything itself.
function buildAjv(specFile) {
  // strictRequired is off: `then: {required: [...]}` naming properties
  // declared beside the if/then (Result) is sound JSON Schema.
  const ajv = new Ajv2020({
    strict: true,
    strictRequired: false,
    allErrors: true,
    allowUnionTypes: true,
  });
  // OpenAPI's own annotations inside schemas, and the document's top-level
  // fields: ajv compiles the document's root when a $ref points into it, and
  // strict mode would take them for misspelt keywords.
  for (const k of ['example', 'xml', 'externalDocs', 'discriminator', 'openapi', 'info',
    'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags'])
    ajv.addKeyword(k);
  // OpenAPI's formats: checked, so a malformed time or an out-of-range id fails.
  ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat('date', /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/);
  ajv.addFormat(
    'date-time',
    /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i
  );
  const spec = loadDoc(specFile);
  const added = new Map();
  const rewrite = (node, baseFile) => {
    if (Array.isArray(node)) return node.forEach((n) => rewrite(n, baseFile));
    if (!node || typeof node !== 'object') return;
    if (typeof node.$ref === 'string' && !node.$ref.startsWith('#')) {
      const [file, frag] = node.$ref.split('#');
      const abs = path.resolve(path.dirname(baseFile), file);
      if (!added.has(abs)) {
        const schema = loadDoc(abs);
        const id = schema.$id || `file://${abs}`;
        added.set(abs, id);
        rewrite(schema, abs);
        ajv.addSchema(schema, schema.$id ? undefined : id);
      }
      node.$ref = added.get(abs) + (frag ? `#${frag}` : '');
    }
    for (const v of Object.values(node)) rewrite(v, baseFile);
  };
  rewrite(spec, specFile);
  ajv.addSchema(spec, ROOT_ID);
  return { ajv, spec };
}

// Follows a local $ref ("#/components/responses/X") to the object and its
// pointer keys.
function deref(spec, obj, keys) {
  const seen = new Set();
  while (obj && typeof obj.$ref === 'string') {
    if (!obj.$ref.startsWith('#/') || seen.has(obj.$ref)) throw new Error(`cannot follow ${obj.$ref}`);
    seen.add(obj.$ref);
    keys = obj.$ref
      .slice(2)
      .split('/')
      .map((k) => decodeURIComponent(k).replace(/~1/g, '/').replace(/~0/g, '~'));
    obj = keys.reduce((o, k) => (o == null ? undefined : o[k]), spec);
  }
  return { obj, keys };
}

// The path template an answer's path falls under: a literal path first,
// then templates with {parameters} (one segment each), as OpenAPI says.
function findTemplate(spec, urlPath) {
  const paths = Object.keys(spec.paths || {});
  if (paths.includes(urlPath)) return urlPath;
  for (const t of paths) {
    if (!t.includes('{')) continue;
    const re = new RegExp(
      '^' + t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'
    );
    if (re.test(urlPath)) return t;
  }
  return null;
}

const compiled = new Map();
function validatorFor(ajv, keys) {
  const ref = `${ROOT_ID}#${pointer(keys)}`;
  if (!compiled.has(ref)) compiled.set(ref, ajv.compile({ $ref: ref }));
  return compiled.get(ref);
}

function isJsonType(t) {
  return t === 'application/json' || /\+json$/.test(t);
}

// Returns a list of problems with one saved answer (empty = it matches).
function check(ajv, spec, answer) {
  const { method, status } = answer;
  const urlPath = String(answer.path || '').split('?')[0];
  const template = findTemplate(spec, urlPath);
  if (!template) return [`no path in the contract matches ${urlPath}`];
  const m = String(method || '').toLowerCase();
  const op = spec.paths[template][m];
  if (!op) return [`${template} has no ${String(method).toUpperCase()} operation`];
  const responses = op.responses || {};
  const code = String(status);
  const key = [code, `${code[0]}XX`, 'default'].find((k) => k in responses);
  if (!key) return [`${String(method).toUpperCase()} ${template} declares no ${code} answer`];
  const { obj: resp, keys: respKeys } = deref(spec, responses[key], [
    'paths', template, m, 'responses', key,
  ]);
  const problems = [];
  const headers = Object.fromEntries(
    Object.entries(answer.headers || {}).map(([k, v]) => [k.toLowerCase(), v])
  );
  for (const [name, h] of Object.entries(resp.headers || {})) {
    const { obj: hdr } = deref(spec, h, []);
    if (hdr && hdr.required && !(name.toLowerCase() in headers))
      problems.push(`header ${name} is required with ${code} and missing`);
  }
  // lt_http_save keeps the body as the text that came; hand-written
  // answers (tests/schema/answers/) may give it as JSON.
  const body =
    answer.body == null ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  const content = resp.content || {};
  const types = Object.keys(content);
  if (types.length === 0) {
    if (body.length) problems.push(`a ${code} answer has no body in the contract, but one came`);
    return problems;
  }
  const got = String(headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  const type = types.find((t) => t.split(';')[0].trim().toLowerCase() === got);
  if (!type) return problems.concat([`Content-Type ${got || '(none)'} is not one of ${types.join(', ')}`]);
  if (!isJsonType(got) || !content[type].schema) return problems;
  let data;
  try {
    data = JSON.parse(body);
  } catch (e) {
    return problems.concat([`the body is not JSON: ${e.message}`]);
  }
  const validate = validatorFor(ajv, respKeys.concat(['content', type, 'schema']));
  if (!validate(data)) {
    for (const e of validate.errors.slice(0, 8))
      problems.push(`body${e.instancePath || ''}: ${e.message}` +
        (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''));
  }
  return problems;
}

function answerFiles(args) {
  const files = [];
  for (const a of args) {
    if (fs.statSync(a).isDirectory()) {
      for (const f of fs.readdirSync(a).sort()) if (f.endsWith('.json')) files.push(path.join(a, f));
    } else {
      files.push(a);
    }
  }
  return files;
}

function main(argv) {
  if (argv.length < 2) {
    process.stderr.write('usage: validate-answers.js OPENAPI.yaml DIR|FILE...\n');
    return 2;
  }
  const { ajv, spec } = buildAjv(argv[0]);
  const files = answerFiles(argv.slice(1));
  if (files.length === 0) {
    process.stdout.write('validate-answers: no saved answers to check\n');
    return 1;
  }
  let failed = 0;
  const seen = new Set();
  for (const file of files) {
    let answer, problems;
    try {
      answer = JSON.parse(fs.readFileSync(file, 'utf8'));
      problems = check(ajv, spec, answer);
    } catch (e) {
      problems = [`cannot check: ${e.message}`];
    }
    const what = answer ? `${answer.method} ${answer.path} -> ${answer.status}` : '';
    if (problems.length) {
      failed++;
      for (const p of problems) process.stdout.write(`FAIL ${path.basename(file)}: ${what}: ${p}\n`);
    } else {
      seen.add(`${answer.method} ${findTemplate(spec, answer.path.split('?')[0])} ${answer.status}`);
    }
  }
  process.stdout.write(
    `validate-answers: ${files.length - failed} of ${files.length} answers match ${path.basename(argv[0])}` +
      ` (${seen.size} distinct operation/status pairs)\n`
  );
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
