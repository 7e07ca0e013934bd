"""Every setting is documented in the README's table; a bad one is named in one line."""

import pytest

from tests.conftest import ROOT
from tutor.errors import ConfigError
from tutor.settings import Settings, load_settings


def test_readme_table_lists_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = []
    for name, field in Settings.model_fields.items():
        env = f"TUTOR_{name.upper()}"
        aliases = getattr(field.validation_alias, "choices", []) if field.validation_alias else []
        if f"`{env}`" not in readme and not any(f"`{a}`" in readme for a in aliases):
            missing.append(env)
    assert not missing, f"README settings table lacks {missing}"


@pytest.mark.parametrize("name,value,message", [
    ("TUTOR_TOP_K", "0", "TUTOR_TOP_K=0 is not allowed: use a whole number from 1 to 20"),
    ("TUTOR_TEMPERATURE", "hot", "TUTOR_TEMPERATURE=hot is not allowed: use a number from 0 to 2"),
    ("TUTOR_REQUEST_TIMEOUT", "0", "TUTOR_REQUEST_TIMEOUT=0 is not allowed: use a number above 0"),
    ("TUTOR_HISTORY_TOKENS", "-5", "TUTOR_HISTORY_TOKENS=-5 is not allowed: use a whole number of at least 0"),
    ("TUTOR_EMBEDDING_BACKEND", "cloud", "TUTOR_EMBEDDING_BACKEND=cloud is not allowed: use one of local, openai"),
])
def test_a_bad_setting_is_one_line_naming_the_variable_and_what_it_accepts(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert str(raised.value) == f"{message} (fix it in the environment or .env)"
