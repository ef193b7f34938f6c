"""docs/roles.md shows the permission table of the code, exactly."""

from __future__ import annotations

from pathlib import Path

from domain.permissions import PERMISSIONS, ROLES, markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"


def test_the_roles_doc_renders_the_permission_table_of_the_code() -> None:
    assert markdown_table() in DOC.read_text(), (
        "regenerate the table: python -c 'from domain.permissions import *; print(markdown_table())'"
    )


def test_every_permission_names_known_roles_and_admin_has_them_all() -> None:
    assert all(roles <= set(ROLES) for roles in PERMISSIONS.values())
    assert all("admin" in roles for roles in PERMISSIONS.values())
