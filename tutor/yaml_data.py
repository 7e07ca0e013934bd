"""YAML data files (roles, lexicon, intents, specialties, front matter), read with libyaml when PyYAML has it.

The C loader builds the same objects as `yaml.safe_load` about ten times faster: the roles and the
lexicon are read at every start, so this is a tenth of a second of every command.
"""

from __future__ import annotations

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAMLError = yaml.YAMLError


def safe_load(text: str):
    return yaml.load(text, Loader=_LOADER)  # noqa: S506  (a safe loader: plain data only)
