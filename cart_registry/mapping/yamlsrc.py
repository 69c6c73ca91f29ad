"""Safe YAML loading that remembers where every key and item came from.

Mapping errors must name the file, the line and the key. PyYAML's ``SafeLoader`` composes a
node tree that carries start marks; we construct plain Python data from that tree ourselves
(scalars through the safe constructor, so tags are resolved exactly as ``yaml.safe_load`` does)
and keep a side table ``path -> line``. Duplicate keys, which ``safe_load`` silently collapses,
are refused here because a mapping file with two ``sex:`` rules is always a mistake.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cart_registry.errors import ConfigError

PathKey = tuple[str | int, ...]
#: a mapping file has a few thousand nodes; far more means aliases expanding exponentially
#: (a "billion laughs" document), which would otherwise be built node by node
MAX_NODES = 200_000
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap"}


@dataclass(frozen=True)
class YamlSource:
    """Data of one YAML file with the line (1-based) of every mapping key and list item."""

    path: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    #: how the file is named in messages (relative to the project when possible)
    display: str = ""

    @property
    def name(self) -> str:
        return self.display or self.path.name

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """Line of the deepest existing prefix of ``loc`` (pydantic locations may go deeper
        than the YAML, e.g. through a union tag)."""
        best: int | None = self.lines.get(())
        cur: PathKey = ()
        for part in loc:
            nxt = (*cur, part)
            if nxt in self.lines:
                cur = nxt
                best = self.lines[nxt]
        return best

    def where(self, loc: Sequence[str | int] = ()) -> str:
        line = self.line_of(loc)
        return f"{self.name}:{line}" if line else self.name


def suggest(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest valid name, or ``''``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _construct(loader: yaml.SafeLoader, node: yaml.Node, path: PathKey, lines: dict[PathKey, int],
               name: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if len(lines) > MAX_NODES:
        raise ConfigError(f"{name}: more than {MAX_NODES} YAML nodes (aliases expanding?); "
                          "not a mapping file")
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
        # a collection with an explicit tag (!!python/object...) is refused, as safe_load does
        raise ConfigError(f"{name}:{node.start_mark.line + 1}: tag {node.tag!r} is not allowed")
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolve '<<' merge keys as safe_load does
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            # Keys are kept as written: a code list's 'yes:' or '01:' is a site code, not the
            # boolean or the number YAML 1.1 would make of it.
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"{name}:{key_node.start_mark.line + 1}: a key must be a scalar")
            key = key_node.value
            if key in out:
                raise ConfigError(
                    f"{name}:{key_node.start_mark.line + 1}: duplicate key {key!r}"
                )
            kpath = (*path, key)
            lines[kpath] = key_node.start_mark.line + 1
            out[key] = _construct(loader, value_node, kpath, lines, name)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, (*path, i), lines, name) for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def load_yaml(path: Path, *, display: str | None = None) -> YamlSource:
    """Read one YAML document safely (no Python tags) with key line numbers."""
    name = display or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read ({exc.strerror})") from None
    return parse_yaml(text, path=path, display=name)


def parse_yaml(text: str, *, path: Path, display: str | None = None) -> YamlSource:
    name = display or path.name
    try:
        loader = yaml.SafeLoader(text)  # refuses control characters (NUL) already
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: not valid YAML: {exc}") from None
    try:
        node = loader.get_single_node()
        lines: dict[PathKey, int] = {}
        data = _construct(loader, node, (), lines, name) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{name}{line}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{name}: not valid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    return YamlSource(path=path, data=data, lines=lines, display=name)
