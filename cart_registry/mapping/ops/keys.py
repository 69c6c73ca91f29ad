"""Identifiers: ``patient_id`` and deterministic ``surrogate_key``.

``patient_id`` is ``<site_id>-<site record id>``; an id that already carries the site prefix
(a pseudonym made by ``deidentify``) passes through unchanged. Surrogate keys (infusion_id,
tox_id, assessment_id ...) are either ``<site_id>-<first 16 hex digits of md5(natural key)>``
(``method: hash``) or the source's own ids joined with '-' (``method: join``). Both depend only
on the source text, so the same export always gives the same keys; md5 is computed by DuckDB,
whose result does not change between versions (polars' own hash does).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from cart_registry.mapping.ops.base import BuildContext, Failure, OpBase, Value, text_of
from cart_registry.mapping.ops.casting import failed

#: characters a local id may carry into patient_id (the standard's pattern)
LOCAL_ID_RE = r"^[A-Za-z0-9_.-]{1,64}$"
KEY_SEP = "\x1f"  # unit separator: cannot occur in a CSV cell by accident


class PatientIdOp(OpBase):
    """``<site_id>-<record id>`` (ids already prefixed with the site pass through)."""

    OP: ClassVar[str] = "patient_id"
    op: Literal["patient_id"]

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        v = self.input(ctx, inp)
        t = text_of(v)
        prefix = f"{ctx.site_id}-"
        local = pl.when(t.str.starts_with(prefix)).then(t.str.slice(len(prefix))).otherwise(t)
        out = pl.when(local.str.contains(LOCAL_ID_RE)).then(pl.lit(prefix) + local)
        return v.then(out, "string", Failure(
            failed(t, out), "bad_patient_id",
            "record id must be 1-64 letters, digits, '_', '.' or '-'"))


class SurrogateKeyOp(OpBase):
    """A deterministic key from the natural key's source fields."""

    OP: ClassVar[str] = "surrogate_key"
    op: Literal["surrogate_key"]
    from_: list[str] = Field(
        alias="from", min_length=1, description="Source fields of the natural key, in order."
    )
    method: Literal["hash", "join"] = Field(
        default="hash",
        description="'hash': <site>-<md5 of the parts, 16 hex>; 'join': <site>-<part>-<part>.",
    )
    label: str | None = Field(
        default=None,
        description="Text added to the key (e.g. 'crs') so that two rules reading the same "
        "row make different keys.",
    )

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        parts = [ctx.field(f) for f in self.from_]
        exprs = [p.expr for p in parts] + ([pl.lit(self.label)] if self.label else [])
        # concat_str is null as soon as one part is null: that is the "incomplete key" test
        if self.method == "join":
            body = pl.concat_str(exprs, separator="-")
        else:
            body = ctx.hash_expr(pl.concat_str(exprs, separator=KEY_SEP)).str.slice(0, 16)
        out = pl.lit(f"{ctx.site_id}-") + body
        # the flag must not read `out`: the hash is an opaque UDF and would run twice
        present = [p.expr.is_not_null() for p in parts]
        return Value(out, "string", tuple(self.from_), (Failure(
            pl.any_horizontal(present) & ~pl.all_horizontal(present), "missing_key_part",
            f"a part of the natural key ({', '.join(self.from_)}) is blank"),))
