"""JSON encoding of probe inputs and results, with a decoder safe on hostile input.

Encoded forms (tagged dicts, so that a plain dict can never pass for an array)::

    ndarray / torch.Tensor  {"__ndarray__": base64, "dtype": "float64", "shape": [2, 3]}
    tuple                   {"__tuple__": [...]}
    dict (str keys)         {"__dict__": {...}}
    nan, inf, -inf          {"__float__": "nan"}
    anything else           {"__object__": "<type name>"}   (decodes to Unsupported)

Lists, str, int, float, bool and None are themselves. The decoder never uses pickle or
eval, accepts only numeric and bool dtypes, and bounds depth, item count and array bytes, so
a result emitted by a student's kernel can at worst decode to a wrong answer.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass

import numpy as np

SAFE_DTYPES = frozenset({
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
})


@dataclass(frozen=True)
class Unsupported:
    """Stands for a value of a type the encoder does not carry (a generator, a module...)."""

    type_name: str


@dataclass(frozen=True)
class Bounds:
    """Limits of the decoder; a payload exceeding them raises ValueError."""

    max_depth: int = 32
    max_items: int = 100_000
    max_array_bytes: int = 64 * 2**20
    max_str: int = 1_000_000


def encode(obj, _depth: int = 0):
    """Return a JSON-serialisable form of ``obj`` (see the module docstring)."""
    if _depth > 64:
        return {"__object__": "nesting too deep"}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _encode_array(obj)
    if type(obj).__module__ == "torch" and type(obj).__name__ in ("Tensor", "Parameter"):
        return _encode_array(obj.detach().cpu().numpy())
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(x, _depth + 1) for x in obj]}
    if isinstance(obj, list):
        return [encode(x, _depth + 1) for x in obj]
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        return {"__dict__": {k: encode(v, _depth + 1) for k, v in obj.items()}}
    return {"__object__": type(obj).__name__}


def _encode_array(arr: np.ndarray) -> dict:
    if arr.dtype.name not in SAFE_DTYPES:
        return {"__object__": f"ndarray of dtype {arr.dtype}"}
    arr = np.asarray(arr, dtype=arr.dtype.newbyteorder("<")).copy(order="C")  # keeps 0-d arrays 0-d
    return {
        "__ndarray__": base64.b64encode(arr.tobytes()).decode("ascii"),
        "dtype": arr.dtype.name,
        "shape": list(arr.shape),
    }


def decode(data, bounds: Bounds = Bounds()):
    """Inverse of :func:`encode`; raises ValueError on anything malformed or too big."""
    budget = {"items": bounds.max_items, "bytes": bounds.max_array_bytes}
    return _decode(data, bounds, budget, 0)


def _decode(data, bounds, budget, depth):
    if depth > bounds.max_depth:
        raise ValueError(f"payload nested deeper than {bounds.max_depth}")
    budget["items"] -= 1
    if budget["items"] < 0:
        raise ValueError(f"payload has more than {bounds.max_items} items")
    if data is None or isinstance(data, (bool, int)):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, str):
        if len(data) > bounds.max_str:
            raise ValueError(f"string longer than {bounds.max_str}")
        return data
    if isinstance(data, list):
        return [_decode(x, bounds, budget, depth + 1) for x in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise ValueError(f"unexpected {type(data).__name__} in payload")
    if "__ndarray__" in data:
        return _decode_array(data, budget)
    if set(data) == {"__tuple__"} and isinstance(data["__tuple__"], list):
        return tuple(_decode(x, bounds, budget, depth + 1) for x in data["__tuple__"])
    if set(data) == {"__dict__"} and isinstance(data["__dict__"], dict):
        return {str(k): _decode(v, bounds, budget, depth + 1) for k, v in data["__dict__"].items()}
    if set(data) == {"__float__"} and data["__float__"] in ("nan", "inf", "-inf"):
        return float(data["__float__"])
    if set(data) == {"__object__"} and isinstance(data["__object__"], str):
        return Unsupported(data["__object__"][:200])
    raise ValueError(f"unknown tagged object with keys {sorted(map(str, data))[:5]}")


def _decode_array(data: dict, budget: dict) -> np.ndarray:
    if set(data) != {"__ndarray__", "dtype", "shape"}:
        raise ValueError("array must have exactly the keys __ndarray__, dtype, shape")
    b64, dtype, shape = data["__ndarray__"], data["dtype"], data["shape"]
    if not isinstance(dtype, str) or dtype not in SAFE_DTYPES:
        raise ValueError(f"array dtype {dtype!r} is not one of the numeric dtypes")
    if (not isinstance(shape, list) or len(shape) > 32
            or not all(type(n) is int and 0 <= n for n in shape)):
        raise ValueError(f"array shape must be a list of non-negative ints, got {shape!r}")
    if not isinstance(b64, str) or len(b64) > 4 * budget["bytes"] // 3 + 4:
        raise ValueError("array data missing or larger than the payload budget")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"array data is not base64: {exc}") from None
    dt = np.dtype(dtype).newbyteorder("<")
    if len(raw) != math.prod(shape) * dt.itemsize:
        raise ValueError(f"array data has {len(raw)} bytes, shape {shape} of {dtype} needs {math.prod(shape) * dt.itemsize}")
    budget["bytes"] -= len(raw)
    if budget["bytes"] < 0:
        raise ValueError("arrays in payload exceed the byte budget")
    return np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="), copy=True).reshape(shape)
