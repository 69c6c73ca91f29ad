"""Apply a table rule to a source table: canonical rows, cell issues, quarantined rows.

All of a rule's column expressions (and a boolean failure flag per fallible step) are
evaluated in one polars ``select``. Failure flags become ingest issues: the cell is set to
null (``cell_nulled``) when its column may be null, and the whole row is quarantined
(``row_quarantined``) when the column is non-nullable, critical or part of the primary key.
A required column left blank by the source is quarantined as ``missing_required``. Nothing
here loops over rows; Python only loops over rules, columns and failure kinds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from cart_registry.errors import ConfigError
from cart_registry.mapping.context import SiteSettings, SourceContext, clean_text
from cart_registry.mapping.ops import (
    PipelineRule,
    RenameOp,
    SpecError,
    Value,
    rule_fields,
    rule_ops,
)
from cart_registry.mapping.ops.casting import cast_value
from cart_registry.mapping.spec import Condition, RuleSpec, TableMapping
from cart_registry.mapping.yamlsrc import suggest
from cart_registry.readers.base import FILE_COL, KEY_COL, LOCATOR_COLS, ROW_COL, SourceTable
from cart_registry.standard import Column, ColumnType, Table

if TYPE_CHECKING:
    import polars as pl

#: helper column carried next to canonical rows until they are written: the row's position
#: in its source table (with ``mapping_rule`` it finds the source row for ``raw_row``)
INDEX_COL = "__i"
#: below this many source rows a rule's pieces are evaluated one after the other (threads
#: cost more than they save on the small tables of a typical submission)
PARALLEL_MIN_ROWS = 50_000

_KIND = {
    ColumnType.STRING: "string", ColumnType.INT: "int", ColumnType.FLOAT: "float",
    ColumnType.BOOL: "bool", ColumnType.DATE: "date", ColumnType.LIST_STRING: "list",
}


def build_rule(ctx: SourceContext, rule: Any, inp: Value | None = None) -> Value:
    """Build the expression of a column rule (a field name, an operation or a pipeline)."""
    if isinstance(rule, str):
        return RenameOp.model_validate({"from": rule}).build(ctx, inp)
    if isinstance(rule, PipelineRule):
        v = ctx.field(rule.from_) if rule.from_ else inp
        for step in rule.steps:
            v = step.build(ctx, v)
        if v is None:  # pragma: no cover - steps has min_length 1
            raise SpecError("empty pipeline")
        return v
    out: Value = rule.build(ctx, inp)
    return out


def finalize(ctx: SourceContext, v: Value, col: Column) -> Value:
    """Turn a rule's value into the column's declared type (recording cells that fail)."""
    import polars as pl

    from cart_registry.standard.derive import polars_dtype

    kind = _KIND.get(col.type)
    if kind is None:
        raise SpecError(f"column type {col.type.value} cannot be mapped yet")
    out = cast_value(v, kind, ctx)  # type: ignore[arg-type]
    expr = out.expr
    if kind == "list":
        # canonical lists are sorted sets; an empty set is "no value"
        expr = expr.list.eval(pl.element().cast(pl.String)).list.drop_nulls().list.unique().list.sort()
        expr = pl.when(expr.list.len() > 0).then(expr)
    return Value(expr.cast(polars_dtype(col)), kind, out.fields, out.failures, None, out.counters)  # type: ignore[arg-type]


def condition_expr(ctx: SourceContext, cond: Condition) -> pl.Expr:
    import polars as pl

    if not ctx.has_field(cond.field):
        raise SpecError(f"where: field {cond.field!r} is not in source {ctx.source_name!r}"
                        + suggest(cond.field, ctx.columns))
    s = pl.col(cond.field).str.strip_chars()
    s = pl.when(s.str.len_bytes() > 0).then(s)
    if cond.equals is not None:
        return (s == cond.equals).fill_null(False)
    if cond.in_ is not None:
        return s.is_in(cond.in_).fill_null(False)
    if cond.not_in is not None:
        return (~s.is_in(cond.not_in)).fill_null(True)
    return s.is_not_null() if cond.not_blank else s.is_null()


@dataclass
class RuleOutput:
    """What one rule made of its source table."""

    table: str
    rule_id: str
    source: str
    #: canonical columns (declared types, provenance filled) + INDEX_COL
    frame: pl.DataFrame
    #: ingest issues of this rule (ISSUE_SCHEMA columns)
    issues: pl.DataFrame
    #: (FILE_COL, ROW_COL) of source rows the rule selected (after ``where``)
    used: pl.DataFrame
    lineage: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Provenance:
    site_id: str
    submission_id: str
    #: source file (as in FILE_COL) -> sha256
    sha256: dict[str, str]


def _locate(tm: TableMapping, rule_index: int, *more: str | int) -> str:
    return tm.source.where(["rules", rule_index, *more])


def check_rule_columns(tm: TableMapping, rule_index: int, rule: RuleSpec, table: Table) -> None:
    """Target columns exist, are not provenance, and every required column is mapped."""
    names = [c.name for c in table.business_columns]
    for col in rule.columns:
        if col not in names:
            prov = col in table.column_names
            why = ("is a provenance column, filled by the engine" if prov else
                   f"is not a column of {table.name!r}" + suggest(col, names))
            raise ConfigError(f"{_locate(tm, rule_index, 'columns', col)}: "
                              f"rules[{rule_index}].columns.{col}: {col!r} {why}")
    for c in table.business_columns:
        if not c.nullable and c.name not in rule.columns:
            raise ConfigError(
                f"{_locate(tm, rule_index, 'columns')}: rules[{rule_index}] ({rule.id}) does not "
                f"map required column {table.name}.{c.name}"
            )


def evaluate(frame: pl.DataFrame, direct: list[pl.Expr],
             by_field: dict[str, list[pl.Expr]],
             coded: dict[str, tuple[str, ...]] | None = None) -> pl.DataFrame:
    """Evaluate column expressions over ``frame`` (locators and INDEX_COL kept).

    The expressions read source fields already cleaned (``SourceContext(cleaned=True)``):
    every field is trimmed and its blank cells nulled here, once, however many expressions
    read it. An expression that reads one source field is evaluated on that field's distinct
    values only and gathered back by dictionary index: registry columns repeat a few codes
    or dates many times, so this replaces a dozen string kernels over every row by one hash
    pass and one gather. Failure flags and counters that are false for every row (or
    distinct value) are dropped here: the caller treats a missing flag as "never failed", so
    a clean table is neither filtered nor copied.

    ``coded`` names the value-set columns (name -> the standard's values). When every
    distinct value a field's expression made for one of them lies in the set, the column
    is returned as ``Enum`` of the set: a one- or two-byte code a row instead of a string, checked once
    per distinct value at conformance and written to Parquet as the dictionary it is.
    A column with a value outside the set stays text, for conformance to quarantine.
    """
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc

    keep = [*LOCATOR_COLS, INDEX_COL]

    def run_direct() -> list[pl.Series]:
        read = {r for e in direct for r in e.meta.root_names()} & set(frame.columns)
        read -= {*keep}
        # the index column keeps a literal (a constant) one value per row
        res = (frame.lazy()
               .select(pl.col(INDEX_COL).alias("__keep"),
                       *[clean_text(pl.col(f)).alias(f) for f in sorted(read)])
               .select("__keep", *direct).collect())
        return _drop_quiet(res.drop("__keep")).get_columns()

    def run_field(name: str, exprs: list[pl.Expr]) -> list[pl.Series]:
        # string views go to Arrow as they are (no copy of the text)
        encoded = pc.dictionary_encode(
            frame.get_column(name).rechunk().to_arrow(compat_level=pl.CompatLevel.newest()),
            null_encoding="encode")
        if isinstance(encoded, pa.ChunkedArray):  # pragma: no cover - rechunked above
            encoded = encoded.combine_chunks()
        uniq = pl.DataFrame({name: pl.Series(encoded.dictionary, dtype=pl.String)})
        res = uniq.lazy().select(clean_text(pl.col(name)).alias(name)).select(exprs).collect()
        res = _drop_quiet(res)  # and need not be gathered
        res = _as_codes(res, coded or {})
        # dictionary indices are never negative: the same bits serve as gather indices
        idx = pl.Series(encoded.indices).reinterpret(signed=False)
        return res[idx].get_columns()

    # the pieces are independent and their kernels (DuckDB's md5, Arrow's dictionary
    # encoding, polars) release the GIL, so they run side by side on the machine's cores
    tasks: list[Callable[[], list[pl.Series]]] = [run_direct] if direct else []
    tasks += [partial(run_field, name, exprs) for name, exprs in by_field.items()]
    columns = frame.select(keep).get_columns()
    if len(tasks) > 1 and frame.height >= PARALLEL_MIN_ROWS:
        with ThreadPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 1)) as pool:
            for part in pool.map(lambda task: task(), tasks):
                columns.extend(part)
    else:
        for task in tasks:
            columns.extend(task())
    return pl.DataFrame(columns)


def _as_codes(res: pl.DataFrame, coded: dict[str, tuple[str, ...]]) -> pl.DataFrame:
    """Value-set columns of ``res`` (a field's distinct values) whose results all lie in
    their set, as ``Enum`` (see ``evaluate``)."""
    import polars as pl

    casts = []
    for name, values in coded.items():
        if name not in res.columns or res.schema[name] != pl.String:
            continue
        col = res.get_column(name).drop_nulls()
        if col.is_in(list(values)).all():
            casts.append(pl.col(name).cast(pl.Enum(list(values))))
    return res.with_columns(casts) if casts else res


def _drop_quiet(res: pl.DataFrame) -> pl.DataFrame:
    """Without the failure flags and counters that fire for no row."""
    return res.drop([c for c in res.columns
                     if c.startswith(("__f_", "__c_")) and not res.get_column(c).any()])


def raw_rows_json(src: pl.DataFrame, idx: pl.Series) -> pl.Series:
    """Source rows (site columns only) as JSON, for quarantined rows."""
    import polars as pl

    cols = [c for c in src.columns if c not in LOCATOR_COLS]
    return src.select(cols)[idx].select(pl.struct(cols).struct.json_encode()).to_series()


def apply_rule(
    settings: SiteSettings,
    tm: TableMapping,
    rule_index: int,
    table: Table,
    source: SourceTable,
    prov: Provenance,
) -> RuleOutput:
    """Map one source table through one rule."""
    import polars as pl

    from cart_registry.canonical.issues import ISSUE_SCHEMA
    from cart_registry.standard.derive import polars_schema

    rule = tm.spec.rules[rule_index]
    rule_id = tm.rule_id(rule, settings.site_id)
    check_rule_columns(tm, rule_index, rule, table)
    src = source.frame
    ctx = SourceContext(settings, src.columns, source.name, [f.path for f in source.files],
                        cleaned=True)

    try:
        where = [condition_expr(ctx, c) for c in rule.where]
    except SpecError as exc:
        raise ConfigError(f"{_locate(tm, rule_index, 'where')}: rules[{rule_index}]: {exc}") from None

    pk = set(table.primary_key)
    values: dict[str, Value] = {}
    for name, spec in rule.columns.items():
        col = table.column(name)
        try:
            values[name] = finalize(ctx, build_rule(ctx, spec), col)
        except SpecError as exc:
            loc = ["columns", name, *exc.loc]
            raise ConfigError(
                f"{_locate(tm, rule_index, *loc)}: rules[{rule_index}].columns.{name}: {exc}"
            ) from None

    # values, failure flags and lineage counters of every column
    flags: list[tuple[str, str, str, str, tuple[str, ...], bool]] = []
    counter_names: list[tuple[str, str, str]] = []
    direct: list[pl.Expr] = []
    by_field: dict[str, list[pl.Expr]] = {}
    for name, spec in rule.columns.items():
        v = values[name]
        col = table.column(name)
        hard = (not col.nullable) or col.critical or name in pk
        exprs = [v.expr.alias(name)]
        for k, f in enumerate(v.failures):
            fname = f"__f_{name}_{k}"
            exprs.append(f.flag.fill_null(False).alias(fname))
            flags.append((fname, name, f.reason_code, f.reason, v.fields, hard))
        for label, cexpr in v.counters:
            cname = f"__c_{name}_{label}"
            exprs.append(cexpr.fill_null(False).alias(cname))
            counter_names.append((cname, name, label))
        fields = rule_fields(spec)
        if len(fields) == 1 and fields[0] in src.columns:
            by_field.setdefault(fields[0], []).extend(exprs)
        else:
            direct.extend(exprs)

    selected = src.with_row_index(INDEX_COL)
    if where:
        selected = selected.filter(pl.all_horizontal(where))
    coded = {c.name: c.values for c in table.business_columns
             if c.values is not None and c.type is ColumnType.STRING and c.name in values}
    out = evaluate(selected, direct, by_field, coded)

    counters: dict[str, dict[str, int]] = {}
    for cname, name, label in counter_names:
        if cname not in out.columns:
            continue
        n = int(out.get_column(cname).sum())
        if n:
            counters.setdefault(name, {})[label] = n

    issue_frames: list[pl.DataFrame] = []
    fail_cols_by_target: dict[str, list[str]] = {}
    hard_flags: list[str] = []
    for fname, name, code, reason, flag_fields, hard in flags:
        if fname not in out.columns:
            continue  # the step failed on no value (found on the distinct values)
        fail_cols_by_target.setdefault(name, []).append(fname)
        if hard:
            hard_flags.append(fname)
        hits = out.filter(pl.col(fname))
        if hits.height == 0:
            continue
        issue_frames.append(_issue_frame(hits, src, source, flag_fields, table.name, name, code,
                                         reason, "row_quarantined" if hard else "cell_nulled",
                                         rule_id))
    # a cell that failed is null, whatever a later step (fill_null) made of it
    nulling = [
        pl.when(pl.any_horizontal(fl)).then(None).otherwise(pl.col(t)).alias(t)
        for t, fl in fail_cols_by_target.items()
    ]
    if nulling:
        out = out.with_columns(nulling)
    missing_flags: list[str] = []
    for c in table.business_columns:
        if c.nullable or c.name not in values:
            continue
        failed = fail_cols_by_target.get(c.name, [])
        cond = pl.col(c.name).is_null()
        if failed:
            cond = cond & ~pl.any_horizontal(failed)
        fname = f"__m_{c.name}"
        if not out.select(cond.any()).item():
            continue
        out = out.with_columns(cond.alias(fname))
        missing_flags.append(fname)
        hits = out.filter(pl.col(fname))
        if hits.height:
            issue_frames.append(_issue_frame(
                hits, src, source, tuple(rule_fields(rule.columns[c.name])), table.name, c.name,
                "missing_required", "required value is blank", "row_quarantined", rule_id,
                with_value=False))
    quarantine = hard_flags + missing_flags
    q_mask = pl.any_horizontal(quarantine) if quarantine else pl.lit(False)
    out = out.with_columns(q_mask.alias("__q"))
    bad = out.filter(pl.col("__q")) if quarantine else out.clear()
    if bad.height and issue_frames:
        raw = pl.DataFrame({
            INDEX_COL: bad.get_column(INDEX_COL),
            "raw_row": raw_rows_json(src, bad.get_column(INDEX_COL)),
        })
        issue_frames = [
            f.drop("raw_row").join(raw, left_on="__idx", right_on=INDEX_COL, how="left")
            if f.get_column("action")[0] == "row_quarantined" else f
            for f in issue_frames
        ]
    good = out.filter(~pl.col("__q")) if quarantine else out

    schema = polars_schema(table)
    sha = prov.sha256
    canonical = good.select(
        *[
            # a coded column stays Enum (it becomes text only in the Parquet file)
            (pl.col(c) if isinstance(good.schema.get(c), pl.Enum) else
             (pl.col(c) if c in values else pl.lit(None)).cast(schema[c])).alias(c)
            for c in table.column_names
            if c not in _PROVENANCE
        ],
        pl.lit(prov.site_id).alias("site_id"),
        pl.lit(prov.submission_id).alias("submission_id"),
        pl.col(FILE_COL).alias("source_file"),
        _sha_of_file(source, sha).alias("source_sha256"),
        pl.col(ROW_COL).cast(pl.Int64).alias("source_row"),
        pl.col(KEY_COL).alias("source_key"),
        pl.lit(rule_id).alias("mapping_rule"),
        pl.col(INDEX_COL),
    ).select([*table.column_names, INDEX_COL])

    issue_cols = [f.name for f in ISSUE_SCHEMA]
    if issue_frames:
        issues = pl.concat([f.drop("__idx") for f in issue_frames], how="diagonal_relaxed")
        issues = issues.with_columns(
            pl.lit(prov.site_id).alias("site_id"),
            pl.lit(prov.submission_id).alias("submission_id"),
            pl.col("source_file").replace_strict(sha, default=None, return_dtype=pl.String)
            .alias("source_sha256"),
        ).select(issue_cols)
    else:
        issues = empty_issues()

    lineage = [
        {
            "table": table.name,
            "column": name,
            "rule": f"{rule_id}.{name}",
            "table_rule": rule_id,
            "source": source.name,
            "source_fields": [source.field_path(f) for f in rule_fields(spec)],
            "ops": rule_ops(spec),
            **({"counts": counters[name]} if name in counters else {}),
        }
        for name, spec in rule.columns.items()
    ]
    used = out.select(pl.col(FILE_COL), pl.col(ROW_COL))
    return RuleOutput(table.name, rule_id, source.name, canonical, issues, used, lineage,
                      counters)


def _sha_of_file(source: SourceTable, sha: dict[str, str]) -> pl.Expr:
    """``source_sha256`` of each row: a constant when one file fed the source table (no
    lookup per row), else looked up by ``FILE_COL``."""
    import polars as pl

    if len(source.files) == 1 and source.files[0].path in sha:
        return pl.lit(sha[source.files[0].path], dtype=pl.String)
    return pl.col(FILE_COL).replace_strict(sha, default=None, return_dtype=pl.String)


_PROVENANCE = {"site_id", "submission_id", "source_file", "source_sha256", "source_row",
               "source_key", "mapping_rule"}


def empty_issues() -> pl.DataFrame:
    import polars as pl

    from cart_registry.canonical.issues import ISSUE_SCHEMA

    return pl.from_arrow(ISSUE_SCHEMA.empty_table())  # type: ignore[return-value]


def _issue_frame(
    hits: pl.DataFrame,
    src: pl.DataFrame,
    source: SourceTable,
    fields: tuple[str, ...],
    table: str,
    column: str,
    code: str,
    reason: str,
    action: str,
    rule_id: str,
    *,
    with_value: bool = True,
) -> pl.DataFrame:
    import polars as pl

    idx = hits.get_column(INDEX_COL)
    present = [f for f in fields if f in src.columns]
    if with_value and present:
        vals = src.select(present)[idx]
        if len(present) == 1:
            value = vals.get_column(present[0])
        else:
            value = vals.select(pl.concat_str(
                [pl.lit(f"{f}=") + pl.col(f).fill_null("") for f in present], separator="; "
            )).to_series()
    else:
        value = pl.Series([None] * hits.height, dtype=pl.String)
    return pl.DataFrame({
        "__idx": idx,
        "source_file": hits.get_column(FILE_COL),
        "source_row": hits.get_column(ROW_COL).cast(pl.Int64),
        "source_key": hits.get_column(KEY_COL),
        "source_field": pl.Series([", ".join(source.field_path(f) for f in fields) or None]
                                  * hits.height, dtype=pl.String),
        "target_table": pl.Series([table] * hits.height, dtype=pl.String),
        "target_column": pl.Series([column] * hits.height, dtype=pl.String),
        "value": value.cast(pl.String).alias("value"),
        "reason_code": pl.Series([code] * hits.height, dtype=pl.String),
        "reason": pl.Series([reason] * hits.height, dtype=pl.String),
        "action": pl.Series([action] * hits.height, dtype=pl.String),
        "mapping_rule": pl.Series([f"{rule_id}.{column}"] * hits.height, dtype=pl.String),
        "raw_row": pl.Series([None] * hits.height, dtype=pl.String),
    })


__all__ = [
    "INDEX_COL",
    "Provenance",
    "RuleOutput",
    "apply_rule",
    "build_rule",
    "check_rule_columns",
    "empty_issues",
    "finalize",
    "raw_rows_json",
]
