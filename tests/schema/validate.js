#!/usr/bin/env node
// Validates JSON files against schemas/dossier.schema.json with ajv (JSON
// Schema 2020-12) and prints one JSON document: {"<file>": {"valid": bool,
// "paths": ["QuaTrinhXuLy[2].ThoiDiemXuLy", ...], "errors": [ajv errors]}}.
// Paths use the C validator's notation so tests/schema/agree.sh can compare
// them with `lienthong check --json` directly.
//
//   node validate.js SCHEMA FILE...
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020').default;

// "/QuaTrinhXuLy/2/ThoiDiemXuLy" -> "QuaTrinhXuLy[2].ThoiDiemXuLy"
function toPath(pointer) {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^[0-9]+$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

function main(argv) {
  if (argv.length < 2) {
    process.stderr.write('usage: validate.js SCHEMA FILE...\n');
    return 2;
  }
  const schema = JSON.parse(fs.readFileSync(argv[0], 'utf8'));
  // strict: a typo in the schema (an unknown keyword) fails the test instead
  // of silently checking nothing. allErrors: every path, as the C side does.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const validate = ajv.compile(schema);
  const results = {};
  for (const file of argv.slice(1)) {
    const name = path.basename(file);
    let data;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      results[name] = { valid: false, paths: [], errors: [{ message: `not JSON: ${e.message}` }] };
      continue;
    }
    const valid = validate(data);
    const errors = valid ? [] : validate.errors;
    const paths = new Set();
    for (const e of errors) {
      if (e.keyword === 'if') continue; // "must match then": the then-error says where
      let p = e.instancePath;
      if (e.keyword === 'required') p += `/${e.params.missingProperty}`;
      paths.add(toPath(p));
    }
    results[name] = { valid, paths: [...paths], errors };
  }
  process.stdout.write(JSON.stringify(results, null, 1) + '\n');
  return 0;
}

process.exitCode = main(process.argv.slice(2));
