// Validates an AsyncAPI document with the official parser, resolving the
// JSON Schema files it references. Prints every diagnostic of severity
// error or warning; exits 1 when there is an error, 2 on usage problems.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Parser, fromFile } from '@asyncapi/parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate.mjs ASYNCAPI.yaml');
  process.exit(2);
}
const path = resolve(file);
readFileSync(path); // fail early and clearly if unreadable
const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, path).parse();
const severities = ['error', 'warning', 'info', 'hint'];
let errors = 0;
for (const d of diagnostics) {
  const level = severities[d.severity] ?? String(d.severity);
  if (d.severity <= 1) {
    console.log(`${level}: ${d.message} at /${(d.path || []).join('/')} [${d.code}]`);
  }
  if (d.severity === 0) errors += 1;
}
if (!document || errors > 0) {
  console.log(`${pathToFileURL(path)}: ${errors} error(s)`);
  process.exit(1);
}
const ops = document.operations().length;
const messages = document.messages().length;
console.log(`valid AsyncAPI ${document.version()}: ${ops} operations, ${messages} messages`);
