"""The DuckDB warehouse: loading submissions, history and audit, the SQL views, endpoints.

Public API (each returns a frozen result object with ``to_json()``):

* ``load_submission(project, site_id, submission_id=None, *, force=False, reason=None)``
  → ``LoadResult``; ``load_sites`` loads the latest submission of several sites.
* ``build_views(con, settings)`` → ``BuildResult``: the settings row and every view.
* ``endpoint_table(project)`` → ``EndpointTable``: every abstract number and secondary
  objective, with the inputs the statistics are fitted on.
* ``run_sql(project, sql)`` → ``QueryResult``: one read-only query.
* ``open_readonly(project)``: a read-only connection with the views built.

Heavy modules (DuckDB, Arrow) are imported inside the functions that use them.
"""

from cart_registry.warehouse.endpoints import (
    EndpointItem,
    EndpointTable,
    SurvivalEstimate,
    SurvivalInput,
    endpoint_table,
    endpoint_table_from_connection,
)
from cart_registry.warehouse.loading import (
    LoadResult,
    NotValidated,
    ValidationSummary,
    load_sites,
    load_submission,
    read_validation,
)
from cart_registry.warehouse.query import QueryError, QueryResult, run_sql
from cart_registry.warehouse.readonly import open_readonly
from cart_registry.warehouse.views import BuildResult, build_views, settings_hash

__all__ = [
    "BuildResult",
    "EndpointItem",
    "EndpointTable",
    "LoadResult",
    "NotValidated",
    "QueryError",
    "QueryResult",
    "SurvivalEstimate",
    "SurvivalInput",
    "ValidationSummary",
    "build_views",
    "endpoint_table",
    "endpoint_table_from_connection",
    "load_sites",
    "load_submission",
    "open_readonly",
    "read_validation",
    "run_sql",
    "settings_hash",
]
