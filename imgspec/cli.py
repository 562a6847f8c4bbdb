"""The ``imgspec`` command: one subcommand per job, each a ``cmd_*`` function here.

Which commands there are, what each does and who it is for is said once, in :func:`parser` (each command's
help) and :data:`GROUPS`: ``imgspec --help`` and the site's command-line page print them from there.
Problems print one per line (FILE[:LINE]: POINTER: RULE: MESSAGE); the exit status is :data:`EXIT_STATUS`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
from pathlib import Path

from imgspec import atomic, jsonfile, resources, upgrade
from imgspec.api import document as api
from imgspec.api import microversions as mv
from imgspec.diff import api as apidiff
from imgspec.diff import schemas as diff
from imgspec.format import batch, bundle, examples, inputs, profiles, registry
from imgspec.problems import INVALID, OK, UNUSABLE, Problem, ProblemError, exit_status
from imgspec.progress import Progress
from imgspec.release import api as api_release
from imgspec.release import errata, history, vectorlock
from imgspec.release import versions as release
from imgspec.sizing import storage as sizing
from imgspec.spec import RECORD_KINDS, Spec
from imgspec.sql import binding as sqlbinding
from imgspec.sql.export import export
from imgspec.store import placement as store_placement
from imgspec.store.service import begin_first_use, named_store_problems
from imgspec.store.upgrade import upgrade_store
from imgspec.upgrade import load_steps, proof, vectors


def cmd_check(args) -> int:
    spec = Spec(args.root) if args.root else Spec.default()
    _, problems = registry.build(spec)
    problems += release.check(spec)
    problems += vectorlock.problems(spec) + bundle.stale(spec) + api_release.stale_self_contained(spec)
    try:
        problems += sqlbinding.load(spec).problems()
    except ProblemError as exc:
        problems += exc.problems
    lines = [str(p) for p in problems]
    cases = examples.record_examples(spec)
    if not problems:
        for case in cases:
            lines += examples.verdict(spec, case)
    for line in lines:
        print(line)
    print(f"{len(spec.schema_files())} schemas, {len(cases)} examples: "
          + ("all as declared" if not lines else f"{len(lines)} problem(s)"), file=sys.stderr)
    return INVALID if lines else OK


def cmd_validate(args) -> int:
    spec = Spec.default()
    if args.version is not None:
        spec.release(args.version)  # an unknown version is unusable input (exit 2)
        if args.kind is not None:
            spec.schema_path(args.kind, args.version)  # the version defines that kind
    elif args.kind not in (None, "image", "store"):
        print(f"imgspec validate: --kind {args.kind} needs --version: a fragment does not say its format version",
              file=sys.stderr)
        return UNUSABLE
    if args.profile:
        profiles.load(spec, args.profile)  # an unknown profile is unusable input (exit 2)
    run = batch.Run(args.paths, args.kind, args.version, args.profile, args.jobs or os.cpu_count() or 1)
    progress = Progress("file", args.quiet or args.output_format != "text")
    out = OUTPUTS[args.output_format]
    status, count, done, drafts, failing, problems = OK, 0, 0, 0, 0, 0
    versions: dict[str, str] = {}
    kept: list[Problem] = []  # for a JSON report, printed whole at the end
    seen: set[str] = set()
    with progress:
        for found in run.results():
            versions.update(found.versions)
            problems += len(found.problems)
            for p in found.problems:
                out.problem(p, kept, progress.write)
                failing += p.file not in seen
                seen.add(p.file)
            status, count, done = max(status, found.status), count + found.count, done + found.files
            drafts += found.drafts
            progress(done, len(run.files))
    for p in named_store_problems(spec, args.paths, versions):
        problems += 1
        out.problem(p, kept, progress.write)
        failing += p.file not in seen
        seen.add(p.file)
        status = max(status, INVALID)
    if count == 0 and status == OK:  # nothing checked is no success: a mistyped path, an empty folder
        empty = Problem(", ".join(args.paths), "", "empty-selection", "no record found to check (a folder is searched "
                        f"for {', '.join('*' + s for s in inputs.SUFFIXES)})")
        if args.output_format == "text":
            print(empty, file=sys.stderr)
        else:
            out.problem(empty, kept, progress.write)
        status, problems = UNUSABLE, problems + 1
    out.end(kept, {"records": count, "problems": problems, "failing_inputs": failing, "drafts": drafts}, status)
    if drafts:
        print(f"imgspec validate: warning: {drafts} record(s) at a draft format version, which may still change: "
              "services MUST NOT write draft records in production", file=sys.stderr)
    if not args.quiet and args.output_format == "text" and count:
        print(f"{count} record(s) checked: " + ("all valid" if status == OK else
              f"{problems} problem(s) in {failing} input(s)"), file=sys.stderr)
    return status


class TextOutput:
    """One line per problem, as it is found (FILE[:LINE]: POINTER: RULE: MESSAGE), said above any progress line."""

    @staticmethod
    def problem(p: Problem, kept: list, say=print) -> None:
        say(str(p))

    @staticmethod
    def end(kept: list, counts: dict, status: int) -> None:
        pass


class GithubOutput(TextOutput):
    """A GitHub Actions workflow command per problem: shown inline on the file, at its line."""

    @staticmethod
    def problem(p: Problem, kept: list, say=print) -> None:
        def escape(text: str, prop: bool = False) -> str:
            text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            return text.replace(":", "%3A").replace(",", "%2C") if prop else text
        where = f"file={escape(p.file, True)}" + (f",line={p.line}" if p.line else "")
        say(f"::error {where},title={escape('imgspec ' + p.rule, True)}::{escape(p.pointer or '(root)')}: "
            f"{escape(p.message)}")


class JsonOutput(TextOutput):
    """One JSON document: every problem (file, line, pointer, rule, message, exit), the counts and the status."""

    @staticmethod
    def problem(p: Problem, kept: list, say=print) -> None:
        kept.append(p)

    @staticmethod
    def end(kept: list, counts: dict, status: int) -> None:
        report = {"status": {OK: "valid", INVALID: "invalid", UNUSABLE: "unusable"}[status], "exit": status,
                  "counts": counts,
                  "problems": [{"file": p.file, "line": p.line, "pointer": p.pointer, "rule": p.rule,
                                "message": p.message, "exit": exit_status([p])} for p in kept]}
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


OUTPUTS = {"text": TextOutput, "json": JsonOutput, "github": GithubOutput}


def draft_warning(to: str | None) -> None:
    """Writing a draft version is allowed only when named, and always warned about."""
    if to is not None and Spec.default().release(to).status == "draft":
        print(f"imgspec: warning: format {to} is a draft and may still change; services MUST NOT write draft "
              "records in production", file=sys.stderr)


def _load_record(path: str):
    return jsonfile.load(path, display=path)


def cmd_upgrade(args) -> int:
    draft_warning(args.to)
    new = upgrade.upgrade(_load_record(args.record), args.to, source=args.record, deployment=settings(args.setting))
    text = jsonfile.dumps(new)
    if args.in_place:
        from pathlib import Path

        atomic.write_text(Path(args.record), text)
    else:
        sys.stdout.write(text)
    return OK


def cmd_read(args) -> int:
    """The runner contract of the conformance vectors: a record (a path, or - for stdin) read at --to."""
    if args.to is not None and args.to not in Spec.default().versions:
        spec = Spec.default()
        raise ProblemError(Problem("--to", "", "unknown-version",
                                   f"format version {args.to!r} is not one of {', '.join(spec.versions)}"))
    draft_warning(args.to)
    if args.record == "-":
        doc = jsonfile.loads(sys.stdin.buffer.read(jsonfile.MAX_BYTES + 1), "<stdin>")  # more is max-size
    else:
        doc = _load_record(args.record)
    source = "<stdin>" if args.record == "-" else args.record
    new = upgrade.upgrade(doc, args.to, source=source, deployment=settings(args.setting))
    if args.explain:  # each rule the reading applied, with its mode: what the reader does meanwhile and why
        spec = Spec.default()
        for step in upgrade.chain(spec, doc["format_version"], new["format_version"]):
            for number, rule in enumerate(step.rules, 1):
                print(f"{source}: {step.source}-{step.target} rule {number}: {rule['mode']}: "
                      f"{step.meanwhile(rule, number)}", file=sys.stderr)
    sys.stdout.write(jsonfile.dumps(new))
    return OK


def cmd_bundle(args) -> int:
    spec = Spec(args.root) if args.root else Spec.default()
    if args.check:
        problems = bundle.stale(spec) + api_release.stale_self_contained(spec)
        for p in problems:
            print(p)
        return INVALID if problems else OK
    spec.writable("bundle")
    written = bundle.write(spec)
    print(f"wrote {len(written)} self-contained schemas under {bundle.FOLDER}", file=sys.stderr)
    print(f"wrote the self-contained API document {api_release.write_self_contained(spec)}", file=sys.stderr)
    return OK


def cmd_vectors(args) -> int:
    spec = Spec(args.root) if args.root else Spec.default()
    if args.write:
        spec.writable("vectors --write")
        written = vectors.write(spec)
        print(f"wrote {len(written)} vectors under {vectors.FOLDER}", file=sys.stderr)
        return OK
    if args.command is not None:
        vectors.check_command(args.command)  # a command that cannot run is one line before any vector

        def runner(data, to):
            return vectors.run_command(args.command, data, to)
    else:
        def runner(data, to):
            return vectors.run_reference(spec, data, to)
    problems = vectorlock.problems(spec) + vectors.verdicts(spec, runner)
    for p in problems:
        print(p)
    count = len(vectors.files(spec))
    print(f"{count} vectors: {'all agree' if not problems else f'{len(problems)} disagreement(s)'}", file=sys.stderr)
    return INVALID if problems else OK


def cmd_upgrade_store(args) -> int:
    draft_warning(args.to)
    if args.first_use:
        oldest, to = begin_first_use(args.store, args.to, durable=not args.no_fsync)
        if not args.quiet:
            print(f"lazy upgrade to {to}: records from {oldest} are upgraded on first use; "
                  f"imgspec upgrade-store {args.store} finishes it at install time" if oldest != to else
                  f"store already at {to}: nothing to do", file=sys.stderr)
        return OK
    with Progress("record", args.quiet) as progress:
        outcome = upgrade_store(args.store, args.to, durable=not args.no_fsync, progress=progress,
                                deployment=settings(args.setting))
    if not args.quiet:
        print(outcome.summary(), file=sys.stderr)
    return OK


def settings(pairs: list[str] | None) -> dict[str, str]:
    """``--setting NAME=VALUE`` options as a mapping (the values rules name with $deployment)."""
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ProblemError(Problem("--setting", "", "usage", f"{pair!r} is not NAME=VALUE"))
        out[name] = value
    return out


def cmd_export_sql(args) -> int:
    draft_warning(args.to)
    with Progress("image", args.quiet) as progress:
        key = args.metadata_encryption_key or os.environ.get("IMGSPEC_METADATA_ENCRYPTION_KEY") or None
        summary = export(args.database, args.out, args.to, durable=not args.no_fsync, progress=progress,
                         encryption_key=key, strict=args.strict, connect_seconds=args.connect_timeout,
                         read_seconds=args.read_timeout)
    if not args.quiet:
        print(summary.text(), file=sys.stderr)
    refused = summary.counts.get("refused_images", 0)
    if refused:
        print(f"{summary.url}: {refused} image(s) refused: their rows make no valid record; each is in "
              f"{os.path.join(args.out, 'refused')}/ with its pointer, rule and message and its rows as the "
              f"database holds them ({summary.counts['images']} exported)", file=sys.stderr)
        return INVALID
    return OK


def cmd_errata(spec: Spec, version: str | None) -> int:
    """Every erratum (of one version) classified against the content it replaced."""
    status = OK
    found = errata.errata(spec, version)
    for v, erratum in found:
        result = errata.classify(spec, v, erratum)
        print(f"erratum {erratum['id']} to format {v} ({erratum['date']}): {erratum['what']}")
        for line in result.lines():
            print(line)
        if result.problems:
            status = INVALID
    print(f"{len(found)} erratum/errata classified", file=sys.stderr)
    return status


def _is_api_document(path: str) -> bool:
    """Whether ``path`` is a file holding an OpenAPI document (diff tells one apart without --api)."""
    if not os.path.isfile(path):
        return False
    try:
        doc = jsonfile.load(path)
    except ProblemError:
        return False
    return isinstance(doc, dict) and "openapi" in doc


def cmd_diff(args) -> int:
    spec = Spec.default()
    if args.errata:
        return cmd_errata(spec, args.versions[0] if args.versions else None)
    if args.api or (len(args.versions or []) == 2 and all(_is_api_document(v) for v in args.versions)):
        return cmd_api_diff(spec, args.versions, args.markdown, args.microversions)
    if args.versions and len(args.versions) != 2:
        print("imgspec diff: give two versions (or folders), or none", file=sys.stderr)
        return UNUSABLE
    released = spec.released
    old, new = args.versions or ((released[-1], spec.latest) if spec.latest != released[-1] else spec.versions[-2:])
    ov, nv, changes = diff.diff(spec, old, new)
    steps = load_steps(spec)
    rules = steps[ov].ruleset() if ov in steps and steps[ov].target == nv else None
    meaning = diff.meaning_changes(spec, ov, nv) if rules is not None else []
    declared = diff.declared_meaning_changes(spec, nv)
    if args.markdown:
        sys.stdout.write(diff.markdown(ov, nv, changes + meaning, rules, declared))
    else:
        print(f"record format {ov} -> {nv}: {len(changes)} change(s)")
        for c in changes:
            n = diff.covering_rule(c, rules) if c.category in diff.NOT_COMPATIBLE else None
            print(c.line() + (f"  [upgrade rule {n}]" if n else ""))
    bad = diff.uncovered(changes, rules)
    for c in bad:
        print(f"uncovered: {c.kind} {c.shown or '/'}: {c.category} {c.rule}: needs an upgrade rule in "
              f"schemas/upgrades/{ov}-{nv}.json", file=sys.stderr)
    if not args.markdown:
        for c in meaning:
            print(c.line() + ("  [declared]" if c.record in declared else ""))
    undeclared = [c for c in meaning if c.record not in declared]
    for c in undeclared:
        print(f"undeclared: {c.kind} {c.record}: meaning-changed: declare it in the {nv} entry of "
              "schemas/releases.json (meaning_changes: field and what changed)", file=sys.stderr)
    try:
        unproven = prove_steps(spec, [steps[ov]]) if rules is not None else []
    except ProblemError as exc:  # the proof draws with an optional dependency: the classification stands
        if {p.rule for p in exc.problems} != {"missing-dependency"}:
            raise
        unproven = []
        print(f"imgspec diff: warning: the proof of step {ov}-{nv} was not run ({exc.problems[0].message})",
              file=sys.stderr)
    return INVALID if bad or unproven or undeclared else OK


def api_document(spec: Spec, source: str) -> dict:
    """An OpenAPI document to compare: a file (its references inside a spec tree inlined) or a git revision of this tree."""
    path = Path(source)
    if path.is_file():
        root = path.resolve().parents[2] if path.resolve().parent.parts[-2:] == ("schemas", "api") else None
        if root is not None and (root / "schemas" / "releases.json").is_file():
            return api.bundled(Spec(root)) if path.resolve() == (root / api.DOCUMENT).resolve() else \
                api.resolve_local(jsonfile.load(path, display=source), source)
        return api.resolve_local(jsonfile.load(path, display=source), source)
    with history.schemas_at(spec, source) as tree:
        return api.bundled(tree)


def cmd_api_diff(spec: Spec, sources: list[str], markdown: bool, microversions: bool = False) -> int:
    """Classify every change of the API document for clients; exit 1 when one is not behind a newer API version."""
    if sources and len(sources) != 2 or microversions and not sources:
        print("imgspec diff --api: give two documents (files or git revisions), or none; with --microversions, two "
              "API versions", file=sys.stderr)
        return UNUSABLE
    if microversions:
        known = [v["version"] for v in mv.versions(spec)]
        for v in sources:
            if v not in known:
                print(f"imgspec diff --api --microversions: {v}: unknown API version ({mv.DATA} has "
                      f"{known[0]} to {known[-1]})", file=sys.stderr)
                return UNUSABLE
        whole = api.bundled(spec)
        old, new = (mv.at_version(whole, v) for v in sources)
    elif sources:
        old, new = (api_document(spec, s) for s in sources)
    else:  # the last released state against the working tree
        old, new = api_release.released_document(spec)[1], api.bundled(spec)
    changes = apidiff.compare(old, new)
    if markdown:
        sys.stdout.write(apidiff.markdown(changes, old, new))
    else:
        print(f"API {old['info']['version']} -> {new['info']['version']}: {len(changes)} change(s)")
        for c in changes:
            print(c.line())
    bad = apidiff.unannounced(changes, old, new)
    for c in bad:
        print(f"unannounced: {c.where}: {c.check}: {c.severity}: needs a newer API version (info.version) than "
              f"{new['info']['version']}", file=sys.stderr)
    return INVALID if bad else OK


def prove_steps(spec: Spec, steps: list, out=sys.stdout) -> list:
    """Print the verdict of each step's proof (:func:`imgspec.upgrade.proof.prove_steps`); return the problems."""
    problems = []
    for step, found in proof.prove_steps(spec, steps):
        for p in found:
            print(f"not proven: {p}", file=sys.stderr)
        if not found:
            print(f"proven: {step.source} -> {step.target} on {proof.BUDGET} image and {proof.BUDGET} store documents "
                  f"drawn from the {step.source} schemas (valid, lossless, idempotent)", file=out)
        problems += found
    return problems


def cmd_prove(args) -> int:
    spec = Spec(args.root) if args.root else Spec.default()
    steps = list(load_steps(spec).values())
    if args.steps:
        names = {f"{s.source}-{s.target}": s for s in steps}
        unknown = [n for n in args.steps if n not in names]
        if unknown:
            print(f"imgspec prove: no step {unknown[0]} (steps: {', '.join(names)})", file=sys.stderr)
            return UNUSABLE
        steps = [names[n] for n in args.steps]
    return INVALID if prove_steps(spec, steps) else OK


def cmd_placement(args) -> int:
    """A policy file, a manifest with one, or a store directory (then its records too)."""
    problems, count = store_placement.check_source(args.source, args.records)
    for p in problems:
        print(p)
    if not args.quiet:
        print(f"placement: policy and {count} record(s) checked: "
              + ("no problem" if not problems else f"{len(problems)} problem(s)"), file=sys.stderr)
    return exit_status(problems) if problems else OK


def cmd_sizing(args) -> int:
    """Per version: the JSON record, the metadata measured on an engine (make sizing), and the deployment's storage."""
    est = sizing.estimate(Spec.default(), args.images, args.engine, args.copies, args.average_size, args.corpus)
    dep = est.deployment
    print(f"{'version':8} {'JSON B/image':>13} {est.engine + ' B/image':>20} {'metadata':>12} {'upgrade peak':>13} "
          f"{'total for ' + format(dep['images'], ',') + ' images':>26}")
    for size, per_image, st, upgraded in est.rows:
        print(f"{size.version:8} {size.mean:13,.0f} {per_image:20,.0f} {sizing.human(st.metadata):>12} "
              f"{sizing.human(st.upgrade_peak) if upgraded else '':>13} {sizing.human(st.total):>26}")
    print(f"(average data {sizing.human(round(est.average))}, {est.holding:.1%} of images hold data, "
          f"{sizing.physical_copies(est.policy)} physical copies each; {est.deleted:.1%} soft-deleted; staging "
          f"{dep['concurrent_imports']} imports, image cache {sizing.human(dep['image_cache_max_size'])} on "
          f"{dep['api_nodes']} API nodes; metadata as measured on {est.engine})", file=sys.stderr)
    return OK


def _report_file(name: str) -> Path:
    """A report file to write once the run ends, refused before the run when it cannot be written there."""
    path = Path(name)
    if path.is_dir() or not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise resources.unwritable(name, "is a folder, not a file" if path.is_dir() else
                                   f"its folder {path.parent} does not exist" if not path.parent.is_dir() else
                                   f"its folder {path.parent} is not writable")
    return path


def cmd_conformance(args) -> int:
    import time

    from imgspec.api import conformance  # an HTTP client: loaded by the one command that uses it
    from imgspec.api import report as conformance_report
    from imgspec.text import now
    headers = conformance.default_headers(args.project)
    for name, value in args.header:
        headers[name] = value
    outputs = [(kind, _report_file(name)) for kind, name in (("junit", args.junit), ("html", args.html)) if name]
    started, clock = now(), time.monotonic()
    report = conformance.conform(args.endpoint, headers, record=Path(args.record) if args.record else None,
                                 timeout=args.timeout)
    if outputs:
        run = conformance_report.run_of(Spec.default(), args.endpoint, started, time.monotonic() - clock, headers)
        for kind, path in outputs:
            atomic.write_text(path, conformance_report.junit(report, run) if kind == "junit" else
                              conformance_report.page(report, run))
    for line in report.mismatches:
        print(line)
    print(f"conformance: {report.exchanges} exchanges over {len(report.operations)} operations, "
          f"{len(report.mismatches)} mismatch(es)", file=sys.stderr)
    return OK if report.ok else exit_status(report.mismatches)  # a server that failed is 2, a mismatch 1


def cmd_erratum(args) -> int:
    if not args.id.startswith(f"{args.version}-E"):
        raise ProblemError(Problem("--id", "", "usage", f"{args.id!r} is not an erratum of {args.version} "
                                   f"({args.version}-E1, {args.version}-E2, ...)"))
    Spec.default().writable("erratum")
    entry = release.record_erratum(Spec.default(), args.version, args.id, args.what, args.why, args.evidence)
    print(f"recorded erratum {entry['id']} to {args.version}: {', '.join(entry['files'])}", file=sys.stderr)
    return OK


def cmd_api_correction(args) -> int:
    Spec.default().writable("api-correction")
    correction, changes = api_release.record_correction(Spec.default(), args.id, args.what, args.why, args.evidence)
    for c in changes:
        print(c.line())
    print(f"recorded correction {correction['id']} of the API document: {len(changes)} change(s), "
          f"{', '.join(correction['files'])}", file=sys.stderr)
    return OK


def cmd_api_release(args) -> int:
    Spec.default().writable("api-release")
    release, changes = api_release.record_release(Spec.default(), args.note)
    print(f"released API {release['version']}: {len(changes)} change(s) since the last release, "
          f"{len(release['files'])} file(s) locked in {api_release.RELEASES}", file=sys.stderr)
    return OK


def cmd_release(args) -> int:
    spec = Spec.default()
    spec.writable("release")
    entry = release.release(spec, args.version)
    vectorlock.write_lock(spec, [args.version])
    print(f"released {args.version}: {len(entry['files'])} file(s) locked in {release.RELEASES}, its vectors in "
          f"{vectorlock.LOCK}", file=sys.stderr)
    return OK


def matching(pattern: str, what: str):
    """An argparse ``type`` that admits only values matching ``pattern`` (argparse names the flag when it fails)."""
    import re
    rx = re.compile(pattern)

    def check(value: str) -> str:
        if not rx.fullmatch(value.strip()):
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
        return value.strip()
    return check


def number(parse, admits, not_a_number: str, refused: str):
    """An argparse ``type``: a number ``parse`` reads and ``admits`` accepts (argparse names the flag if not)."""
    def check(value: str):
        try:
            found = parse(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not {not_a_number}") from None
        if not admits(found):
            raise argparse.ArgumentTypeError(f"{value} is not {refused}")
        return found
    return check


positive = number(int, lambda n: n >= 1, "a whole number", "positive (at least 1)")
jobs = number(int, lambda n: n >= 0, "a whole number", "a number of processes (0: one per core)")
seconds = number(float, lambda n: 0 < n < 86400, "a number of seconds", "a time bound (more than 0, less than a day)")


def version(value: str) -> str:
    """An argparse ``type``: a format version of the spec (argparse names the flag when it is not)."""
    known = Spec.default().versions
    if value not in known:
        kind = "a string such as 2.3" if not value.replace(".", "").isdigit() else ", ".join(known)
        raise argparse.ArgumentTypeError(f"{value!r} is not a format version (unknown-version): {kind}")
    return value


def header(value: str) -> tuple[str, str]:
    """An argparse ``type``: ``NAME: VALUE``, one line (a CR or LF would start another header)."""
    name, sep, rest = value.partition(":")
    if not sep or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()):
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME: VALUE")
    if any(c in value for c in "\r\n\0"):
        raise argparse.ArgumentTypeError(f"{value!r} holds a line break: one header is one line")
    return name.strip(), rest.strip()


SENTENCE = matching(r"\S.*", "a sentence (it is empty)")
GLANCE_FILE = matching(r"(glance|etc|api-ref)(/(?!\.\.?/)[\w.-]+)+", "a file of the Glance source tree "
                       "(glance/..., etc/... or api-ref/...)")


def correction_arguments(command, id_help: str, what_help: str, why_help: str, id_pattern: str) -> None:
    """--id, --what, --why and --evidence: what every recorded correction (erratum, API correction) states,
    each checked before anything is written."""
    example = id_help.split("e.g. ")[-1]
    command.add_argument("--id", required=True, help=id_help, type=matching(id_pattern, f"an id like {example}"))
    command.add_argument("--what", required=True, help=what_help, type=SENTENCE)
    command.add_argument("--why", required=True, help=why_help, type=SENTENCE)
    command.add_argument("--evidence", action="append", required=True, metavar="GLANCE_FILE", type=GLANCE_FILE,
                         help="a Glance source file that shows it (repeatable)")


EXIT_STATUS = ("Exit status, every command: 0 all is as it should be; 1 the input was read and breaks a rule; 2 the "
               "input could not be used at all (not a file, not UTF-8, not JSON, a duplicate key, an unknown format "
               "version, a failing server or database, a file that cannot be written) or the command line is wrong.")


# Who each command is for: --help lists them in these groups (one table: docs/command-line.md shows --help).
GROUPS = {
    "Records and stores": ["validate", "read", "upgrade", "upgrade-store", "placement", "sizing"],
    "Deployments": ["export-sql", "conformance"],
    "Implementations and reviews": ["vectors", "diff", "prove", "check"],
    "Maintainers of the spec (a checkout of its tree)": ["bundle", "release", "erratum", "api-correction",
                                                         "api-release"],
}


class Commands:
    """Adds subcommands (each one's help is its description too) and lists them by GROUPS for the top --help."""

    def __init__(self, sub):
        self.sub, self.summaries = sub, {}

    def add(self, name: str, help: str) -> argparse.ArgumentParser:
        self.summaries[name] = help
        return self.sub.add_parser(name, description=help[0].upper() + help[1:] + ".")

    def listing(self) -> str:
        grouped = [name for names in GROUPS.values() for name in names]
        if sorted(grouped) != sorted(self.summaries):  # a command added without a group, or a group naming none
            raise AssertionError(f"GROUPS and the commands differ: {sorted(set(grouped) ^ set(self.summaries))}")
        width = max(map(len, grouped)) + 2
        lines = textwrap.wrap("The Image Record Format and Images API v2 specification, as a command: "
                              "imgspec COMMAND --help says more of each.", 79)
        for title, names in GROUPS.items():
            lines += ["", title + ":"]
            for name in names:
                wrapped = textwrap.wrap(self.summaries[name], 77 - width)
                lines += [f"  {name:<{width}}{wrapped[0]}"] + [" " * (width + 2) + more for more in wrapped[1:]]
        return "\n".join(lines)


class VersionAction(argparse.Action):
    """``--version``: the package's version and what it carries (read only when asked)."""

    def __init__(self, option_strings, dest, **kw):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        from imgspec import __version__
        spec = Spec.default()
        drafts = [v for v in spec.versions if v not in spec.released]
        api_version = api.document(spec)["info"]["version"]
        print(f"imgspec {__version__}: record format {', '.join(spec.released)} released"
              + (f", {', '.join(drafts)} draft" if drafts else "") + f"; Images API document {api_version}"
              + f" ({spec.root})")
        parser.exit()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="imgspec", formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=textwrap.fill(EXIT_STATUS, 79))
    p.add_argument("--version", action=VersionAction, help="the package, format and API versions it carries")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = Commands(sub)
    c = commands.add("check", help="check the spec tree's schemas and examples")
    c.add_argument("--root", help="spec tree (default: the installed one)")
    c.set_defaults(func=cmd_check)
    v = commands.add("validate", help="validate record files, folders and JSON Lines streams")
    v.add_argument("paths", nargs="+", metavar="PATH",
                   help="a record file, a folder (every *.json and *.jsonl below it), a .jsonl file, or - for stdin")
    v.add_argument("--kind", choices=RECORD_KINDS,
                   help="what every document is (default: a store manifest or an image record, as each says); "
                   "a fragment such as a location also needs --version")
    v.add_argument("--version", type=version, help="validate as this format version (default: each record's format_version)")
    v.add_argument("--profile", metavar="NAME",
                   help="also check a deployment profile's quotas (schemas/profiles/NAME.json, e.g. glance-defaults); "
                   "quotas are configuration, never format limits")
    v.add_argument("-q", "--quiet", action="store_true", help="no summary line, no progress bar")
    v.add_argument("--output-format", choices=list(OUTPUTS), default="text",
                   help="text: a line per problem (default); json: one document with every problem and the counts; "
                   "github: GitHub Actions annotations, shown on the file and line")
    v.add_argument("-j", "--jobs", type=jobs, default=0,
                   help="processes validating files and JSON Lines (default: one per core)")
    v.set_defaults(func=cmd_validate)
    u = commands.add("upgrade", help="upgrade one record (printed, or --in-place)")
    u.add_argument("record", help="the record file to upgrade")
    u.add_argument("--to", type=version,
                   help="target version (default: the newest released; a draft only when named, with a warning)")
    u.add_argument("--in-place", action="store_true", help="replace the file atomically")
    u.add_argument("--setting", action="append", metavar="NAME=VALUE",
                   help="a deployment setting that upgrade rules name with $deployment (repeatable)")
    u.set_defaults(func=cmd_upgrade)
    r = commands.add("read", help="print a record as the newest released version reads it, writing nothing")
    r.add_argument("record", help="the record file to read (never written), or - for standard input")
    r.add_argument("--to", help="read it at this version (default: the newest released)")
    r.add_argument("--explain", action="store_true",
                   help="say on standard error, rule by rule, how the reading was made and when a store rewrites it")
    r.add_argument("--setting", action="append", metavar="NAME=VALUE",
                   help="a deployment setting that upgrade rules name with $deployment (repeatable)")
    r.set_defaults(func=cmd_read)
    bd = commands.add("bundle", help="write the self-contained schemas (schemas/bundled) from the modular ones")
    bd.add_argument("--check", action="store_true", help="only say which checked-in bundles are stale")
    bd.add_argument("--root", help="the spec tree (default: this package's)")
    bd.set_defaults(func=cmd_bundle)
    vc = commands.add("vectors", help="hold an implementation (default: this one) to the conformance vectors")
    vc.add_argument("--command", help="an implementation under the runner contract, e.g. 'imgspec read --to {to} -'")
    vc.add_argument("--write", action="store_true", help="generate the vectors from this implementation (review them!)")
    vc.add_argument("--root", help="the spec tree (default: this package's)")
    vc.set_defaults(func=cmd_vectors)
    s = commands.add("upgrade-store", help="upgrade a directory store in place: atomic per record, resumable")
    s.add_argument("store", metavar="DIR", help="the store: manifest.json and records/")
    s.add_argument("--to", type=version,
                   help="target version (default: the newest released; a draft only when named, with a warning)")
    s.add_argument("--no-fsync", action="store_true", help="skip fsync (safe against a crash of the process, "
                   "not against power loss)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    s.add_argument("--setting", action="append", metavar="NAME=VALUE",
                   help="a deployment setting that upgrade rules name with $deployment (repeatable)")
    s.add_argument("--first-use", action="store_true",
                   help="start a lazy upgrade instead: only the manifest is written, each record is upgraded when the "
                   "service first uses it (refused while a rule on the way is install-time); without it, the "
                   "upgrade rewrites every record now, which also finishes a lazy upgrade")
    s.set_defaults(func=cmd_upgrade_store)
    d = commands.add("diff", help="classify every change between two versions of the record schemas")
    d.add_argument("versions", nargs="*", metavar="OLD NEW", help="versions or folders (default: last release -> draft)")
    d.add_argument("--markdown", action="store_true", help="a table for a review comment")
    d.add_argument("--api", action="store_true",
                   help="compare two API documents instead (files or git revisions; default: the last released "
                   "state against this tree) and classify each change for clients")
    d.add_argument("--microversions", action="store_true",
                   help="with --api: OLD and NEW are API versions (2.15 2.18); compare the document as a client of "
                   "each sees it (by the version each element declares, x-since)")
    d.add_argument("--errata", action="store_true",
                   help="classify the errata of a released version (give it as OLD; default: every version)")
    d.set_defaults(func=cmd_diff)
    pl = commands.add("placement", help="check who replicates what: a policy and records against it")
    pl.add_argument("source", metavar="SOURCE", help="a placement policy file, a store manifest or a store folder")
    pl.add_argument("records", nargs="*", metavar="RECORD", help="image records to check against the policy")
    pl.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    pl.set_defaults(func=cmd_placement)
    sz = commands.add("sizing", help="metadata bytes per image per version, and storage totals")
    sz.add_argument("--images", type=positive, help="images in the deployment (default: the reference deployment)")
    sz.add_argument("--average-size", type=positive, metavar="BYTES", help="average data size of an image")
    sz.add_argument("--copies", type=positive, help="physical copies of each image's data (default: from the placement policy)")
    sz.add_argument("--corpus", type=positive, help="images in the generated corpus (default: the distributions file)")
    sz.add_argument("--engine", choices=["sqlite", "mariadb", "postgresql"],
                    help="the database whose measured bytes per image count (default: the reference deployment's)")
    sz.set_defaults(func=cmd_sizing)
    cf = commands.add("conformance", help="check a live Images API v2 endpoint against the spec")
    cf.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:9292")
    cf.add_argument("--project", default="7d9e1a2f4b3c4e5f8a6b0c1d2e3f4a5b", help="X-Project-Id of the caller")
    cf.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'", type=header,
                    help="add or replace a request header")
    cf.add_argument("--timeout", type=seconds, default=resources.HTTP_SECONDS, metavar="SECONDS",
                    help="bound on connecting, on each read and on each whole response "
                    f"(default {resources.HTTP_SECONDS:g})")
    cf.add_argument("--record", metavar="DIR", help="also write each operation's first JSON bodies into DIR/<operationId>/ "
                    "(request.json, response-<status>.json), as API examples are captured")
    cf.add_argument("--junit", metavar="FILE", help="also write the report as JUnit XML: a test case per exchange, "
                    "the endpoint, imgspec, the API document and its release as properties")
    cf.add_argument("--html", metavar="FILE", help="also write the report as one HTML page that needs no other file")
    cf.set_defaults(func=cmd_conformance)
    ex = commands.add("export-sql", help="read a Glance database (read-only) into a new record store")
    ex.add_argument("database", metavar="DB_URL", help="SQLAlchemy URL, e.g. sqlite:////var/lib/glance/glance.sqlite")
    ex.add_argument("out", metavar="OUT_DIR", help="the store to create (must not exist, or be empty)")
    ex.add_argument("--to", type=version,
                    help="format version of the store (default: the newest released; a draft only when named)")
    ex.add_argument("--no-fsync", action="store_true", help="skip fsync (safe against a crash of the process, "
                    "not against power loss)")
    ex.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    ex.add_argument("--strict", action="store_true", help="refuse the whole export when any image's rows make no "
                    "valid record (default: export every other image, write each refused one to OUT_DIR/refused/ as "
                    "the database holds it, and exit 1)")
    ex.add_argument("--connect-timeout", type=positive, default=resources.DB_CONNECT_SECONDS, metavar="SECONDS",
                    help=f"bound on connecting to a database server (default {resources.DB_CONNECT_SECONDS})")
    ex.add_argument("--read-timeout", type=positive, default=resources.DB_READ_SECONDS, metavar="SECONDS",
                    help=f"bound on each statement of a database server (default {resources.DB_READ_SECONDS})")
    ex.add_argument("--metadata-encryption-key", metavar="KEY",
                    help="Glance's metadata_encryption_key, to decrypt location URLs it encrypted (better: the "
                    "IMGSPEC_METADATA_ENCRYPTION_KEY environment variable, which no process list shows)")
    ex.set_defaults(func=cmd_export_sql)
    pv = commands.add("prove", help="prove version steps on documents drawn from the old schemas")
    pv.add_argument("steps", nargs="*", help="steps such as 2.2-2.3 (default: every step)")
    pv.add_argument("--root", help="the spec tree (default: this package's)")
    pv.set_defaults(func=cmd_prove)
    rl = commands.add("release", help="freeze a draft version")
    rl.add_argument("version", type=version, help="the draft version to release (its files are locked by content hash)")
    rl.set_defaults(func=cmd_release)
    er = commands.add("erratum", help="record the changed files of a released version as a widening erratum")
    er.add_argument("version", type=version, help="the released version whose files changed")
    correction_arguments(er, "the erratum's id, e.g. 2.1-E1", "what the erratum changes, in one sentence",
                         "why: what the released version got wrong", r"[0-9]+\.[0-9]+-E[1-9][0-9]*")
    er.set_defaults(func=cmd_erratum)
    ac = commands.add("api-correction", help="record a change of the API document that describes what Glance "
                        "already did (no API change, no new version)")
    correction_arguments(ac, "the correction's id, e.g. 2.15-C1", "what the document now says, in one sentence",
                         "why: what it got wrong", r"[0-9]+\.[0-9]+-C[1-9][0-9]*")
    ac.set_defaults(func=cmd_api_correction)
    ar = commands.add("api-release", help="record the API document as it is as a new API release (its info.version)")
    ar.add_argument("--note", required=True, help="what the release is, in one sentence", type=SENTENCE)
    ar.set_defaults(func=cmd_api_release)
    p.description = commands.listing()
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ProblemError as exc:
        print(exc, file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of our output went away (| head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except OSError as exc:  # the last resort: an OS failure no room turned into a problem is still one line
        name = exc.filename if isinstance(exc.filename, str) else f"imgspec {args.command}"
        print(Problem(name, "", "unreadable" if isinstance(exc, FileNotFoundError) else "unwritable",
                      resources.reason(exc)), file=sys.stderr)
        return UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
