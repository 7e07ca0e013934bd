"""Grading agreement: how often the practice grader gives the verdict a teacher wrote for a learner answer.

evals/grading.jsonl holds answers written from the trial pages (correct, partial, wrong, off-topic,
arm-swapped, gaming), each with the expected verdict and score; evals/grading-independent.jsonl,
grading-blind.jsonl and grading-blind2.jsonl hold answers written from the items and pages alone by someone
who had not read the grader, all held out. The figures: verdict accuracy, mean absolute score error, and how
many gaming answers were graded correct, per split (tune: thresholds may be set on it; test: held out) and
overall. The gate in evals/thresholds.json ("grading") holds them, set by set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutor.errors import InputError
from tutor.settings import PROJECT_ROOT

DEFAULT_GRADING = PROJECT_ROOT / "evals" / "grading.jsonl"
# Every grading set `tutor eval` runs when none is named: the author's set (tune and held-out splits), an
# independent one written without the grader's rules in view, and a blind one written from the pages and the
# item list alone (never the code or the other sets), nine times; grading-blind6's odd ids are its tune half, its even
# ids a held-out half nobody reads. grading-blind7 and grading-blind8 were read a round after their first run;
# grading-blind9 came last and is only run, never read: both halves are held out. (Answers to practice items of
# pages outside knowledge/ live beside those pages in tests/fixtures: tests/test_practice.py grades them.)
GRADING_SETS = (DEFAULT_GRADING, PROJECT_ROOT / "evals" / "grading-independent.jsonl",
                PROJECT_ROOT / "evals" / "grading-blind.jsonl", PROJECT_ROOT / "evals" / "grading-blind2.jsonl",
                PROJECT_ROOT / "evals" / "grading-blind3.jsonl", PROJECT_ROOT / "evals" / "grading-blind4.jsonl",
                PROJECT_ROOT / "evals" / "grading-blind5.jsonl", PROJECT_ROOT / "evals" / "grading-blind6.jsonl",
                PROJECT_ROOT / "evals" / "grading-blind7.jsonl", PROJECT_ROOT / "evals" / "grading-blind8.jsonl",
                PROJECT_ROOT / "evals" / "grading-blind9.jsonl")
GRADING_METRICS = {
    "verdict_accuracy": "share of answers whose verdict (correct, partial, incorrect) is the expected one",
    "score_mae": "mean absolute difference between the grade's score and the expected score (lower is better)",
    "gaming_graded_correct": "gaming answers (grader addressed, question copied, keyword lists, contradictions) "
                             "graded correct; must be 0",
}


class GradingCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    item_id: str
    role: str
    kind: Literal["correct", "partial", "wrong", "offtopic", "swapped", "gaming"]
    answer: str = Field(min_length=1)
    expected_verdict: Literal["correct", "partial", "incorrect"]
    expected_score: float = Field(ge=0, le=1)
    split: Literal["tune", "test"] = "test"
    note: str = ""  # the writer's reason for a verdict a reader might doubt


def load_grading(path: Path | None = None) -> list[GradingCase]:
    path = Path(path or DEFAULT_GRADING)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: no such grading set; give a .jsonl file of graded answers") from None
    cases, seen = [], set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            case = GradingCase.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise InputError(f"{path} line {number}: not a grading case ({str(exc).splitlines()[0]})") from None
        if case.id in seen:
            raise InputError(f"{path} line {number}: id {case.id!r} is used twice")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise InputError(f"{path}: holds no cases")
    return cases


def _metrics(rows: list[dict]) -> dict:
    if not rows:
        return {"cases": 0, "verdict_accuracy": None, "score_mae": None, "gaming_graded_correct": None}
    return {
        "cases": len(rows),
        "verdict_accuracy": round(sum(r["verdict"] == r["expected_verdict"] for r in rows) / len(rows), 4),
        "score_mae": round(sum(abs(r["score"] - r["expected_score"]) for r in rows) / len(rows), 4),
        "gaming_graded_correct": sum(r["kind"] == "gaming" and r["verdict"] == "correct" for r in rows),
    }


def run_grading(tutor, cases: list[GradingCase], progress: Callable[[int, int], None] | None = None) -> dict:
    """Grade every case offline-or-as-configured; returns {"rows": [...], "overall", "tune", "test", "by_kind"}."""
    rows = []
    for done, case in enumerate(cases, 1):
        grade = tutor.practice.grade(case.item_id, case.answer, case.role)
        rows.append({"id": case.id, "item_id": case.item_id, "role": case.role, "kind": case.kind, "split": case.split,
                     "expected_verdict": case.expected_verdict, "verdict": grade.verdict,
                     "expected_score": case.expected_score, "score": grade.score, "grader": grade.grader,
                     "points": {p.id: p.status for p in grade.points}, "flags": grade.flags})
        if progress:
            progress(done, len(cases))
    kinds = sorted({r["kind"] for r in rows})
    return {
        "rows": rows,
        "overall": _metrics(rows),
        "tune": _metrics([r for r in rows if r["split"] == "tune"]),
        "test": _metrics([r for r in rows if r["split"] == "test"]),
        "by_kind": {k: _metrics([r for r in rows if r["kind"] == k]) for k in kinds},
        "disagreements": [f"{r['id']} (expected {r['expected_verdict']}, graded {r['verdict']} {r['score']:.2f})"
                          for r in rows if r["verdict"] != r["expected_verdict"]],
    }


def set_key(path: Path | str) -> str:
    """A grading set's name in evals/thresholds.json: its path from the project root ("evals/grading.jsonl")."""
    path = Path(path)
    try:
        return path.resolve().relative_to(PROJECT_ROOT.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def set_limits(thresholds: dict, path: Path | str | None = None) -> dict:
    """thresholds["grading"] for one set: its own "min"/"max" (under "sets", by set_key) over the ones
    every set shares."""
    limits = thresholds.get("grading") or {}
    own = (limits.get("sets") or {}).get(set_key(path or DEFAULT_GRADING)) or {}
    return {bound: {**(limits.get(bound) or {}), **(own.get(bound) or {})} for bound in ("min", "max")}


def check_grading(result: dict, thresholds: dict, path: Path | str | None = None) -> list[str]:
    """Shortfalls against the set's grading thresholds ({"min": {"verdict_accuracy": ...}, "max": {...}}),
    judged on each split (tune and held-out test) apart."""
    limits = set_limits(thresholds, path)
    label = set_key(path or DEFAULT_GRADING)
    failures = []
    for split in ("tune", "test"):
        values = result[split]
        if not values["cases"]:
            continue
        for name, floor in limits["min"].items():
            if values.get(name) is not None and values[name] < floor:
                failures.append(f"grading {label} ({split}): {name} {values[name]:.3f} < {floor} (minimum)")
        for name, ceiling in limits["max"].items():
            if values.get(name) is not None and values[name] > ceiling:
                failures.append(f"grading {label} ({split}): {name} {values[name]} > {ceiling} (maximum)")
    return failures


def write_grading(out_dir: Path, result: dict, name: str = "grading") -> Path:
    """The result as <name>.json in out_dir (the set's file name: grading.json, grading-independent.json)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
