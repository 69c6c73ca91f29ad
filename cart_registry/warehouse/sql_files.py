"""The packaged SQL views: one ``.sql`` file per view, a header, and their dependency order.

Every file under ``cart_registry/sql/<layer>/`` defines the view ``<layer>.<file stem>`` and
opens with a header of SQL comments::

    -- view: derived.course
    -- grain: one row per patient × unique construct
    -- depends_on: canonical.cart_infusion, canonical.car_construct
    -- description: Courses numbered by their first infusion; a re-infusion of the same
    --   product stays in its course.

followed by one SELECT (a WITH is fine). The build order comes from ``depends_on`` through
``graphlib.TopologicalSorter``; nobody keeps a list. Headers cannot lie: the body's
schema-qualified names must be exactly the declared dependencies (no undeclared one, no unused
one), so a missing dependency fails here with the file's name instead of as a DuckDB binder
error halfway through a build.
"""

from __future__ import annotations

import functools
import graphlib
import re
from dataclasses import dataclass
from importlib import resources

from cart_registry.errors import ConfigError

#: view layers, in the order the docs list them (the build order comes from depends_on)
LAYERS = ("derived", "endpoints", "adam")
#: schemas that hold relations a view may depend on without a .sql file of its own
BASE_SCHEMAS = ("canonical", "study")
#: every schema a view body may name; a name in one of these is a dependency
KNOWN_SCHEMAS = BASE_SCHEMAS + LAYERS + ("admin", "store")
HEADER_KEYS = ("view", "grain", "depends_on", "description")

_NAME = r"[a-z_][a-z0-9_]*"
_REF_RE = re.compile(r"(?<![\w.\"])(" + "|".join(KNOWN_SCHEMAS) + r")\.(" + _NAME + r")\b")
_KEY_RE = re.compile(r"^--\s*(" + "|".join(HEADER_KEYS) + r"):\s*(.*)$")
_CONT_RE = re.compile(r"^--\s{2,}(\S.*)$")


@dataclass(frozen=True)
class SqlView:
    """One view file: its header and its SELECT."""

    name: str
    layer: str
    grain: str
    depends_on: tuple[str, ...]
    description: str
    body: str
    path: str

    @property
    def create_sql(self) -> str:
        return f"CREATE OR REPLACE VIEW {self.name} AS\n{self.body}"

    @property
    def create_table_sql(self) -> str:
        return f"CREATE OR REPLACE TABLE {self.name} AS\n{self.body}"


def strip_comments_and_strings(sql: str) -> str:
    """The SQL with comments and string literals blanked, so a regex sees only code."""
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    sql = re.sub(r"--[^\n]*", " ", sql)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def referenced_relations(body: str) -> set[str]:
    """Schema-qualified relation names (in the known schemas) the SQL body mentions."""
    return {f"{s}.{n}" for s, n in _REF_RE.findall(strip_comments_and_strings(body))}


def parse_view(text: str, layer: str, stem: str, path: str) -> SqlView:
    """Parse one file; refuse a header that is incomplete or names the wrong view."""
    fields: dict[str, str] = {}
    last: str | None = None
    lines = text.splitlines()
    # the header is the run of comment lines at the top; the body starts at the first other
    n_header = next((i for i, ln in enumerate(lines) if not ln.startswith("--")), len(lines))
    for raw in lines[:n_header]:
        line = raw.rstrip()
        m = _KEY_RE.match(line)
        if m:
            last = m.group(1)
            if last in fields:
                raise ConfigError(f"{path}: header key {last!r} appears twice")
            fields[last] = m.group(2).strip()
            continue
        c = _CONT_RE.match(line)
        if c and last is not None:
            fields[last] = (fields[last] + " " + c.group(1).strip()).strip()
        else:
            last = None  # a free comment ends the header key it follows
    missing = [k for k in HEADER_KEYS if not fields.get(k)]
    if missing:
        raise ConfigError(f"{path}: header lacks {', '.join(missing)}")
    expected = f"{layer}.{stem}"
    if fields["view"] != expected:
        raise ConfigError(f"{path}: header names view {fields['view']!r}, the file defines {expected!r}")
    deps = tuple(d.strip() for d in fields["depends_on"].split(",") if d.strip())
    for d in deps:
        if not re.fullmatch(rf"{_NAME}\.{_NAME}", d):
            raise ConfigError(f"{path}: depends_on entry {d!r} is not schema.relation")
    body = "\n".join(lines[n_header:]).strip().rstrip(";").strip()
    if not body:
        raise ConfigError(f"{path}: no SELECT after the header")
    return SqlView(
        name=expected,
        layer=layer,
        grain=fields["grain"],
        depends_on=deps,
        description=fields["description"],
        body=body,
        path=path,
    )


def _read_package_views() -> list[SqlView]:
    root = resources.files("cart_registry").joinpath("sql")
    views: list[SqlView] = []
    for layer in LAYERS:
        folder = root.joinpath(layer)
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                stem = entry.name[: -len(".sql")]
                text = entry.read_text(encoding="utf-8")
                views.append(parse_view(text, layer, stem, f"sql/{layer}/{entry.name}"))
    return views


def check_and_order(views: list[SqlView], base_relations: set[str]) -> list[SqlView]:
    """Views in a buildable order; refuses missing, undeclared or unused dependencies."""
    by_name = {v.name: v for v in views}
    if len(by_name) != len(views):
        raise ConfigError("two SQL files define the same view")
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for v in views:
        for d in v.depends_on:
            if d not in by_name and d not in base_relations:
                raise ConfigError(f"{v.path}: depends_on names {d!r}, which is neither a view "
                                  "nor a canonical table")
        used = referenced_relations(v.body)
        undeclared = sorted(used - set(v.depends_on))
        if undeclared:
            raise ConfigError(f"{v.path}: uses {', '.join(undeclared)} without declaring it "
                              "in depends_on")
        unused = sorted(set(v.depends_on) - used)
        if unused:
            raise ConfigError(f"{v.path}: declares {', '.join(unused)} in depends_on but "
                              "never uses it")
        sorter.add(v.name, *[d for d in v.depends_on if d in by_name])
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        raise ConfigError(f"SQL views depend on each other in a cycle: {exc.args[1]}") from None
    return [by_name[n] for n in order]


def base_relations(table_names: list[str]) -> set[str]:
    """What the views may read besides each other: canonical tables and the settings row."""
    return {f"canonical.{t}" for t in table_names} | {"study.settings"}


@functools.cache
def _ordered_cached(tables: tuple[str, ...]) -> tuple[SqlView, ...]:
    return tuple(check_and_order(_read_package_views(), base_relations(list(tables))))


def load_views(table_names: list[str]) -> list[SqlView]:
    """Every packaged view, checked and in dependency order (read once per process)."""
    return list(_ordered_cached(tuple(sorted(table_names))))
