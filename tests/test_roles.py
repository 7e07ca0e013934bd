"""The seven roles load from prompts/ with everything a prompt needs."""

import shutil

import pytest

from tutor.errors import ConfigError
from tutor.roles import ROLE_IDS, load_roles

NAMES = ["Medical Student", "Resident", "Fellow", "Attending", "PhD", "Journal Editor", "Guideline Committee"]


def test_seven_roles_with_their_display_names_and_starters(settings):
    roles = load_roles(settings.prompts_dir)
    assert list(roles) == list(ROLE_IDS)
    assert [r.name for r in roles.values()] == NAMES
    assert all(len(r.starter_questions) >= 3 for r in roles.values())
    assert len({r.emphasis for r in roles.values()}) == 7


def test_a_role_file_missing_a_field_fails_at_start_up(settings, tmp_path):
    prompts = tmp_path / "prompts"
    shutil.copytree(settings.prompts_dir, prompts)
    path = prompts / "roles" / "phd.yaml"
    path.write_text("\n".join(l for l in path.read_text().splitlines() if not l.startswith("audience:")))
    with pytest.raises(ConfigError, match="phd.yaml"):
        load_roles(prompts)
