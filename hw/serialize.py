"""One-file storage of nested dataclasses holding numpy arrays (a .npz with a JSON header).

No pickle: a file names only classes inside `neurocosim`, and arrays are stored as arrays.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

_HEADER = "__header__"


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        out = {f.name: _encode(getattr(obj, f.name), arrays)
               for f in dataclasses.fields(obj) if f.init}
        out["__dataclass__"] = f"{cls.__module__}:{cls.__qualname__}"
        return out
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            return {"__items__": [[_encode(k, arrays), _encode(v, arrays)]
                                  for k, v in obj.items()]}
        return {"__dict__": {k: _encode(v, arrays) for k, v in obj.items()}}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in an image file")


def _decode(obj: Any, arrays) -> Any:
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__array__" in obj:
        return arrays[obj["__array__"]]
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {k: _decode(v, arrays) for k, v in obj["__dict__"].items()}
    if "__items__" in obj:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in obj["__items__"]}
    if "__dataclass__" in obj:
        module, _, qualname = obj["__dataclass__"].partition(":")
        if not module.startswith("neurocosim."):
            raise ValueError(f"image file names a class outside neurocosim: {module}")
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        kwargs = {k: _decode(v, arrays) for k, v in obj.items() if k != "__dataclass__"}
        return cls(**kwargs)
    raise ValueError(f"unreadable entry in image file: {sorted(obj)[:5]}")


def save(obj: Any, path: "str | Path", **header: Any) -> None:
    """Write `obj` (a dataclass tree) and extra header fields to one .npz file."""
    arrays: dict[str, np.ndarray] = {}
    doc = dict(header, root=_encode(obj, arrays))
    arrays[_HEADER] = np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    Path(path).write_bytes(buf.getvalue())


def load(path: "str | Path") -> tuple[Any, dict[str, Any]]:
    """Read a file written by `save`: (object, header fields)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    doc = json.loads(arrays.pop(_HEADER).tobytes().decode())
    root = doc.pop("root")
    return _decode(root, arrays), doc
