// ajv (JSON Schema 2020-12) with ajv-formats, as an implementer in Node would use the self-contained schemas.
// Usage: node validate.mjs SCHEMA RECORD...  Prints one line per record: "valid PATH" or "invalid PATH".
// Nothing is fetched: every $ref of a bundle resolves inside it.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.AJV_HOME ? process.env.AJV_HOME + "/" : import.meta.url);
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;

const [schemaPath, ...records] = process.argv.slice(2);
const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));
for (const path of records) {
  let verdict;
  try {
    verdict = validate(JSON.parse(readFileSync(path, "utf8"))) ? "valid" : "invalid";
  } catch (e) {
    verdict = "unreadable";
  }
  console.log(`${verdict} ${path}`);
}
