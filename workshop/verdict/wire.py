"""How the judge and the runner talk: length-prefixed frames over pipes.

The judge sends pickles (it is the trusted side; the runner runs untrusted code anyway). The
runner answers in JSON only, and values cross as plain data: numbers, strings, lists, dicts,
NumPy arrays of numbers (raw bytes), sparse matrices (their coordinates). Nothing the runner
sends can run code in the judge or carry a method that lies (a custom ``__eq__``, a subclass).
"""

from __future__ import annotations

import base64
import json
import pickle
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

_HEADER = struct.Struct("!Q")
MAX_FRAME = 1 << 30  # 1 GiB: anything larger is refused rather than read


def send(stream: BinaryIO, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def receive(stream: BinaryIO) -> bytes:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the other process closed the pipe")
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"a frame of {size} bytes is over the {MAX_FRAME}-byte limit")
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("the other process closed the pipe mid-frame")
    return payload


def send_request(stream: BinaryIO, request: tuple) -> None:
    send(stream, pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))


def send_reply(stream: BinaryIO, reply: dict) -> None:
    send(stream, json.dumps(reply).encode())


def receive_reply(stream: BinaryIO) -> dict:
    reply = json.loads(receive(stream))
    if not isinstance(reply, dict):
        raise ValueError("the runner's reply is not a JSON object")
    return reply


# ----------------------------------------------------------------- values as plain data


@dataclass(frozen=True)
class Sparse:
    """A sparse matrix as the runner described it: its claimed format and its coordinates."""

    format: str
    shape: tuple[int, ...]
    nnz: int
    row: np.ndarray
    col: np.ndarray
    data: np.ndarray

    def toarray(self) -> np.ndarray:
        dense = np.zeros(self.shape, dtype=self.data.dtype if self.data.size else float)
        np.add.at(dense, (self.row, self.col), self.data)
        return dense


@dataclass(frozen=True)
class Opaque:
    """A value of a type that does not cross as data: its type's name and its repr."""

    type: str
    repr: str


def type_name(value: Any) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _array(array: np.ndarray) -> dict:
    array = np.ascontiguousarray(array)
    return {
        "ndarray": array.dtype.str,
        "shape": list(array.shape),
        "bytes": base64.b64encode(array.tobytes()).decode(),
    }


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-able plain data (runner side). Exact types only, never subclasses."""
    if depth > 20:
        return {"opaque": type_name(value), "repr": "<nested too deeply>"}
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return {"float": repr(value)}  # keeps nan and inf
    if kind in (list, tuple):
        return {kind.__name__: [encode(item, depth + 1) for item in value]}
    if kind is dict:
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if kind is np.ndarray and value.dtype != object and value.dtype.fields is None:
        return _array(value)
    if isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype != object:
        return {"scalar": _array(np.asarray(value))}
    try:
        import scipy.sparse as sp

        if sp.issparse(value) and type(value).__module__.startswith("scipy.sparse"):
            coo = value.tocoo()
            return {
                "sparse": str(value.format),
                "shape": [int(n) for n in value.shape],
                "nnz": int(value.nnz),
                "row": _array(np.asarray(coo.row, dtype=np.int64)),
                "col": _array(np.asarray(coo.col, dtype=np.int64)),
                "data": _array(np.asarray(coo.data)),
            }
    except ImportError:  # pragma: no cover - SciPy is a dependency
        pass
    return {"opaque": type_name(value), "repr": repr(value)[:300]}


def _decode_array(data: dict) -> np.ndarray:
    dtype = np.dtype(data["ndarray"])
    if dtype.hasobject:
        raise ValueError("object arrays do not cross")
    raw = base64.b64decode(data["bytes"])
    return np.frombuffer(raw, dtype=dtype).reshape(data["shape"]).copy()


def decode(data: Any) -> Any:
    """The plain value ``encode`` described (judge side); nothing in it can run code."""
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is not dict:
        raise ValueError(f"unexpected data from the runner: {type(data).__name__}")
    if "float" in data:
        return float(data["float"])
    if "list" in data:
        return [decode(item) for item in data["list"]]
    if "tuple" in data:
        return tuple(decode(item) for item in data["tuple"])
    if "dict" in data:
        return {_key(decode(k)): decode(v) for k, v in data["dict"]}
    if "ndarray" in data:
        return _decode_array(data)
    if "scalar" in data:
        return _decode_array(data["scalar"])[()]
    if "sparse" in data:
        return Sparse(
            str(data["sparse"]),
            tuple(int(n) for n in data["shape"]),
            int(data["nnz"]),
            _decode_array(data["row"]),
            _decode_array(data["col"]),
            _decode_array(data["data"]),
        )
    if "opaque" in data:
        return Opaque(str(data["opaque"]), str(data["repr"]))
    raise ValueError(f"unexpected data from the runner: keys {sorted(data)}")


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
