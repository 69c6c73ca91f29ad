"""Safe YAML reading with one-line errors, for every project file that is plain YAML.

Mapping files have their own loader (``mapping/yamlsrc.py``) because they need line numbers
for every key; everything else (settings, the construct catalog, the standard) comes here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cart_registry.errors import ConfigError


def read_yaml(path: Path) -> Any:
    """``yaml.safe_load`` of a UTF-8 file; any problem is one ``ConfigError`` line."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        # one line: PyYAML's own text spans several, with the offending excerpt
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path.name}{where}: not valid YAML: {what}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except RecursionError:
        raise ConfigError(f"{path.name}: not valid YAML: nested too deeply") from None
