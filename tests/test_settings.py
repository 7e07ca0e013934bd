"""Every setting is documented in the README's table."""

from tests.conftest import ROOT
from tutor.settings import Settings


def test_readme_table_lists_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = []
    for name, field in Settings.model_fields.items():
        env = f"TUTOR_{name.upper()}"
        aliases = getattr(field.validation_alias, "choices", []) if field.validation_alias else []
        if f"`{env}`" not in readme and not any(f"`{a}`" in readme for a in aliases):
            missing.append(env)
    assert not missing, f"README settings table lacks {missing}"
