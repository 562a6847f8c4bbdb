// ajv (JSON Schema 2020-12) with ajv-formats on a JSON Lines file: one Node process, one core, as an implementer
// in Node would validate a stream. Usage: node validate-lines.mjs SCHEMA FILE.jsonl  Prints "N valid M invalid".
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.AJV_HOME ? process.env.AJV_HOME + "/" : import.meta.url);
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;

const [schemaPath, linesPath] = process.argv.slice(2);
const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));
let valid = 0, invalid = 0;
for (const line of readFileSync(linesPath, "utf8").split("\n")) {
  if (line.trim() === "") continue;
  if (validate(JSON.parse(line))) valid++; else invalid++;
}
console.log(`${valid} valid ${invalid} invalid`);
