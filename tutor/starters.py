"""Starter questions for a trial and a role, from the parsed page: the page's own discussion question
for that role, a question on what its key findings measured, then the role's question templates
(`starter_questions` in prompts/roles/<role>.yaml, with `{trial}` for the trial's name)."""

from __future__ import annotations

from tutor.lexicon import learn_abbreviations
from tutor.roles import Role
from tutor.trialpage import TrialRecord


def finding_questions(record: TrialRecord) -> list[str]:
    """"What did TRIAL report for progression-free survival (PFS)?" for each measure its findings define."""
    questions = []
    for finding in record.key_findings:
        for short, long in learn_abbreviations([finding]).items():
            if long.lower() not in record.name.lower() and " " in long and short.upper() == short:
                questions.append(f"What did {record.name} report for {long} ({short})?")
    return list(dict.fromkeys(questions))


def starter_questions(record: TrialRecord, role: Role, count: int = 4) -> list[str]:
    own = [item.question for item in record.discussion if item.role == role.id]
    generated = finding_questions(record)[:1]
    templates = [q.format(trial=record.name) for q in role.starter_questions]
    return list(dict.fromkeys(own + generated + templates))[:count]
