"""The registry project: where schemas, mappings, settings and the warehouse live.

A project folder holds ``schemas/`` (the canonical standard), ``mappings/`` (one folder per
site, the construct catalog and the study settings) and, once data are loaded, ``registry/``
(Parquet data, the DuckDB warehouse, reports). It is found from ``--project-dir``, then the
``CART_REGISTRY_PROJECT_DIR`` environment variable, then the current directory. Nothing else
in the package builds these paths.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from cart_registry.errors import ConfigError, ProjectError
from cart_registry.standard.model import Standard, default_schemas_dir, load_standard

ENV_PROJECT_DIR = "CART_REGISTRY_PROJECT_DIR"
#: site codes become folder names, SQL literals and partition values: keep them boring
SITE_ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


def check_site_id(site_id: str) -> str:
    """Refuse site ids that could escape a folder or a SQL literal."""
    if not SITE_ID_RE.fullmatch(site_id):
        raise ConfigError(
            f"invalid site id {site_id!r}: use 2-32 lower-case letters, digits or '_', "
            "starting with a letter"
        )
    return site_id


@dataclass(frozen=True)
class Project:
    root: Path
    db_override: Path | None = None

    @classmethod
    def find(cls, project_dir: str | Path | None = None, db: str | Path | None = None) -> Project:
        raw = project_dir or os.environ.get(ENV_PROJECT_DIR) or Path.cwd()
        root = Path(raw).expanduser().resolve()
        if not root.is_dir():
            raise ProjectError(f"project folder not found: {root}")
        return cls(root=root, db_override=Path(db).expanduser().resolve() if db else None)

    # -- declarations -------------------------------------------------------------------
    @property
    def schemas_dir(self) -> Path:
        own = self.root / "schemas"
        return own if (own / "_provenance.yaml").is_file() else default_schemas_dir()

    @property
    def mappings_dir(self) -> Path:
        return self.root / "mappings"

    @property
    def settings_file(self) -> Path:
        return self.mappings_dir / "registry.yaml"

    @property
    def construct_catalog_file(self) -> Path:
        return self.mappings_dir / "constructs.yaml"

    def site_mapping_dir(self, site_id: str) -> Path:
        return self.mappings_dir / check_site_id(site_id)

    def site_ids(self) -> list[str]:
        """Sites that have a mapping folder with a ``site.yaml``."""
        if not self.mappings_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.mappings_dir.iterdir()
            if p.is_dir() and (p / "site.yaml").is_file() and SITE_ID_RE.fullmatch(p.name)
        )

    def standard(self) -> Standard:
        return load_standard(self.schemas_dir)

    # -- outputs ------------------------------------------------------------------------
    @property
    def registry_dir(self) -> Path:
        return self.root / "registry"

    @property
    def data_dir(self) -> Path:
        """Canonical Parquet, hive-partitioned: ``table=<t>/site_id=<s>/submission_id=<id>/``."""
        return self.registry_dir / "data"

    @property
    def db_path(self) -> Path:
        return self.db_override or (self.registry_dir / "registry.duckdb")

    @property
    def reports_dir(self) -> Path:
        return self.registry_dir / "reports"

    @property
    def exports_dir(self) -> Path:
        return self.registry_dir / "exports"

    @property
    def sample_exports_dir(self) -> Path:
        return self.root / "sample_exports"
