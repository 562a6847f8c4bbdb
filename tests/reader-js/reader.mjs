// A second reader of the Image Record Format, written from the published reader contract
// (schemas/reader/contract.json) and the rule language (schemas/upgrades/step.schema.json) alone, in JavaScript:
// the tests run every conformance vector through it and through the reference, and hold both to the same verdicts,
// as JSON-Schema-Test-Suite holds its implementations.
//
//   node reader.mjs --root SPEC_ROOT --to VERSION [--setting NAME=VALUE ...] -     read standard input
//   node reader.mjs --root SPEC_ROOT --rule-example FILE                           apply a worked example's rule
//   node reader.mjs --root SPEC_ROOT --batch JOBS.json                             many inputs in one process
//
// It reads the self-contained schemas (schemas/bundled/) with ajv (AJV_HOME: where tools/ajv is installed).
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve as resolvePath } from "node:path";

const require = createRequire(resolvePath(process.env.AJV_HOME || ".", "package.json"));
const Ajv2020 = require("ajv/dist/2020").default;

const MAX_SIZE = 64 * 1024 * 1024;
const MAX_DEPTH = 1024;
const NUL_SCAN = 8192;
const UNUSABLE = new Set(["unreadable", "max-size", "not-json", "not-utf8", "malformed-json", "non-finite-number",
  "duplicate-key", "max-depth", "unknown-version", "downgrade-refused", "missing-step", "deployment-setting-missing"]);

class Refusal extends Error {
  constructor(problems) { super(problems.map((p) => p.rule).join(", ")); this.problems = problems; }
}
const refuse = (pointer, rule, message) => { throw new Refusal([{ pointer, rule, message }]); };
const render = (tokens) => tokens.map((t) => "/" + String(t).replaceAll("~", "~0").replaceAll("/", "~1")).join("");

// -- the input ------------------------------------------------------------------------------------------------
// A parsed object remembers its first repeated member; a number that overflows a double is kept as a marker.
const DUP = Symbol("duplicate");
const OVERFLOW = Symbol("overflow");

function parse(text) {
  let i = 0;
  const fail = (what) => refuse("", "malformed-json", `${what} at offset ${i}`);
  const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
  function value() {
    ws();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (c === "t" && text.startsWith("true", i)) { i += 4; return true; }
    if (c === "f" && text.startsWith("false", i)) { i += 5; return false; }
    if (c === "n" && text.startsWith("null", i)) { i += 4; return null; }
    if (text.startsWith("NaN", i) || text.startsWith("Infinity", i) || text.startsWith("-Infinity", i)) {
      refuse("", "non-finite-number", "NaN and Infinity are not JSON numbers");
    }
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    return fail("a value expected");
  }
  function number() {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail("a number expected");
    i += m[0].length;
    const n = Number(m[0]);
    return Number.isFinite(n) ? n : OVERFLOW;
  }
  function string() {
    i++;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("an unterminated string");
      const c = text[i];
      if (c === '"') { i++; return out; }
      if (c < " ") fail("a control character in a string");
      if (c === "\\") {
        const e = text[i + 1];
        const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e in simple) { out += simple[e]; i += 2; continue; }
        if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)); i += 6; continue;
        }
        fail("a bad escape");
      }
      out += c; i++;
    }
  }
  function object() {
    i++;
    const out = {};
    const seen = new Set();
    ws();
    if (text[i] === "}") { i++; return out; }
    for (;;) {
      ws();
      if (text[i] !== '"') fail("a member name expected");
      const key = string();
      ws();
      if (text[i] !== ":") fail("':' expected");
      i++;
      const v = value();
      if (seen.has(key) && out[DUP] === undefined) out[DUP] = key;
      seen.add(key);
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      ws();
      if (text[i] === ",") { i++; continue; }
      if (text[i] === "}") { i++; return out; }
      fail("',' or '}' expected");
    }
  }
  function array() {
    i++;
    const out = [];
    ws();
    if (text[i] === "]") { i++; return out; }
    for (;;) {
      out.push(value());
      ws();
      if (text[i] === ",") { i++; continue; }
      if (text[i] === "]") { i++; return out; }
      fail("',' or ']' expected");
    }
  }
  let doc;
  try {
    doc = value();
  } catch (e) {
    if (e instanceof RangeError) refuse("", "max-depth", `nesting deeper than ${MAX_DEPTH} levels`);
    throw e;
  }
  ws();
  if (i !== text.length) fail("extra data after the value");
  return doc;
}

function walk(doc) {  // document order: the first duplicate, overflow or container too deep
  const stack = [[doc, []]];
  while (stack.length) {
    const [v, path] = stack.pop();
    if (v === OVERFLOW) refuse(render(path), "non-finite-number", "number out of range (overflows to infinity)");
    if (v !== null && typeof v === "object") {
      if (path.length + 1 > MAX_DEPTH) refuse("", "max-depth", `nesting deeper than ${MAX_DEPTH} levels`);
      if (!Array.isArray(v) && v[DUP] !== undefined) {
        refuse(render([...path, v[DUP]]), "duplicate-key", `key '${v[DUP]}' appears more than once in one object`);
      }
      const entries = Array.isArray(v) ? v.map((x, k) => [k, x]) : Object.entries(v);
      for (let k = entries.length - 1; k >= 0; k--) stack.push([entries[k][1], [...path, entries[k][0]]]);
    }
  }
  return doc;
}

function readInput(bytes) {
  if (bytes.length > MAX_SIZE) refuse("", "max-size", `input is more than ${MAX_SIZE} bytes`);
  if (bytes.subarray(0, NUL_SCAN).includes(0)) refuse("", "not-json", "binary data (NUL byte), not JSON text");
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);  // a byte order mark is dropped
  } catch {
    refuse("", "not-utf8", "not UTF-8 text");
  }
  return walk(parse(text));
}

// -- the spec ------------------------------------------------------------------------------------------------
function spec(root) {
  const releases = JSON.parse(readFileSync(join(root, "schemas/releases.json"), "utf8")).record;
  const steps = {};
  for (const name of readdirSync(join(root, "schemas/upgrades"))) {
    if (/^\d+\.\d+-\d+\.\d+\.json$/.test(name)) {
      const step = JSON.parse(readFileSync(join(root, "schemas/upgrades", name), "utf8"));
      steps[step.from] = step;
    }
  }
  return { root, versions: releases.map((r) => r.version), released: releases.filter((r) => r.status === "released").map((r) => r.version), steps };
}

// RFC 3339 section 5.6 date-time, the calendar (proleptic Gregorian) and leap seconds at 23:59 UTC only
function dateTime(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const oh = Number(m[9] || 0), om = Number(m[10] || 0);
  const days = month === 2 ? ((year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28)
    : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 60 && oh <= 23 && om <= 59)) return false;
  if (second === 60) {
    const offset = m[8] ? (oh * 60 + om) * (m[8] === "+" ? 1 : -1) : 0;
    return ((((hour * 60 + minute - offset) % 1440) + 1440) % 1440) === 23 * 60 + 59;
  }
  return true;
}
const DATE_TIME_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";

const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: true });
ajv.addFormat("date-time", { type: "string", validate: dateTime });
const compiled = new Map();
function validator(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(schema));
  return compiled.get(key);
}

function problems(sp, doc, version) {
  const validate = validator(JSON.parse(readFileSync(join(sp.root, "schemas/bundled", version, "image.json"), "utf8")));
  if (validate(doc)) return [];
  const found = validate.errors.filter((e) => !["anyOf", "oneOf", "if", "not", "allOf"].includes(e.keyword) || true).map((e) => {
    let pointer = e.instancePath;
    if (e.keyword === "required") pointer += render([e.params.missingProperty]);
    if (e.keyword === "additionalProperties") pointer = e.instancePath;
    return { pointer, rule: e.keyword, message: e.message, schemaPattern: e.parentSchema && e.parentSchema.pattern };
  });
  const formatFailed = new Set(found.filter((p) => p.rule === "format").map((p) => p.pointer));
  return found.filter((p) => !(p.rule === "pattern" && formatFailed.has(p.pointer) && p.schemaPattern === DATE_TIME_PATTERN));
}

// -- the rule language ---------------------------------------------------------------------------------------
const MISSING = Symbol("missing");
const parsePointer = (p) => (p === "" ? [] : p.slice(1).split("/").map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~")));
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
function step(node, token) {
  if (isObject(node)) return Object.prototype.hasOwnProperty.call(node, token) ? node[token] : MISSING;
  if (Array.isArray(node)) {
    if (typeof token === "number") return token < node.length ? node[token] : MISSING;
    if (/^(0|[1-9][0-9]*)$/.test(token) && Number(token) < node.length) return node[Number(token)];
  }
  return MISSING;
}
function get(doc, tokens) {
  let node = doc;
  for (const t of tokens) { node = step(node, t); if (node === MISSING) return MISSING; }
  return node;
}
function expand(doc, pointer) {
  let paths = [[[], doc]];
  const tokens = parsePointer(pointer);
  tokens.forEach((token, i) => {
    const next = [];
    for (const [p, node] of paths) {
      if (token === "*") { if (Array.isArray(node)) node.forEach((item, k) => next.push([[...p, k], item])); }
      else if (isObject(node)) {
        const child = step(node, token);
        if (i === tokens.length - 1 || child !== MISSING) next.push([[...p, token], child]);
      }
    }
    paths = next;
  });
  return paths.map(([p]) => p);
}
function set(doc, tokens, value) {
  const parent = get(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent[Number(last)] = value; else parent[last] = value;
}
function remove(doc, tokens) {
  const parent = get(doc, tokens.slice(0, -1));
  if (isObject(parent)) delete parent[tokens[tokens.length - 1]];
}
function move(doc, src, dst, value) {  // renamed within its object, a member keeps its place
  const parent = get(doc, src.slice(0, -1));
  const same = JSON.stringify(src.slice(0, -1)) === JSON.stringify(dst.slice(0, -1));
  const from = src[src.length - 1], to = dst[dst.length - 1];
  if (same && isObject(parent) && from in parent) {
    const items = Object.entries(parent).filter(([k]) => k !== to).map(([k, v]) => (k === from ? [to, value] : [k, v]));
    for (const k of Object.keys(parent)) delete parent[k];
    for (const [k, v] of items) parent[k] = v;
    return;
  }
  set(doc, dst, value);
  remove(doc, src);
}
const copy = (v) => (v === null || typeof v !== "object" ? v : Array.isArray(v) ? v.map(copy) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)])));
function same(a, b) {  // JSON equality: types count, numbers by value, objects whatever their member order
  if (typeof a === "boolean" || typeof b === "boolean") return a === b;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, k) => same(x, b[k]));
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]));
  }
  return a === b && a !== MISSING;
}
function itemPrefix(pattern, concrete) {
  const tokens = parsePointer(pattern);
  let last = -1;
  tokens.forEach((t, k) => { if (t === "*") last = k; });
  return last < 0 ? [] : concrete.slice(0, last + 1);
}
const resolve = (at, prefix) => (at.startsWith("./") ? [...prefix, ...parsePointer(at.slice(1))] : parsePointer(at));
function holds(doc, cond, prefix) {
  const value = get(doc, resolve(cond.at, prefix));
  if (value === MISSING) return false;
  if ("matches" in cond) return validator(cond.matches)(value);
  if ("equals" in cond) return same(value, cond.equals);
  if ("in" in cond) return cond.in.some((x) => same(value, x));
  if ("contains" in cond) return Array.isArray(value) && value.some((item) => isObject(item) && Object.entries(cond.contains).every(([k, v]) => k in item && same(item[k], v)));
  throw new Error(`unknown condition ${JSON.stringify(cond)}`);
}
function substitute(pattern, concrete) {
  const tokens = parsePointer(pattern);
  const stars = concrete.filter((_, k) => parsePointer(pattern)[k] === "*");
  let n = 0;
  return tokens.map((t) => (t === "*" ? stars[n++] : t));
}
function template(t, value, doc) {
  if (isObject(t)) {
    if (Object.keys(t).length === 1 && t.$from === true) return copy(value);
    if (Object.keys(t).length === 1 && "$at" in t) { const v = get(doc, parsePointer(t.$at)); return v === MISSING ? null : copy(v); }
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, template(v, value, doc)]));
  }
  return copy(t);
}
// every {"$deployment": NAME} of a rule (but its why and mode_why) replaced by the setting, before it applies
function withSettings(rule, settings, index) {
  const sub = (v) => {
    if (isObject(v)) {
      if (Object.keys(v).length === 1 && "$deployment" in v) {
        if (!(v.$deployment in settings)) refuse(`/rules/${index}`, "deployment-setting-missing", `needs the deployment setting ${v.$deployment}`);
        return settings[v.$deployment];
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sub(x)]));
    }
    return Array.isArray(v) ? v.map(sub) : v;
  };
  return Object.fromEntries(Object.entries(rule).map(([k, v]) => [k, k === "why" || k === "mode_why" ? v : sub(v)]));
}
const OPS = {
  add(doc, r) {
    for (const tokens of expand(doc, r.path)) {
      if (get(doc, tokens) === MISSING) set(doc, tokens, template(r.value, undefined, doc));
    }
  },
  map(doc, r) {
    const targets = expand(doc, r.path);
    const values = targets.map((tokens) => {
      const prefix = itemPrefix(r.path, tokens);
      for (const c of r.cases) if (c.when.every((w) => holds(doc, w, prefix))) return template(c.value, undefined, doc);
      return "otherwise" in r ? template(r.otherwise, undefined, doc) : MISSING;
    });
    targets.forEach((tokens, k) => { if (values[k] !== MISSING && !same(get(doc, tokens), values[k])) set(doc, tokens, values[k]); });
    for (const p of r.consumes || []) for (const tokens of expand(doc, p)) if (get(doc, tokens) !== MISSING) remove(doc, tokens);
  },
  wrap(doc, r) {
    const src = parsePointer(r.from), dst = parsePointer(r.to);
    const value = get(doc, src);
    if (value === MISSING) return;
    set(doc, dst, value === null ? [] : [template(r.item, value, doc)]);
    remove(doc, src);
  },
  rename(doc, r) {
    const chosen = expand(doc, r.from).filter((tokens) => get(doc, tokens) !== MISSING
      && (r.when || []).every((c) => holds(doc, c, itemPrefix(r.from, tokens))));
    for (const tokens of chosen) {
      const value = get(doc, tokens);
      const dst = substitute(r.to, tokens);
      const existing = get(doc, dst);
      if (existing !== MISSING) {
        if (!("conflict" in r)) refuse(render(dst), "rename-conflict", "the target already exists");
        const keep = substitute(r.conflict, tokens);
        if (get(doc, keep) !== MISSING) refuse(render(keep), "rename-conflict", "the place for the old value is taken");
        set(doc, keep, existing);
      }
      if ("leave" in r) { set(doc, dst, value); set(doc, tokens, copy(r.leave)); } else move(doc, tokens, dst, value);
    }
  },
};
function applyRule(doc, rule, settings, index) { OPS[rule.op](doc, withSettings(rule, settings, index), settings); }

// members in the order the version's schema lists them (items of referenced objects too), the others after
function canonical(sp, doc, version, kind = "image") {
  const bundle = JSON.parse(readFileSync(join(sp.root, "schemas/bundled", version, `${kind}.json`), "utf8"));
  const order = (node, value) => {
    const props = node.properties || {};
    const out = {};
    for (const k of Object.keys(props)) if (k in value) out[k] = value[k];
    for (const [k, v] of Object.entries(value)) if (!(k in out)) out[k] = v;
    for (const [k, p] of Object.entries(props)) {
      const ref = p && p.items && p.items.$ref;
      if (ref && Array.isArray(out[k])) {
        const target = Object.values(bundle.$defs || {}).find((d) => d.$id && d.$id.endsWith("/" + ref));
        if (target && target.type === "object") out[k] = out[k].map((i) => (isObject(i) ? order(target, i) : i));
      }
    }
    return out;
  };
  const root = bundle.$ref ? Object.values(bundle.$defs).find((d) => d.$id === bundle.$ref) : bundle;
  return order(root, doc);
}

// -- reading -------------------------------------------------------------------------------------------------
function read(sp, doc, to, settings) {
  if (!isObject(doc) || !("format_version" in doc)) refuse("", "format_version", "a record must be an object with a 'format_version'");
  const version = doc.format_version;
  if (typeof version !== "string") refuse("/format_version", "format_version", "format_version must be a string");
  if (!sp.versions.includes(version)) refuse("/format_version", "unknown-version", `format version ${JSON.stringify(version)} is unknown`);
  if (doc.kind === "imgspec.store") refuse("/kind", "not-an-image-record", "a store manifest, not an image record");
  const found = problems(sp, doc, version);
  if (found.length) throw new Refusal(found);
  if (sp.versions.indexOf(to) < sp.versions.indexOf(version)) refuse("/format_version", "downgrade-refused", `${version} cannot be read as the older ${to}`);
  let out = copy(doc);
  for (let k = sp.versions.indexOf(version); k < sp.versions.indexOf(to); k++) {
    const s = sp.steps[sp.versions[k]];
    if (!s) refuse("", "missing-step", `no upgrade rules from ${sp.versions[k]}`);
    s.rules.forEach((rule, index) => applyRule(out, rule, settings, index));
    out.format_version = s.to;
  }
  const after = problems(sp, out, to);
  if (after.length) throw new Refusal(after.map((p) => ({ ...p, rule: "upgrade-produced-invalid" })));
  return out;
}

function main(argv) {
  const args = { settings: {} };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === "--root") args.root = argv[++k];
    else if (a === "--to") args.to = argv[++k];
    else if (a === "--rule-example") args.example = argv[++k];
    else if (a === "--batch") args.batch = argv[++k];
    else if (a === "--setting") { const [n, ...v] = argv[++k].split("="); args.settings[n] = v.join("="); }
    else args.input = a;
  }
  const sp = spec(args.root);
  if (args.example) {  // a worked example of the rule language: its rule applied to `before`
    const ex = JSON.parse(readFileSync(args.example, "utf8"));
    let doc = copy(ex.before);
    try {
      if (ex.step) {
        const s = JSON.parse(readFileSync(join(sp.root, ex.step), "utf8"));
        s.rules.forEach((rule, index) => applyRule(doc, rule, ex.deployment || {}, index));
        doc.format_version = s.to;
        doc = canonical(sp, doc, s.to);
      } else {
        applyRule(doc, ex.rule, ex.deployment || {}, 0);
      }
      process.stdout.write(JSON.stringify({ after: doc }) + "\n");
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      process.stdout.write(JSON.stringify({ refused: { pointer: e.problems[0].pointer, rule: e.problems[0].rule } }) + "\n");
    }
    return 0;
  }
  if (args.batch) {  // many inputs in one process (the tests): [{"data": base64, "to": V}] -> [{status, stdout, stderr}]
    const jobs = JSON.parse(readFileSync(args.batch, "utf8"));
    const out = jobs.map((job) => runOne(sp, Buffer.from(job.data, "base64"), job.to, args.settings));
    process.stdout.write(JSON.stringify(out) + "\n");
    return 0;
  }
  const result = runOne(sp, readFileSync(0), args.to, args.settings);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  return result.status;
}

function runOne(sp, bytes, to, settings) {
  const name = "<stdin>";
  if (!sp.versions.includes(to)) return { status: 2, stdout: "", stderr: `--to: (root): unknown-version: ${to}\n` };
  try {
    const reading = read(sp, readInput(bytes), to, settings);
    return { status: 0, stdout: JSON.stringify(reading, null, 2) + "\n", stderr: "" };
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    const sorted = [...e.problems].sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
    const stderr = sorted.map((p) => `${name}: ${p.pointer || "(root)"}: ${p.rule}: ${p.message}\n`).join("");
    return { status: sorted.some((p) => UNUSABLE.has(p.rule)) ? 2 : 1, stdout: "", stderr };
  }
}

process.exitCode = main(process.argv.slice(2));
