"""The prompt files: learner roles (prompts/roles/*.yaml) and the system prompt (prompts/system.md),
loaded and validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from tutor import guard, yaml_data
from tutor.errors import ConfigError, InputError

ROLE_IDS = ("med_student", "resident", "fellow", "attending", "phd", "journal_editor", "guideline_committee")
MAX_SPECIALTY = guard.MAX_SPECIALTY


class Role(BaseModel):
    id: str
    name: str
    audience: str
    emphasis: str
    depth: str
    structure: str
    lead: str = Field(description="how an answer opens, e.g. 'Bottom line'")
    closing: str = Field(description="the role's closing line, e.g. a teaching point")
    takeaway_style: str
    takeaway_focus: list[str] = Field(min_length=3, max_length=5, description="one retrieval query per takeaway")
    starter_questions: list[str] = Field(min_length=3)
    sentences: int = Field(3, ge=1, le=6, description="how many passage sentences the offline model quotes")


@lru_cache(maxsize=4)
def load_roles(prompts_dir: Path) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    for role_id in ROLE_IDS:
        path = prompts_dir / "roles" / f"{role_id}.yaml"
        try:
            data = yaml_data.safe_load(path.read_text(encoding="utf-8"))
            roles[role_id] = Role.model_validate(data)
        except FileNotFoundError as exc:
            raise ConfigError(f"role file {path} is missing; every role needs one (TUTOR_PROMPTS_DIR)") from exc
        except (yaml_data.YAMLError, ValidationError) as exc:
            raise ConfigError(f"role file {path} is invalid: {exc}") from exc
        if roles[role_id].id != role_id:
            raise ConfigError(f"role file {path} has id {roles[role_id].id!r}; it must be {role_id!r}")
    return roles


def get_role(roles: dict[str, Role], role: str) -> Role:
    """A role by id or display name ("phd", "PhD", "Medical Student")."""
    key = guard.clean_name("role", role)
    if key in roles:
        return roles[key]
    for candidate in roles.values():
        if candidate.name.lower() == key.lower() or candidate.id == key.lower().replace(" ", "_"):
            return candidate
    raise InputError(f"unknown role {role!r}; choose one of: {', '.join(roles)}")


def clean_specialty(specialty: str | None) -> str | None:
    return guard.clean_specialty(specialty)  # the one rule for every field (tutor/guard.py)


PLACEHOLDERS = ("{role_name}", "{specialty_clause}", "{audience}", "{emphasis}", "{depth}", "{structure}")


@lru_cache(maxsize=4)
def load_system_template(prompts_dir: Path) -> str:
    path = prompts_dir / "system.md"
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"system prompt {path} cannot be read; check TUTOR_PROMPTS_DIR") from exc
    missing = [p for p in PLACEHOLDERS if p not in template]
    if missing:
        raise ConfigError(f"system prompt {path} lacks {', '.join(missing)}")
    return template
