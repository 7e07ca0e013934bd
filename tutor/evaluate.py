"""Offline evals: run eval sets (JSON Lines) through the tutor and score what a learner gets.

Per case it records the answer, its passages and citations; over a run it measures retrieval
(hit@k, MRR), answer fact coverage, numeric faithfulness, citation validity, out-of-scope accuracy,
role adherence, `must_not` compliance and latency, overall and per role, then compares them with
thresholds (`--check`) and an earlier run (`--baseline`). No LLM judge: every metric is a string
or number check on the tutor's output, so a run is deterministic on the offline model.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutor.errors import InputError
from tutor.grounding import CITATION, numbers_in
from tutor.roles import ROLE_IDS, Role
from tutor.settings import PROJECT_ROOT, Settings

DEFAULT_DATASET = PROJECT_ROOT / "evals" / "dev.jsonl"
DEFAULT_THRESHOLDS = PROJECT_ROOT / "evals" / "thresholds.json"
DEFAULT_OUT = PROJECT_ROOT / "evals" / "runs" / "latest"
MODELS = ("offline", "mock", "openai")

# name -> what it means; the order is the report's order. All are shares (0..1) except latency.
METRICS = {
    "hit_at_k": "every expected fact is in the top-k passages the answer was given",
    "mrr": "1 / rank of the first passage that holds an expected fact (0 when none does)",
    "fact_recall_at_k": "share of expected facts found in the top-k passages",
    "fact_coverage": "share of expected facts the answer states",
    "numeric_faithfulness": "share of in-scope answers whose every number appears in their passages",
    "citation_validity": "share of answers citing only passages that exist and were retrieved (and citing at least one when answering)",
    "scope_accuracy": "share of questions refused when out of scope and answered when in scope",
    "role_adherence": "share of in-scope answers that open with the role's lead and carry its closing line",
    "must_not_pass": "share of cases with `must_not` whose answer contains none of those strings",
    "latency_p50_ms": "median wall time of one ask",
    "latency_p95_ms": "95th percentile wall time of one ask",
}
RAGAS_NOTE = (
    "ragas is not used: `pip install --dry-run ragas` (0.4.3) would downgrade openai (3.x to 1.109.1), "
    "langchain-openai (1.7.4 to 1.1.9), rich (15 to 13.9.4) and tenacity (9 to 8.5). Its non-LLM metrics "
    "(string presence, non-LLM context precision and recall) are string matching, so the same checks are "
    "written out in tutor/evaluate.py instead; no metric uses an LLM judge."
)


class EvalCase(BaseModel):
    """One line of an eval set."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    role: str
    specialty: str | None = None
    question: str = Field(min_length=1)
    expected_facts: list[str] = Field(description='strings a correct answer contains; "a|b" means either')
    out_of_scope: bool = False
    must_not: list[str] = Field(default_factory=list)
    origin: str = Field("", exclude=True, description="file:line the case came from")


class SourceRef(BaseModel):
    id: str
    text: str
    score: float


class CaseResult(BaseModel):
    id: str
    role: str
    specialty: str | None
    question: str
    answer: str
    in_scope: bool
    sources: list[SourceRef]
    citations: list[str]
    unverified_numbers: list[str]
    latency_ms: float
    # the scoring of this case
    expected_in_scope: bool
    facts_found: list[str] = Field(default_factory=list)
    facts_missing: list[str] = Field(default_factory=list)
    evidence_rank: int | None = None  # 1-based rank of the first passage holding an expected fact
    facts_in_passages: int = 0
    numbers_not_in_passages: list[str] = Field(default_factory=list)
    citations_valid: bool = True
    role_adherent: bool | None = None  # None: not applicable (a refusal)
    must_not_found: list[str] = Field(default_factory=list)


# -- eval sets --------------------------------------------------------------------------------


def load_cases(paths: Iterable[Path] | None = None) -> list[EvalCase]:
    """Read eval sets; a bad line is an `InputError` naming the file and line."""
    paths = list(paths or [DEFAULT_DATASET])
    cases: list[EvalCase] = []
    seen: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise InputError(f"{path}: no such eval set; give a .jsonl file with one case per line") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
        before = len(cases)
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path} line {number}"
            case = _parse_case(line, where)
            if case.id in seen:
                raise InputError(f"{where}: id {case.id!r} is already used on {seen[case.id]}; ids must be unique")
            seen[case.id] = where
            cases.append(case)
        if len(cases) == before:
            raise InputError(f"{path}: holds no cases; write one JSON object per line")
    return cases


def _parse_case(line: str, where: str) -> EvalCase:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: a case must be a JSON object with id, role, question and expected_facts")
    try:
        case = EvalCase.model_validate({**data, "origin": where})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'case'}: "
            + ("unknown field (allowed: id, role, specialty, question, expected_facts, out_of_scope, must_not)"
               if e["type"] == "extra_forbidden" else e["msg"].lower())
            for e in exc.errors()
        )
        raise InputError(f"{where}: {problems}") from None
    if case.role not in ROLE_IDS:
        raise InputError(f"{where}: role {case.role!r} is unknown; use one of {', '.join(ROLE_IDS)}")
    if any(not f.strip() or not any(a.strip() for a in f.split("|")) for f in case.expected_facts + case.must_not):
        raise InputError(f"{where}: expected_facts and must_not hold non-empty strings")
    if not case.expected_facts and not case.out_of_scope and not case.must_not:
        raise InputError(f"{where}: an in-scope case needs expected_facts (or must_not) to be scored")
    return case


# -- scoring ---------------------------------------------------------------------------------


def fact_in(fact: str, text: str) -> bool:
    """`a|b` means either; case-insensitive; whitespace-insensitive."""
    flat = " ".join(text.lower().split())
    return any(alt.strip() and " ".join(alt.lower().split()) in flat for alt in fact.split("|"))


def score_case(case: EvalCase, answer, role: Role, latency_ms: float) -> CaseResult:
    sources = list(answer.sources)
    texts = [s.text for s in sources]
    result = CaseResult(
        id=case.id, role=case.role, specialty=case.specialty, question=case.question, answer=answer.answer,
        in_scope=answer.in_scope, sources=[SourceRef(id=s.id, text=s.text, score=s.score) for s in sources],
        citations=list(answer.citations), unverified_numbers=list(answer.unverified_numbers),
        latency_ms=round(latency_ms, 2), expected_in_scope=not case.out_of_scope,
    )
    for fact in case.expected_facts:
        (result.facts_found if fact_in(fact, answer.answer) else result.facts_missing).append(fact)
    result.facts_in_passages = sum(any(fact_in(f, t) for t in texts) for f in case.expected_facts)
    result.evidence_rank = next(
        (rank for rank, t in enumerate(texts, 1) if any(fact_in(f, t) for f in case.expected_facts)), None
    )
    known = {n for t in texts for n in numbers_in(t)}
    result.numbers_not_in_passages = list(dict.fromkeys(n for n in numbers_in(answer.answer) if n not in known))
    ids = {s.id for s in sources}
    markers = [int(n) for m in CITATION.finditer(answer.answer) for n in re.split(r"\s*,\s*", m.group(1))]
    result.citations_valid = (
        set(answer.citations) <= ids
        and all(1 <= n <= len(sources) for n in markers)
        and (bool(answer.citations) or not answer.in_scope)
    )
    if answer.in_scope:
        result.role_adherent = answer.answer.startswith(f"{role.lead}:") and role.closing in answer.answer
    result.must_not_found = [s for s in case.must_not if fact_in(s, answer.answer)]
    return result


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))  # nearest rank
    return round(ordered[rank - 1], 2)


def metrics(results: Sequence[CaseResult], cases: dict[str, EvalCase]) -> dict:
    """The metrics over a group of results (None when no case in the group applies)."""
    answerable = [r for r in results if r.expected_in_scope and cases[r.id].expected_facts]
    latencies = [r.latency_ms for r in results]
    values = {
        "hit_at_k": _share([r.facts_in_passages == len(cases[r.id].expected_facts) for r in answerable]),
        "mrr": round(statistics.fmean(1 / r.evidence_rank if r.evidence_rank else 0.0 for r in answerable), 4)
        if answerable else None,
        "fact_recall_at_k": round(statistics.fmean(r.facts_in_passages / len(cases[r.id].expected_facts)
                                                   for r in answerable), 4) if answerable else None,
        "fact_coverage": round(statistics.fmean(len(r.facts_found) / len(cases[r.id].expected_facts)
                                                for r in answerable), 4) if answerable else None,
        "numeric_faithfulness": _share([not r.numbers_not_in_passages for r in results if r.in_scope]),
        "citation_validity": _share([r.citations_valid for r in results]),
        "scope_accuracy": _share([r.in_scope == r.expected_in_scope for r in results]),
        "role_adherence": _share([r.role_adherent for r in results if r.role_adherent is not None]),
        "must_not_pass": _share([not r.must_not_found for r in results if cases[r.id].must_not]),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
    return {"cases": len(results), **values}


def summarize(results: Sequence[CaseResult], cases: Sequence[EvalCase], meta: dict) -> dict:
    by_id = {c.id: c for c in cases}
    roles = [r for r in ROLE_IDS if any(x.role == r for x in results)]
    return {
        **meta,
        "overall": metrics(results, by_id),
        "by_role": {role: metrics([r for r in results if r.role == role], by_id) for role in roles},
        "failing_cases": failing_cases(results),
    }


def failing_cases(results: Sequence[CaseResult]) -> dict[str, list[str]]:
    """Case ids behind each shortfall, for the report."""
    return {
        "facts missing from the answer": [f"{r.id} ({', '.join(r.facts_missing)})" for r in results
                                          if r.expected_in_scope and r.facts_missing],
        "evidence not retrieved": [r.id for r in results if r.expected_in_scope and r.facts_missing
                                   and r.evidence_rank is None],
        "wrong scope decision": [f"{r.id} ({'answered' if r.in_scope else 'refused'})" for r in results
                                 if r.in_scope != r.expected_in_scope],
        "numbers not in passages": [f"{r.id} ({', '.join(r.numbers_not_in_passages)})" for r in results
                                    if r.in_scope and r.numbers_not_in_passages],
        "invalid citations": [r.id for r in results if not r.citations_valid],
        "role structure missing": [r.id for r in results if r.role_adherent is False],
        "must_not present": [f"{r.id} ({', '.join(r.must_not_found)})" for r in results if r.must_not_found],
    }


# -- thresholds and baseline ------------------------------------------------------------------


def load_thresholds(path: Path | None = None) -> dict:
    path = Path(path or DEFAULT_THRESHOLDS)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no thresholds file; --check needs one (evals/thresholds.json)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    for group in ("min", "max", "per_role_min"):
        for name in (data.get(group) or {}):
            if name not in METRICS:
                raise InputError(f"{path}: {group}.{name} is not a metric; use one of {', '.join(METRICS)}")
    return data


def check(summary: dict, thresholds: dict) -> list[str]:
    """One line per metric that falls short; empty when the run passes. A metric with no
    applicable case in this run (None) is not judged."""
    failures = []
    overall = summary["overall"]
    for name, floor in (thresholds.get("min") or {}).items():
        if overall.get(name) is not None and overall[name] < floor:
            failures.append(f"{name} {overall[name]:.3f} < {floor} (minimum)")
    for name, ceiling in (thresholds.get("max") or {}).items():
        if overall.get(name) is not None and overall[name] > ceiling:
            failures.append(f"{name} {overall[name]:.1f} > {ceiling} (maximum)")
    for name, floor in (thresholds.get("per_role_min") or {}).items():
        for role, values in summary["by_role"].items():
            if values.get(name) is not None and values[name] < floor:
                failures.append(f"{name} for {role} {values[name]:.3f} < {floor} (per-role minimum)")
    return failures


def load_summary(path: Path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such summary; give the summary.json of an earlier `tutor eval` run") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or "overall" not in data:
        raise InputError(f"{path}: not a `tutor eval` summary (no 'overall' metrics)")
    return data


def compare(summary: dict, baseline: dict) -> list[dict]:
    """Overall metrics now and in the baseline, with the change."""
    rows = []
    for name in METRICS:
        now, before = summary["overall"].get(name), baseline["overall"].get(name)
        delta = None if now is None or before is None else round(now - before, 4)
        rows.append({"metric": name, "now": now, "baseline": before, "change": delta})
    return rows


# -- running ----------------------------------------------------------------------------------


def run_cases(tutor, cases: Sequence[EvalCase], progress: Callable[[int, int], None] | None = None) -> list[CaseResult]:
    """Ask every case once (after one warm-up question) and score it."""
    if cases:
        tutor.ask(cases[0].question, cases[0].role, cases[0].specialty)
    results = []
    for done, case in enumerate(cases, 1):
        started = time.perf_counter()
        answer = tutor.ask(case.question, case.role, case.specialty)
        latency = (time.perf_counter() - started) * 1000
        results.append(score_case(case, answer, tutor.role(case.role), latency))
        if progress:
            progress(done, len(cases))
    return results


def evaluate(tutor, cases: Sequence[EvalCase], datasets: Sequence[Path] = (),
             progress: Callable[[int, int], None] | None = None) -> tuple[list[CaseResult], dict]:
    """Run and summarise: the library call behind `tutor eval`."""
    from tutor.models import model_label

    started = time.perf_counter()
    results = run_cases(tutor, cases, progress)
    retriever = tutor.retriever
    meta = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_label(tutor.model),
        "datasets": [_label(Path(p)) for p in datasets],
        "cases": len(cases),
        "top_k": retriever.top_k,
        "retrieval_mode": retriever.mode,
        "relevance_floor": retriever.relevance_floor,
        "seconds": round(time.perf_counter() - started, 2),
        "metrics": METRICS,
        "ragas": RAGAS_NOTE,
    }
    return results, summarize(results, cases, meta)


def settings_for(settings: Settings, model: str | None) -> Settings:
    if model is None:
        return settings
    if model not in MODELS:
        raise InputError(f"--model {model!r} is unknown; use one of {', '.join(MODELS)}")
    return settings.model_copy(update={"model": model})


def _label(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


# -- writing ----------------------------------------------------------------------------------


def write_run(out_dir: Path, results: Sequence[CaseResult], summary: dict, thresholds: dict | None = None,
              failures: list[str] | None = None, baseline: dict | None = None) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"results": out_dir / "results.jsonl", "summary": out_dir / "summary.json", "report": out_dir / "report.md"}
    with paths["results"].open("w", encoding="utf-8") as f:
        for r in results:
            f.write(r.model_dump_json() + "\n")
    stored = dict(summary)
    if thresholds is not None:
        stored["check"] = {"thresholds": thresholds, "passed": not failures, "failures": failures or []}
    paths["summary"].write_text(json.dumps(stored, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths["report"].write_text(report(summary, thresholds, failures, baseline), encoding="utf-8")
    return paths


SHORT = {"hit_at_k": "hit@{k}", "fact_recall_at_k": "recall@{k}", "numeric_faithfulness": "numeric",
         "citation_validity": "citations", "scope_accuracy": "scope", "role_adherence": "role",
         "must_not_pass": "must_not", "fact_coverage": "facts", "latency_p50_ms": "p50 ms", "latency_p95_ms": "p95 ms"}


def short_name(name: str, k: int) -> str:
    return SHORT.get(name, name).format(k=k)


def _fmt(name: str, value) -> str:
    if value is None:
        return "-"
    if name.endswith("_ms"):
        return f"{value:.1f}"
    return f"{value:.3f}"


def _threshold(name: str, thresholds: dict | None) -> str:
    if not thresholds:
        return ""
    if name in (thresholds.get("min") or {}):
        return f"≥ {thresholds['min'][name]}"
    if name in (thresholds.get("max") or {}):
        return f"≤ {thresholds['max'][name]}"
    return ""


def report(summary: dict, thresholds: dict | None = None, failures: list[str] | None = None,
           baseline: dict | None = None) -> str:
    """The run as Markdown: verdict, overall and per-role tables, change, failing cases, definitions."""
    k = summary["top_k"]
    lines = [
        "# Trial Tutor eval report",
        "",
        f"{summary['created']} · model `{summary['model']}` · {summary['cases']} cases from "
        f"{', '.join(summary['datasets']) or 'given cases'} · retrieval {summary['retrieval_mode']}, k={k}, "
        f"relevance floor {summary['relevance_floor']} · {summary['seconds']} s",
        "",
    ]
    if thresholds is not None:
        lines += ["**Check: passed.**" if not failures else "**Check: FAILED** — " + "; ".join(failures or []), ""]
    lines += ["## Overall", "", "| Metric | Value | Threshold |", "|---|---|---|"]
    for name in METRICS:
        label = name.replace("hit_at_k", f"hit@{k}").replace("fact_recall_at_k", f"fact recall@{k}")
        lines.append(f"| {label} | {_fmt(name, summary['overall'].get(name))} | {_threshold(name, thresholds)} |")
    lines += ["", "## Per role", ""]
    names = list(METRICS)
    lines.append("| Role | cases | " + " | ".join(short_name(n, k) for n in names) + " |")
    lines.append("|---|---|" + "---|" * len(names))
    for role, values in summary["by_role"].items():
        lines.append(f"| {role} | {values['cases']} | " + " | ".join(_fmt(n, values.get(n)) for n in names) + " |")
    if baseline is not None:
        lines += ["", f"## Change against the baseline ({baseline.get('created', '?')}, model "
                      f"`{baseline.get('model', '?')}`, {baseline.get('cases', '?')} cases)", "",
                  "| Metric | Baseline | Now | Change |", "|---|---|---|---|"]
        for row in compare(summary, baseline):
            change = "-" if row["change"] is None else f"{row['change']:+.3f}" if not row["metric"].endswith("_ms") \
                else f"{row['change']:+.1f}"
            lines.append(f"| {row['metric']} | {_fmt(row['metric'], row['baseline'])} | "
                         f"{_fmt(row['metric'], row['now'])} | {change} |")
    lines += ["", "## Cases behind the shortfalls", ""]
    any_failing = False
    for label, ids in summary["failing_cases"].items():
        if ids:
            any_failing = True
            lines.append(f"- **{label}** ({len(ids)}): {'; '.join(ids)}")
    if not any_failing:
        lines.append("None: every case met every check.")
    lines += ["", "## What the metrics mean", ""]
    lines += [f"- `{name}`: {meaning}" for name, meaning in METRICS.items()]
    lines += [
        "",
        "Retrieval metrics and fact coverage count in-scope cases with expected facts; role adherence counts "
        "in-scope answers; a passage *holds the evidence* when it contains an expected fact (`a|b` = either, "
        "case-insensitive). Latency is one `Tutor.ask` on a warm tutor, including the question's embedding.",
        "",
        RAGAS_NOTE,
        "",
    ]
    return "\n".join(lines)
