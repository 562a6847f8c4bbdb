"""Directory stores of records: their layout and the service that reads and writes them (``service``), and the
install-time upgrade of a whole store (``upgrade``).

A service uses a store through this package's face, as ``imgspec.store.open(DIR)`` and
``imgspec.store.begin_first_use(DIR)``: the names below are :mod:`imgspec.store.service`'s.
"""
from imgspec.store.service import LOCK, Store, begin_first_use, open, read_manifest

__all__ = ["LOCK", "Store", "begin_first_use", "open", "read_manifest"]
