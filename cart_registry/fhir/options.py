"""Reader options of a FHIR site (``site.yaml`` ``reader: {kind: fhir, options: {...}}``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cart_registry.errors import ConfigError
from cart_registry.fhir.bundle import MAX_FILE_BYTES
from cart_registry.fhir.conventions import Conventions
from cart_registry.fhir.ndjson import MAX_DECOMPRESSED_BYTES

Form = Literal["auto", "bulk", "bundles"]
_KEYS = ("form", "strict", "use_duckdb", "max_file_bytes", "max_decompressed_bytes", "codes",
         "product_systems", "pseudonym_system")


@dataclass(frozen=True)
class FhirOptions:
    #: which files to read: Bulk NDJSON, Bundle/resource JSON, or whatever is there
    form: Form = "auto"
    #: also check kept resources with fhir.resources R4B models (slower, stricter)
    strict: bool = False
    #: let DuckDB pre-select bulk lines (the orjson path is used when it declines)
    use_duckdb: bool = True
    max_file_bytes: int = MAX_FILE_BYTES
    max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES
    conventions: Conventions = field(default_factory=Conventions)

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None, where: str = "site.yaml") -> FhirOptions:
        raw = dict(raw or {})
        unknown = sorted(set(raw) - set(_KEYS))
        if unknown:
            raise ConfigError(f"{where}: reader.options: unknown key(s) {unknown} "
                              f"(allowed: {', '.join(_KEYS)})")
        form = raw.get("form", "auto")
        if form not in ("auto", "bulk", "bundles"):
            raise ConfigError(f"{where}: reader.options.form must be auto, bulk or bundles")
        for key in ("strict", "use_duckdb"):
            if key in raw and not isinstance(raw[key], bool):
                raise ConfigError(f"{where}: reader.options.{key} must be true or false")
        for key in ("max_file_bytes", "max_decompressed_bytes"):
            if key in raw and (not isinstance(raw[key], int) or raw[key] <= 0):
                raise ConfigError(f"{where}: reader.options.{key} must be a positive integer")
        conv = Conventions.from_site(
            {k: raw[k] for k in ("codes", "product_systems", "pseudonym_system") if k in raw},
            where)
        return cls(
            form=form,
            strict=bool(raw.get("strict", False)),
            use_duckdb=bool(raw.get("use_duckdb", True)),
            max_file_bytes=int(raw.get("max_file_bytes", MAX_FILE_BYTES)),
            max_decompressed_bytes=int(raw.get("max_decompressed_bytes", MAX_DECOMPRESSED_BYTES)),
            conventions=conv,
        )
