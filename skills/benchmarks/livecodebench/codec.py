"""Test-case fields of upstream rows, decoded without ever running pickle code.

Upstream stores ``public_test_cases`` as JSON text and ``private_test_cases`` as JSON text or as
``base64(zlib(pickle(<that JSON text>)))``. Unpickling untrusted bytes can call any function, so the
pickle is first walked opcode by opcode (``pickletools.genops`` parses, it executes nothing) and
refused if any opcode could import or call something; only plain data (strings, numbers, lists,
dicts...) gets through. The upstream shape (one string) is read straight from the opcode stream.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import pickle
import pickletools
import zlib
from typing import Any, Dict, List

MAX_INFLATED = 1 << 31  # 2 GiB: far above any real problem, stops a decompression bomb
TEST_TYPES = ("stdin", "functional")

# Opcodes that build only str/bytes/numbers/bool/None/list/tuple/dict or use the memo. Everything
# else (GLOBAL, STACK_GLOBAL, INST, OBJ, NEWOBJ, REDUCE, BUILD, EXT*, PERSID, ...) is refused.
PLAIN_OPCODES = frozenset({
    "PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP",
    "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET",
    "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
    "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
    "NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
    "FLOAT", "BINFLOAT", "EMPTY_LIST", "APPEND", "APPENDS", "LIST",
    "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_DICT", "DICT", "SETITEM", "SETITEMS",
})
_STRINGS = frozenset({"UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"})
_BOOKKEEPING = frozenset({"PROTO", "FRAME", "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "STOP"})


class UnsafeTests(ValueError):
    """A test field that is not plain data (or not tests at all)."""


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module, name):
        raise UnsafeTests(f"refused pickle global {module}.{name}")

    def persistent_load(self, pid):
        raise UnsafeTests("refused pickle persistent id")


def plain_unpickle(raw: bytes) -> Any:
    """The plain data a pickle holds; anything able to construct or call objects is refused."""
    ops = []
    try:
        for opcode, arg, _ in pickletools.genops(raw):
            if opcode.name not in PLAIN_OPCODES:
                raise UnsafeTests(f"refused pickle opcode {opcode.name}")
            ops.append((opcode.name, arg))
    except UnsafeTests:
        raise
    except Exception as exc:  # truncated or garbage bytes
        raise UnsafeTests(f"not a pickle: {exc}") from None
    data = [(n, a) for n, a in ops if n not in _BOOKKEEPING]
    if len(data) == 1 and data[0][0] in _STRINGS:  # the upstream shape: one JSON string
        return data[0][1]
    return _NoGlobals(io.BytesIO(raw)).load()


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_INFLATED)
    if d.unconsumed_tail:
        raise UnsafeTests("test cases inflate beyond 2 GiB")
    return out + d.flush()


def decode_tests(field: str) -> List[Dict[str, str]]:
    """``[{"input", "output", "testtype"}, ...]`` from a public or private test field."""
    if not field:
        return []
    try:
        tests = json.loads(field)
    except ValueError:
        try:
            raw = _inflate(base64.b64decode(field))
        except (binascii.Error, zlib.error, ValueError) as exc:
            raise UnsafeTests(f"test cases are neither JSON nor base64+zlib: {exc}") from None
        payload = plain_unpickle(raw)
        tests = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
    if not isinstance(tests, list) or not all(
            isinstance(t, dict) and isinstance(t.get("input"), str) and isinstance(t.get("output"), str)
            and t.get("testtype") in TEST_TYPES for t in tests):
        raise UnsafeTests("test cases are not a list of {input, output, testtype} records")
    return tests


def encode_private_tests(tests: List[Dict[str, str]]) -> str:
    """The upstream encoding (pickle protocol 4 of the JSON text, zlib, base64); for fixtures."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests), protocol=4))).decode("ascii")
