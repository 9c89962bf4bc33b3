// Validates an OpenAPI 3.1 document with @apidevtools/swagger-parser
// (structure against the official schema, and every $ref resolved).
// Exits 0 when valid, 1 when not, 2 on usage problems.
import { resolve } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node openapi.mjs OPENAPI.yaml');
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(resolve(file));
  const paths = Object.keys(api.paths || {}).length;
  const operations = Object.values(api.paths || {})
    .flatMap((item) => Object.keys(item).filter((k) => ['get', 'put', 'post', 'delete', 'patch'].includes(k))).length;
  console.log(`valid OpenAPI ${api.openapi}: ${paths} paths, ${operations} operations`);
} catch (err) {
  console.log(`invalid: ${err.message}`);
  process.exit(1);
}
