"""docs/endpoints.md is generated from the SQL headers and must not be stale."""

from __future__ import annotations

from cart_registry.settings import StudySettings
from cart_registry.warehouse.docs import SETTING_DOCS, views_markdown
from cart_registry.warehouse.views import view_definitions
from tests.warehouse.support import REPO_ROOT


def test_endpoints_doc_is_current() -> None:
    committed = (REPO_ROOT / "docs" / "endpoints.md").read_text(encoding="utf-8")
    assert committed == views_markdown(view_definitions()), (
        "docs/endpoints.md is stale: run `cart-registry endpoints --views-doc > docs/endpoints.md`"
    )


def test_every_view_and_setting_is_documented() -> None:
    doc = views_markdown(view_definitions())
    for v in view_definitions():
        assert f"### {v.name}\n" in doc and v.grain in doc
    assert set(SETTING_DOCS) == set(StudySettings.model_fields)
