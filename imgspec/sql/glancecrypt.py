"""What Glance wrote in a form of its own: location URLs encrypted with its ``metadata_encryption_key``
(glance/common/crypt.py) and location metadata pickled by migrations 026 to 028.  Both are read, never executed:
the unpickler builds plain data only.  ``cryptography`` is an optional dependency, probed where it is needed."""
from __future__ import annotations

import base64
import io
import pickle
import re

from imgspec.problems import Problem, ProblemError

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def is_ciphertext(value: str) -> bool:
    """Whether a location value is Glance's encrypted form rather than a URL (a URL has a scheme and a colon)."""
    if ":" in value or not _BASE64URL.fullmatch(value):
        return False
    try:
        raw = base64.urlsafe_b64decode(value)
    except (ValueError, TypeError):
        return False
    return len(raw) >= 32 and len(raw) % 16 == 0


def decrypt(key: str, value: str) -> str:
    """Glance's ``urlsafe_decrypt`` (glance/common/crypt.py): AES-CBC, 16-byte IV first, text ended by a NUL byte."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        raise ProblemError(Problem("imgspec export-sql", "", "missing-dependency",
                                   "decrypting location URLs needs the cryptography package "
                                   "(pip install 'imgspec[sql]')")) from None
    raw = base64.urlsafe_b64decode(value)
    decryptor = Cipher(algorithms.AES(key.encode("utf-8")), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    if b"\0" not in padded:
        raise ValueError("no end of text")
    text = padded[:padded.rfind(b"\0")].decode("utf-8")
    if not _URL_SCHEME.match(text):  # a wrong key yields bytes that may even decode: only a URL is a location
        raise ValueError("the text is not a URL")
    return text


class _PlainData(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, strings and numbers: it never looks up a class or function."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"the pickle names {module}.{name}; only plain data is read")


def unpickle(raw: bytes | str, column: str, where: str, at: str) -> dict:
    """A location's metadata as Glance's migrations 026-028 stored it (Python 2 pickle of a dict)."""
    data = raw.encode("latin-1") if isinstance(raw, str) else bytes(raw)
    try:
        value = _PlainData(io.BytesIO(data), encoding="utf-8").load()
    except Exception as exc:  # noqa: BLE001 - any malformed pickle is one refusal
        raise ProblemError(Problem(where, at, "pickle", f"{column} is not a pickle of plain data ({exc})")) from None
    if not isinstance(value, dict):
        raise ProblemError(Problem(where, at, "type", f"{column} holds a pickled {type(value).__name__}, not a dict"))
    return value
