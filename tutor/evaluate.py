"""Offline evals: run eval sets (JSON Lines) through the tutor and score what a learner gets.

Per case it records the answer, its passages and citations; over a run it measures retrieval
(hit@k, MRR), answer fact coverage, whether the opening sentence states an expected fact, numeric
faithfulness, citation validity, out-of-scope accuracy, role adherence, `must_not` compliance and
latency, overall, per role and per eval set, then compares each eval set with its own thresholds
(`--check`) and an earlier run (`--baseline`). No LLM judge: every metric is a string or number
check on the tutor's output, so a run is deterministic on the offline model.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutor.errors import InputError
from tutor.grounding import CITATION, numbers_in
from tutor.roles import ROLE_IDS, Role
from tutor.settings import PROJECT_ROOT, Settings

DEFAULT_DATASET = PROJECT_ROOT / "evals" / "dev.jsonl"
# The gate: what `tutor eval` runs when no --dataset is given. heldout.jsonl was written from the
# source text alone and nothing is tuned on it, so it measures generalisation. injection.jsonl is
# left out: its cases only mean something with the injected passage in the knowledge (tests add it).
DEFAULT_DATASETS = (DEFAULT_DATASET, PROJECT_ROOT / "evals" / "heldout.jsonl")
# Every set of the library: per trial, across trials, paraphrases, off-topic and specialty questions,
# and fresh.jsonl to fresh5.jsonl and cross-blind.jsonl, each written by someone who had read only the trial pages
# (never the code or the sets).
ALL_DATASETS = (*DEFAULT_DATASETS, *sorted((PROJECT_ROOT / "evals" / "trials").glob("*.jsonl")),
                *(PROJECT_ROOT / "evals" / f"{name}.jsonl" for name in (
                    "cross-trial", "cross-blind", "paraphrase", "offtopic", "specialty", "scope-tune", "fresh", "fresh2", "fresh3",
                    "fresh4", "fresh5")))
DEFAULT_THRESHOLDS = PROJECT_ROOT / "evals" / "thresholds.json"
DEFAULT_OUT = PROJECT_ROOT / "evals" / "runs" / "latest"
MODELS = ("offline", "mock", "openai")

# name -> what it means; the order is the report's order. All are shares (0..1) except latency.
METRICS = {
    "hit_at_k": "every expected fact is in the top-k retrieved passages (for a refusal, the passages the "
                "retriever ranked for the question)",
    "mrr": "1 / rank of the first retrieved passage that holds an expected fact (0 when none does)",
    "fact_recall_at_k": "share of expected facts found in the top-k passages",
    "fact_coverage": "share of expected facts the answer states",
    "lead_accuracy": "share of answered in-scope cases whose opening sentence (the first sentence of the "
                     "answer's first non-empty line) states at least one expected fact",
    "numeric_faithfulness": "share of in-scope answers whose every number appears in their passages",
    "citation_validity": "share of answers citing only passages that exist and were retrieved (and citing at least one when answering)",
    "scope_accuracy": "share of questions refused when out of scope and answered when in scope",
    "role_adherence": "share of in-scope answers that open with the role's lead and carry its closing line",
    "must_not_pass": "share of cases with `must_not` whose answer contains none of those strings",
    "false_refusal": "share of in-scope questions refused (lower is better)",
    "false_answer": "share of out-of-scope questions answered (lower is better)",
    "trials_cited": "share of comparison cases whose answer cites a passage of every trial it compares",
    "specialty_relevance": "share of specialty cases whose answer carries what matters to the specialty (or, when "
                           "the sources hold nothing for it, says so)",
    "not_reported_said": "share of questions about what a page does not report whose answer says so (and answers)",
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
    trial: str | None = Field(None, description="the trial chosen in the picker; None = all trials")
    kind: str = Field("", description="a label: fact, lay, design, offtopic, advice, comparison, paraphrase, ...")
    split: str = Field("test", pattern="^(tune|test)$", description="tune: rules and thresholds may be set on it")
    not_reported: bool = Field(False, description="in scope, about something the page does not report")
    expected_trials: list[str] = Field(default_factory=list, description="trials whose pages the answer must cite")
    specialty_facts: list[str] = Field(default_factory=list, description="one must appear: what matters to the specialty")
    specialty_covered: bool = Field(True, description="False: the sources say nothing that matters to the specialty")
    origin: str = Field("", exclude=True, description="file:line the case came from")
    dataset: str = Field("", exclude=True, description="the eval set the case came from, as labelled in reports")


class SourceRef(BaseModel):
    id: str
    text: str
    score: float


class CaseResult(BaseModel):
    id: str
    dataset: str = ""
    role: str
    specialty: str | None
    question: str
    answer: str
    in_scope: bool
    sources: list[SourceRef]
    citations: list[str]
    unverified_numbers: list[str]
    latency_ms: float
    # A refusal carries no sources, so retrieval is scored on what the retriever ranked for the
    # question: a wrong refusal then shows as a scope error, not as "evidence not retrieved".
    retrieved: list[SourceRef] = Field(default_factory=list)
    # the scoring of this case
    expected_in_scope: bool
    facts_found: list[str] = Field(default_factory=list)
    facts_missing: list[str] = Field(default_factory=list)
    lead: str = ""
    lead_has_fact: bool | None = None  # None: not applicable (refused, or no expected facts)
    evidence_rank: int | None = None  # 1-based rank of the first passage holding an expected fact
    facts_in_passages: int = 0
    numbers_not_in_passages: list[str] = Field(default_factory=list)
    citations_valid: bool = True
    role_adherent: bool | None = None  # None: not applicable (a refusal)
    must_not_found: list[str] = Field(default_factory=list)
    trials_cited: bool | None = None  # None: no expected_trials
    specialty_relevant: bool | None = None  # None: no specialty to serve
    says_not_reported: bool | None = None  # None: not a not_reported case


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
            case.dataset = _label(path)
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
            + ("unknown field (allowed: id, role, specialty, question, expected_facts, out_of_scope, must_not, trial, "
               "kind, split, not_reported, expected_trials, specialty_facts, specialty_covered)"
               if e["type"] == "extra_forbidden" else e["msg"].lower())
            for e in exc.errors()
        )
        raise InputError(f"{where}: {problems}") from None
    if case.role not in ROLE_IDS:
        raise InputError(f"{where}: role {case.role!r} is unknown; use one of {', '.join(ROLE_IDS)}")
    if any(not f.strip() or not any(a.strip() for a in f.split("|")) for f in case.expected_facts + case.must_not):
        raise InputError(f"{where}: expected_facts and must_not hold non-empty strings")
    if not case.expected_facts and not case.out_of_scope and not case.must_not and not case.not_reported:
        raise InputError(f"{where}: an in-scope case needs expected_facts (or must_not) to be scored")
    return case


# -- scoring ---------------------------------------------------------------------------------


def fact_in(fact: str, text: str) -> bool:
    """`a|b` means either; case-insensitive; whitespace-insensitive. A whole number is the same figure with or
    without its thousands separators ("1,012" and "1012": a page may write it both ways)."""
    flat = " ".join(text.lower().split())
    for alt in fact.split("|"):
        alt = " ".join(alt.lower().split())
        if alt and alt in flat:
            return True
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d{4,}", alt):
            bare = alt.replace(",", "")
            numbers = re.finditer(r"(?<![\d.,])\d[\d,]*(?![\d]|[.,]\d)", flat)
            if any(m.group().replace(",", "") == bare for m in numbers):
                return True
    return False


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


def lead_sentence(answer: str) -> str:
    """The answer's opening statement: the first sentence of its first non-empty line, with the
    citation markers that close it ("... 9.6 months. [1]"). A sentence ends at . ! or ? followed
    by a space and a capital, so "vs. 57%" and "0.65" do not end one."""
    first = next((line.strip() for line in answer.splitlines() if line.strip()), "")
    return _SENTENCE_END.split(first, maxsplit=1)[0]


def score_case(case: EvalCase, answer, role: Role, latency_ms: float, retrieved: Sequence = ()) -> CaseResult:
    """Score one answer. `retrieved`: the passages the retriever ranked for a question the tutor
    refused (its answer then carries none); retrieval metrics read them instead."""
    sources = list(answer.sources)
    ranked = sources or list(retrieved)
    texts = [s.text for s in ranked]
    result = CaseResult(
        id=case.id, dataset=case.dataset, role=case.role, specialty=case.specialty, question=case.question,
        answer=answer.answer, in_scope=answer.in_scope,
        sources=[SourceRef(id=s.id, text=s.text, score=s.score) for s in sources],
        citations=list(answer.citations), unverified_numbers=list(answer.unverified_numbers),
        latency_ms=round(latency_ms, 2), expected_in_scope=not case.out_of_scope,
        retrieved=[] if sources else [SourceRef(id=s.id, text=s.text, score=s.score) for s in retrieved],
    )
    for fact in case.expected_facts:
        (result.facts_found if fact_in(fact, answer.answer) else result.facts_missing).append(fact)
    if answer.in_scope:
        result.lead = lead_sentence(answer.answer)
        if case.expected_facts and not case.out_of_scope:
            result.lead_has_fact = any(fact_in(f, result.lead) for f in case.expected_facts)
    result.facts_in_passages = sum(any(fact_in(f, t) for t in texts) for f in case.expected_facts)
    result.evidence_rank = next(
        (rank for rank, t in enumerate(texts, 1) if any(fact_in(f, t) for f in case.expected_facts)), None
    )
    known = {n for s in sources for n in numbers_in(s.text)}
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
    if case.expected_trials:
        cited_trials = {s.trial.lower() for s in sources if s.id in set(answer.citations)}
        result.trials_cited = answer.in_scope and all(t.lower() in cited_trials for t in case.expected_trials)
    if case.specialty and not case.out_of_scope:
        if case.specialty_facts:
            result.specialty_relevant = answer.in_scope and any(fact_in(f, answer.answer) for f in case.specialty_facts)
        elif not case.specialty_covered:
            result.specialty_relevant = answer.in_scope and bool(NOTHING_SPECIFIC.search(answer.answer))
    if case.not_reported:
        result.says_not_reported = answer.in_scope and bool(NOT_REPORTED.search(answer.answer))
    return result


# How an answer says the sources lack something: the offline model's wording and an LLM's usual ones.
NOT_REPORTED = re.compile(r"\b(do|does|did) not (report|mention|give|state|cover|say)|\bnot reported\b|\bsay nothing\b"
                          r"|\breport nothing\b|\bno data\b", re.I)
NOTHING_SPECIFIC = re.compile(r"nothing specific|\bnot (report|mention|address)\w*\b.{0,40}\bspecific|"
                              r"\bno .{0,30}\bspecific to\b", re.I)


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (a value that was measured, never interpolated), rounded to 0.01;
    the eval's and the benchmark's latencies both use it."""
    if not len(values):
        return None
    return round(float(np.percentile(values, q, method="inverted_cdf")), 2)


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
        "lead_accuracy": _share([r.lead_has_fact for r in results if r.lead_has_fact is not None]),
        "numeric_faithfulness": _share([not r.numbers_not_in_passages for r in results if r.in_scope]),
        "citation_validity": _share([r.citations_valid for r in results]),
        "scope_accuracy": _share([r.in_scope == r.expected_in_scope for r in results]),
        "role_adherence": _share([r.role_adherent for r in results if r.role_adherent is not None]),
        "must_not_pass": _share([not r.must_not_found for r in results if cases[r.id].must_not]),
        "false_refusal": _share([not r.in_scope for r in results if r.expected_in_scope]),
        "false_answer": _share([r.in_scope for r in results if not r.expected_in_scope]),
        "trials_cited": _share([r.trials_cited for r in results if r.trials_cited is not None]),
        "specialty_relevance": _share([r.specialty_relevant for r in results if r.specialty_relevant is not None]),
        "not_reported_said": _share([r.says_not_reported for r in results if r.says_not_reported is not None]),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
    return {"cases": len(results), **values}


def summarize(results: Sequence[CaseResult], cases: Sequence[EvalCase], meta: dict) -> dict:
    """Overall, per role and per eval set (each set is judged against its own thresholds)."""
    by_id = {c.id: c for c in cases}

    def per_role(group: Sequence[CaseResult]) -> dict:
        roles = [r for r in ROLE_IDS if any(x.role == r for x in group)]
        return {role: metrics([r for r in group if r.role == role], by_id) for role in roles}

    sets = list(dict.fromkeys(r.dataset for r in results))
    return {
        **meta,
        "overall": metrics(results, by_id),
        "by_role": per_role(results),
        "by_dataset": {name or GIVEN: {"overall": metrics(group, by_id), "by_role": per_role(group)}
                       for name in sets for group in [[r for r in results if r.dataset == name]]},
        "failing_cases": failing_cases(results),
    }


GIVEN = "given cases"  # cases built in code rather than read from a file


def failing_cases(results: Sequence[CaseResult]) -> dict[str, list[str]]:
    """Case ids behind each shortfall, for the report."""
    return {
        "facts missing from the answer": [f"{r.id} ({', '.join(r.facts_missing)})" for r in results
                                          if r.expected_in_scope and r.facts_missing],
        "opening states no expected fact": [f"{r.id} ({r.lead[:80]})" for r in results if r.lead_has_fact is False],
        "evidence not retrieved": [r.id for r in results if r.expected_in_scope and r.evidence_rank is None
                                   and (r.facts_missing or not r.in_scope)],
        "wrong scope decision": [f"{r.id} ({'answered' if r.in_scope else 'refused'})" for r in results
                                 if r.in_scope != r.expected_in_scope],
        "numbers not in passages": [f"{r.id} ({', '.join(r.numbers_not_in_passages)})" for r in results
                                    if r.in_scope and r.numbers_not_in_passages],
        "invalid citations": [r.id for r in results if not r.citations_valid],
        "role structure missing": [r.id for r in results if r.role_adherent is False],
        "must_not present": [f"{r.id} ({', '.join(r.must_not_found)})" for r in results if r.must_not_found],
        "a compared trial not cited": [r.id for r in results if r.trials_cited is False],
        "specialty not served": [r.id for r in results if r.specialty_relevant is False],
        "unreported not said": [r.id for r in results if r.says_not_reported is False],
    }


# -- thresholds and baseline ------------------------------------------------------------------


GROUPS = ("min", "max", "per_role_min")


def load_thresholds(path: Path | None = None) -> dict:
    """Thresholds per eval set: {"datasets": {"evals/dev.jsonl": {"min": ..., "per_role_min": ...}, ...},
    "default": "evals/dev.jsonl", "pooled": {"max": ...}}, where "default" names the entry that judges any
    other eval set and "pooled" judges a run of several sets as one.
    A flat file ({"min": ..., "max": ..., "per_role_min": ...}) judges every set alike."""
    path = Path(path or DEFAULT_THRESHOLDS)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no thresholds file; --check needs one (evals/thresholds.json)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: thresholds must be a JSON object")
    entries = data.get("datasets")
    if entries is not None:
        if not isinstance(entries, dict) or not entries:
            raise InputError(f"{path}: datasets maps an eval set (e.g. evals/dev.jsonl) to its thresholds")
        if data.get("default") is not None and data["default"] not in entries:
            raise InputError(f"{path}: default {data['default']!r} is not one of datasets ({', '.join(entries)})")
    checked = {"": data} if entries is None else {f"datasets.{k}.": v for k, v in entries.items()}
    if isinstance(data.get("pooled"), dict):
        checked["pooled."] = data["pooled"]
    for where, entry in checked.items():
        for group in GROUPS:
            for name in (entry.get(group) or {}):
                if name not in METRICS:
                    raise InputError(f"{path}: {where}{group}.{name} is not a metric; use one of {', '.join(METRICS)}")
    return data


def thresholds_for(thresholds: dict, dataset: str) -> dict:
    """The thresholds that judge one eval set (empty when none apply)."""
    entries = thresholds.get("datasets")
    if entries is None:
        return thresholds
    return entries.get(dataset) or entries.get(thresholds.get("default") or "", {})


def check(summary: dict, thresholds: dict) -> list[str]:
    """One line per metric that falls short; empty when the run passes. Each eval set in the run
    is judged against its own thresholds, and a failure names the set when the run holds several.
    A metric with no applicable case in a set (None) is not judged."""
    sets = summary.get("by_dataset") or {"": {"overall": summary["overall"], "by_role": summary["by_role"]}}
    failures = []
    for dataset, values in sets.items():
        limits = thresholds_for(thresholds, dataset)
        prefix = f"{dataset}: " if len(sets) > 1 else ""
        failures += [prefix + line for line in _shortfalls(values, limits)]
    if len(sets) > 1 and thresholds.get("pooled"):
        # Rates whose sets are too small to judge alone (one off-topic case in 45 is 0.022) are judged
        # over every set of the run together.
        pooled = {"overall": summary["overall"], "by_role": summary.get("by_role", {})}
        failures += ["all sets pooled: " + line for line in _shortfalls(pooled, thresholds["pooled"])]
    return failures


def _shortfalls(summary: dict, thresholds: dict) -> list[str]:
    failures = []
    overall = summary["overall"]
    for name, floor in (thresholds.get("min") or {}).items():
        if overall.get(name) is not None and overall[name] < floor:
            failures.append(f"{name} {overall[name]:.3f} < {floor} (minimum)")
    for name, ceiling in (thresholds.get("max") or {}).items():
        if overall.get(name) is not None and overall[name] > ceiling:
            failures.append(f"{name} {overall[name]:.{1 if name.endswith('_ms') else 3}f} > {ceiling} (maximum)")
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
        tutor.ask(cases[0].question, cases[0].role, cases[0].specialty, trial=cases[0].trial)
    results = []
    for done, case in enumerate(cases, 1):
        started = time.perf_counter()
        answer = tutor.ask(case.question, case.role, case.specialty, trial=case.trial)
        latency = (time.perf_counter() - started) * 1000
        # outside the clock: what the retriever ranked for a question the answer gives no passages for
        retrieved = tutor.retrieve(case.question, trial=case.trial).sources if not answer.sources else ()
        results.append(score_case(case, answer, tutor.role(case.role), latency, retrieved))
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
        "datasets": [_label(Path(p)) for p in datasets] or [d for d in dict.fromkeys(c.dataset for c in cases) if d],
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


SHORT = {"hit_at_k": "hit@{k}", "lead_accuracy": "lead", "fact_recall_at_k": "recall@{k}", "numeric_faithfulness": "numeric",
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
    sets = summary.get("by_dataset") or {}
    labels = {name: name.replace("hit_at_k", f"hit@{k}").replace("fact_recall_at_k", f"fact recall@{k}")
              for name in METRICS}
    if len(sets) > 1:
        # Each eval set beside its own thresholds: the gate judges them apart, never pooled.
        lines += ["## By eval set", "", "Each cell: value (threshold). The gate judges each set on its own.", "",
                  "| Metric | " + " | ".join(f"{d} ({v['overall']['cases']})" for d, v in sets.items()) + " | all |",
                  "|---|" + "---|" * (len(sets) + 1)]
        for name in METRICS:
            cells = []
            for dataset, values in sets.items():
                limit = _threshold(name, thresholds_for(thresholds, dataset) if thresholds else None)
                cells.append(_fmt(name, values["overall"].get(name)) + (f" ({limit})" if limit else ""))
            lines.append(f"| {labels[name]} | " + " | ".join(cells) + f" | {_fmt(name, summary['overall'].get(name))} |")
        lines += ["", "## Overall (every set pooled)", "", "| Metric | Value |", "|---|---|"]
        lines += [f"| {labels[name]} | {_fmt(name, summary['overall'].get(name))} |" for name in METRICS]
    else:
        limits = thresholds_for(thresholds, next(iter(sets), "")) if thresholds else None
        lines += ["## Overall", "", "| Metric | Value | Threshold |", "|---|---|---|"]
        lines += [f"| {labels[name]} | {_fmt(name, summary['overall'].get(name))} | {_threshold(name, limits)} |"
                  for name in METRICS]
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
        "Retrieval metrics and fact coverage count in-scope cases with expected facts; lead accuracy counts "
        "those the tutor answered; role adherence counts in-scope answers; a passage *holds the evidence* when "
        "it contains an expected fact (`a|b` = either, case-insensitive). When the tutor refuses, its answer "
        "carries no passages, so hit@k and MRR read the passages the retriever ranked for the question: a wrong "
        "refusal is a scope error, not a retrieval miss. Latency is one `Tutor.ask` on a warm tutor, including "
        "the question's embedding; percentiles are nearest-rank.",
        "",
        RAGAS_NOTE,
        "",
    ]
    return "\n".join(lines)
