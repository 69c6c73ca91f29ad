"""The build context an operation sees: one source table, the site's settings, the catalog.

The engine makes one ``SourceContext`` per rule. Everything an operation may look up goes
through it, so an operation cannot read a file, a setting or a column the mapping did not
declare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cart_registry.mapping.ops import Defaults, SpecError, Value
from cart_registry.mapping.yamlsrc import suggest
from cart_registry.readers.base import LOCATOR_COLS

if TYPE_CHECKING:
    import polars as pl

    from cart_registry.readers.redcap import RedcapDictionary


def stable_md5(series: pl.Series) -> pl.Series:
    """md5 hex digests of a string Series, computed by DuckDB (stable across versions)."""
    import duckdb
    import polars as pl

    con = duckdb.connect()
    try:
        # string views both ways: converting a polars column to Arrow's plain strings, and
        # DuckDB's result back, copied every key twice
        con.execute("SET produce_arrow_string_view = true")
        con.register("keys", series.cast(pl.String).to_frame("k").to_arrow(
            compat_level=pl.CompatLevel.newest()))
        out = pl.from_arrow(con.sql("SELECT md5(k) AS h FROM keys").to_arrow_table())
    finally:
        con.close()
    assert isinstance(out, pl.DataFrame)
    return out.get_column("h").cast(pl.String).alias(series.name)


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Source text as the operations see it: trimmed, a blank cell null."""
    import polars as pl

    raw = expr.str.strip_chars()
    return pl.when(raw.str.len_bytes() > 0).then(raw)


@dataclass
class SiteSettings:
    """What every rule of a site shares."""

    site_id: str
    defaults: Defaults
    missing_codes: frozenset[str]
    decimal: str = "."
    value_sets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: lower-cased construct id / name -> construct id
    catalog: Mapping[str, str] = field(default_factory=dict)
    dictionary: RedcapDictionary | None = None


class SourceContext:
    """``BuildContext`` over the columns of one source table."""

    def __init__(self, settings: SiteSettings, columns: list[str], source_name: str,
                 files: list[str] | None = None, *, cleaned: bool = False) -> None:
        self.settings = settings
        #: the engine trims the source fields (blank -> null, see ``clean_text``) before it
        #: evaluates the expressions, so ``field`` need not repeat that per expression
        self.cleaned = cleaned
        self.site_id = settings.site_id
        self.defaults = settings.defaults
        self.missing_codes = settings.missing_codes
        self.columns = [c for c in columns if c not in LOCATOR_COLS]
        self._colset = set(self.columns)
        self.source_name = source_name
        self.files = files or []
        self.used_fields: list[str] = []

    # -- fields -------------------------------------------------------------------
    def has_field(self, name: str) -> bool:
        return name in self._colset

    def field(self, name: str) -> Value:
        import polars as pl

        if name not in self._colset:
            shown = f" ({', '.join(self.files)})" if self.files else ""
            raise SpecError(
                f"field {name!r} is not in source {self.source_name!r}{shown}"
                + suggest(name, self.columns)
            )
        if name not in self.used_fields:
            self.used_fields.append(name)
        raw = pl.col(name) if self.cleaned else clean_text(pl.col(name))
        expr = raw
        if self.missing_codes:
            expr = pl.when(~raw.is_in(list(self.missing_codes))).then(raw)
        return Value(expr, "string", (name,), (), raw)

    def columns_like(self, prefix: str) -> list[str]:
        cols = [c for c in self.columns if c.startswith(prefix)]
        for c in cols:
            if c not in self.used_fields:
                self.used_fields.append(c)
        return cols

    def decimal_for(self, name: str | None) -> str:
        d = self.settings.dictionary
        if name is not None and d is not None:
            f = d.field(name)
            if f is not None and f.comma_decimal:
                return ","
        return self.settings.decimal

    # -- reference data -----------------------------------------------------------
    def value_set(self, name: str) -> dict[str, Any]:
        vs = self.settings.value_sets.get(name)
        if vs is None:
            raise SpecError(f"value set {name!r} not found" + suggest(name, self.settings.value_sets))
        return dict(vs)

    def choice_labels(self, field: str) -> dict[str, str]:
        d = self.settings.dictionary
        if d is None:
            raise SpecError("redcap_label needs a REDCap dictionary (reader kind redcap)")
        f = d.field(field)
        return dict(f.choices) if f is not None else {}

    def construct_ids(self) -> dict[str, str]:
        return dict(self.settings.catalog)

    def hash_expr(self, expr: pl.Expr) -> pl.Expr:
        import polars as pl

        return expr.map_batches(stable_md5, return_dtype=pl.String)

    def build(self, rule: Any, inp: Value | None) -> Value:
        from cart_registry.mapping.apply import build_rule

        return build_rule(self, rule, inp)
