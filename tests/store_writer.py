"""A service of one format version writing a directory store through imgspec.store, as a separate process.

    python tests/store_writer.py STORE VERSION ACKS SECONDS

It creates new records and rewrites existing ones (with a new name each time) until SECONDS pass or the store
refuses it (``store-upgraded``), and appends one line per acknowledged write to ACKS, after ``put`` returned:
``{"id": ..., "name": ...}``. The test then checks that every acknowledged write is in the store."""
import json
import random
import sys
import time

from imgspec import store
from imgspec.problems import ProblemError
from imgspec.sizing import corpus
from imgspec.spec import Spec
from imgspec.upgrade import upgrade


def main(folder: str, version: str, acks: str, seconds: float) -> int:
    spec = Spec.default()
    s = store.open(folder, spec, version=version)
    rng = random.Random(version)
    dist = corpus.distributions(spec)
    existing = s.ids()
    end = time.monotonic() + seconds
    n = 0
    with open(acks, "a", encoding="utf-8") as out:
        while time.monotonic() < end:
            n += 1
            doc = upgrade(corpus.record_1_0(rng, dist), version, spec)
            if n % 2 and existing:  # rewrite a record the store had when this service opened it
                doc["id"] = rng.choice(existing)
            doc["name"] = f"write-{version}-{n}"
            try:
                s.put(doc)
            except ProblemError as exc:
                if any(p.rule == "store-upgraded" for p in exc.problems):
                    print(json.dumps({"refused": str(exc)}), file=out, flush=True)
                    return 0
                raise
            print(json.dumps({"id": doc["id"], "name": doc["name"]}), file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
