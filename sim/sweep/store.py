"""The results folder of a sweep: one Parquet part per finished point, combined on demand.

    OUT/meta.json            the sweep's fingerprint (a folder holds one sweep)
    OUT/parts/<key>.parquet  one row per point, written atomically as the point finishes
    OUT/results.parquet      all rows sorted by point id (also results.csv), by `combine`

A part is renamed into place only when complete, so a killed sweep leaves whole parts
only, and the next run skips exactly the points that have one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .config import SweepError, _plain

#: columns every row has, first in the table
LEADING = ("point_id", "key", "status", "error")
#: columns that measure this machine's speed, not the design: left out of comparisons
VOLATILE = ("seconds_compile", "seconds_run")


def as_cell(value: Any) -> Any:
    """A value as a Parquet cell: tuples/lists become JSON text, numpy scalars Python,
    NaN (an undefined metric, e.g. a correlation of constant counts) a null."""
    value = _plain(value)
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


class ResultStore:
    """Reads and writes one sweep's results folder."""

    def __init__(self, root: "str | Path"):
        self.root = Path(root)
        self.parts = self.root / "parts"

    def open(self, fingerprint: dict[str, Any], name: str, fresh: bool = False,
             axes: Iterable[str] = (), report: "dict[str, str] | None" = None) -> None:
        """Create the folder, or check that it belongs to this sweep (same fingerprint)."""
        meta = self.root / "meta.json"
        if fresh and self.parts.is_dir():
            for p in self.parts.glob("*.parquet"):
                p.unlink()
        if meta.is_file() and not fresh:
            old = json.loads(meta.read_text()).get("fingerprint")
            if old != _plain(fingerprint):
                changed = sorted(k for k in set(old or {}) | set(fingerprint)
                                 if (old or {}).get(k) != _plain(fingerprint).get(k))
                raise SweepError(f"results folder {self.root} holds another sweep "
                                 f"(different {', '.join(changed)}); choose another output "
                                 "or start afresh with --fresh")
        self.parts.mkdir(parents=True, exist_ok=True)
        for stale in self.parts.glob(".*.tmp"):  # a part being written when a run died
            stale.unlink(missing_ok=True)
        meta.write_text(json.dumps({"name": name, "fingerprint": _plain(fingerprint),
                                    "axes": list(axes), "report": dict(report or {})},
                                   indent=1, sort_keys=True))

    def axes(self) -> list[str]:
        """The swept parameters, as recorded when the sweep started."""
        meta = self.root / "meta.json"
        return json.loads(meta.read_text()).get("axes", []) if meta.is_file() else []

    def done_keys(self) -> set[str]:
        """Keys of the points that have a complete part."""
        if not self.parts.is_dir():
            return set()
        return {p.stem for p in self.parts.glob("*.parquet")}

    def write(self, row: dict[str, Any]) -> None:
        """Store one point's row (atomically: a temporary file renamed into place)."""
        table = pa.Table.from_pylist([{k: as_cell(v) for k, v in row.items()}])
        final = self.parts / f"{row['key']}.parquet"
        tmp = self.parts / f".{row['key']}.{os.getpid()}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, final)

    def combine(self, keys_to_ids: "dict[str, int] | None" = None,
                axes: Iterable[str] = ()) -> pa.Table:
        """All parts as one table sorted by point id; with `keys_to_ids` only those points,
        numbered as given (so a sweep extended with new values renumbers consistently)."""
        files = sorted(self.parts.glob("*.parquet")) if self.parts.is_dir() else []
        if not files:
            raise SweepError(f"no results in {self.root} (no finished points yet)")
        tables = []
        for f in files:
            if keys_to_ids is not None and f.stem not in keys_to_ids:
                continue
            t = pq.read_table(f)
            if keys_to_ids is not None:
                ids = pa.array([keys_to_ids[f.stem]] * t.num_rows, pa.int64())
                t = t.set_column(t.schema.get_field_index("point_id"), "point_id", ids)
            tables.append(t)
        if not tables:
            raise SweepError(f"no results in {self.root} for the points of this sweep")
        table = pa.concat_tables(tables, promote_options="permissive")
        axes = [a for a in axes if a in table.column_names and a not in LEADING]
        rest = sorted(c for c in table.column_names if c not in LEADING and c not in axes)
        table = table.select([*LEADING, *axes, *rest])
        table = table.replace_schema_metadata({"neurocosim.axes": json.dumps(axes)})
        return table.sort_by([("point_id", "ascending")])

    def write_combined(self, table: pa.Table) -> Path:
        """results.parquet and results.csv beside the parts; returns the Parquet path."""
        out = self.root / "results.parquet"
        pq.write_table(table, out)
        pacsv.write_csv(table, self.root / "results.csv")
        return out


def read_results(path: "str | Path") -> pa.Table:
    """A results table from a results folder (combining its parts) or a Parquet/CSV file."""
    path = Path(path)
    if path.is_dir():
        combined = path / "results.parquet"
        store = ResultStore(path)
        if store.parts.is_dir():
            return store.combine(axes=store.axes())
        if combined.is_file():
            return pq.read_table(combined)
        raise SweepError(f"{path} is not a sweep results folder (no parts/ inside)")
    if not path.is_file():
        raise SweepError(f"results {path} not found")
    if path.suffix == ".csv":
        return pacsv.read_csv(path)
    return pq.read_table(path)
