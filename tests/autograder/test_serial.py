"""Tests of autograder.serial: round trips, and a decoder that refuses hostile payloads."""

import base64
import json

import numpy as np
import pytest

from autograder import serial


def _roundtrip(obj):
    return serial.decode(json.loads(json.dumps(serial.encode(obj), allow_nan=False)))


def test_roundtrip_nested_values():
    obj = ({"W_ih": np.arange(6.0).reshape(2, 3), "n": np.int64(3)}, [1, 2.5, "s", None, True],
           np.array([1, 2], dtype=np.int64), float("nan"), -float("inf"), np.float32(1.5))
    back = _roundtrip(obj)
    assert isinstance(back, tuple) and isinstance(back[1], list)
    np.testing.assert_array_equal(back[0]["W_ih"], obj[0]["W_ih"])
    assert back[0]["W_ih"].dtype == np.float64 and back[0]["W_ih"].flags.writeable
    assert back[0]["n"] == 3 and back[1] == [1, 2.5, "s", None, True]
    assert back[2].dtype == np.int64
    assert np.isnan(back[3]) and back[4] == -np.inf and back[5] == 1.5


def test_torch_tensor_and_unsupported_objects():
    import torch

    back = _roundtrip((torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True), (x for x in ()),
                       np.array(["a"], dtype=object)))
    np.testing.assert_array_equal(back[0], [1.0, 2.0])
    assert back[1] == serial.Unsupported("generator")
    assert isinstance(back[2], serial.Unsupported)


def _array(data=b"\0" * 8, dtype="float64", shape=(1,)):
    return {"__ndarray__": base64.b64encode(data).decode(), "dtype": dtype, "shape": list(shape)}


@pytest.mark.parametrize("payload, match", [
    (_array(dtype="object"), "dtype"),
    (_array(dtype="V8"), "dtype"),
    (_array(shape=(2,)), "bytes"),
    (_array(shape=(-1,)), "shape"),
    (_array(shape=(1.0,)), "shape"),
    ({"__ndarray__": "!!!", "dtype": "float64", "shape": [0]}, "base64"),
    ({**_array(), "extra": 1}, "exactly the keys"),
    ({"__pickle__": "gASV"}, "unknown tagged"),
    ({"__float__": "1e999"}, "unknown tagged"),
    ({}, "unexpected dict"),
])
def test_decoder_rejects_malformed_payloads(payload, match):
    with pytest.raises(ValueError, match=match):
        serial.decode(payload)


def test_decoder_bounds_depth_items_and_bytes():
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ValueError, match="deeper"):
        serial.decode(deep)
    with pytest.raises(ValueError, match="items"):
        serial.decode(list(range(10)), serial.Bounds(max_items=5))
    big = serial.encode(np.zeros(1000))
    with pytest.raises(ValueError, match="budget"):
        serial.decode([big, big], serial.Bounds(max_array_bytes=12_000))
