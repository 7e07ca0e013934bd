"""What is tuned, and how generalisation is measured.

The one fitted part of the tutor is the in-scope model (`tutor.scope`): a few weights over signals any
trial library gives. `fit_scope` fits it on the tune split of the eval sets and on the cases of the tune
pages of other fields (`evals/scope-pages.json`, each page read into a library with knowledge/'s trials);
never on the test split or a held-out page. `leave_one_out` refits it once per trial with every case
about that trial left out, then scores that trial's cases (all splits) with the weights that never saw
it: the figure a programme can expect from a page it drops into knowledge/ tomorrow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from tutor import scope
from tutor.evaluate import EvalCase, evaluate, load_cases
from tutor.settings import PROJECT_ROOT

PAGES = PROJECT_ROOT / "evals" / "scope-pages.json"


def trials_of(tutor, case: EvalCase) -> set[str]:
    """The trials a case is about: the one chosen, those it expects cited, those it names."""
    named = tutor.retriever.named_trials(case.question)
    return {t for t in [case.trial, *case.expected_trials, *named] if t}


def scope_rows(tutor, cases: Sequence[EvalCase], progress: Callable[[int, int], None] | None = None):
    """(case, signals vector, in scope, signals) for each case, as retrieval sees it."""
    rows = []
    floor = tutor.retriever.relevance_floor
    saved = tutor.retriever.scope_model
    tutor.retriever.scope_model = scope.ScopeModel((0.0,) * len(scope.FEATURES))  # signals need no fitted model
    try:
        for n, case in enumerate(cases, 1):
            question = tutor.read(case.question)  # as `ask` reads it ("Hb7" is "Hb 7")
            retrieval = tutor.retrieve(question, (), case.trial, case.specialty)
            if retrieval.signals is not None:  # the row's case carries the question as read, for the rules too
                read = case if question == case.question else case.model_copy(update={"question": question})
                rows.append((read, retrieval.signals.vector(question, floor), not case.out_of_scope, retrieval.signals))
            if progress:
                progress(n, len(cases))
    finally:
        tutor.retriever.scope_model = saved
    return rows


def page_rows(settings, manifest: Path = PAGES, progress: Callable[[int, int], None] | None = None) -> dict[str, list]:
    """Scope rows of each tune page's cases, asked of a library of knowledge/'s trials and that page: a
    question of another field as the library that holds it reads it. {page file name: rows}."""
    import json
    import shutil

    from tutor.bench import scratch_store
    from tutor.knowledge_files import find_files
    from tutor.tutor import Tutor

    pages = json.loads(manifest.read_text(encoding="utf-8"))["pages"]
    out = {}
    for n, entry in enumerate(pages, 1):
        page, cases = PROJECT_ROOT / entry["page"], PROJECT_ROOT / entry["cases"]
        with scratch_store(settings, "scope") as (scratch, root):
            knowledge = Path(settings.knowledge_dir)
            for source in find_files([knowledge]):  # every page the library reads, in its own subfolder
                target = root / "knowledge" / source.relative_to(knowledge)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target)
            shutil.copy(page, root / "knowledge" / page.name)
            out[page.name] = scope_rows(Tutor(scratch), load_cases([cases]))
        if progress:
            progress(n, len(pages))
    return out


def _rates(model: scope.ScopeModel, rows, floor: float) -> dict:
    """The decision's figures (the model with the rules around it) on these rows."""
    answered = [(scope.decide(case.question, signals, floor, model)[0], expected) for case, _, expected, signals in rows]
    ins = [a for a, e in answered if e]
    outs = [a for a, e in answered if not e]
    return {"cases": len(rows),
            "false_refusal": round(1 - sum(ins) / len(ins), 3) if ins else None,
            "false_answer": round(sum(outs) / len(outs), 3) if outs else None,
            "accuracy": round(sum(a == e for a, e in answered) / len(answered), 3) if answered else None}


def fit_scope(tutor, cases: Sequence[EvalCase], path: Path = scope.DATA, progress=None,
              pages: dict[str, list] | None = None) -> dict:
    """Fit the scope model on the tune split and the tune pages' rows, write it to `path`, and report the
    figures of each."""
    rows = scope_rows(tutor, cases, progress)
    tune = [r for r in rows if r[0].split == "tune"]
    test = [r for r in rows if r[0].split == "test"]
    paged = [r for page in (pages or {}).values() for r in page]
    model = scope.fit([(x, e) for _, x, e, _ in tune + paged])
    floor = tutor.retriever.relevance_floor
    figures = {"tune": _rates(model, tune, floor), "test": _rates(model, test, floor)}
    figures |= {f"page {name}": _rates(model, page, floor) for name, page in (pages or {}).items()}
    path.write_text(model.to_json(fitted_on=f"{len(tune)} tune-split cases ({sum(1 for r in tune if not r[2])} out of "
                                  f"scope) and {len(paged)} cases of {len(pages or {})} tune pages of other fields "
                                  "(evals/scope-pages.json); the test split and the held-out pages are never used",
                                  figures=figures), encoding="utf-8")
    scope.default_model.cache_clear()
    return figures


def leave_one_out(tutor, cases: Sequence[EvalCase], datasets: Sequence[Path] = (), progress=None,
                  pages: dict[str, list] | None = None) -> dict:
    """Per trial of the library: the scope model fitted without any case about it (the tune pages' cases
    are about their own trials, though read in libraries that hold this trial's page too: its words count
    as known words there, a slight lean towards it), then that trial's cases scored with it. Returns
    {trial: {"tuned_on": n, "held_out": n, "overall": metrics}}."""
    rows = scope_rows(tutor, cases)
    paged = [(x, e) for page in (pages or {}).values() for _, x, e, _ in page]
    about = {id(case): trials_of(tutor, case) for case, *_ in rows}
    report = {}
    try:
        for trial in tutor.retriever.trial_pages:
            tune = [(x, e) for case, x, e, _ in rows if case.split == "tune" and trial not in about[id(case)]] + paged
            mine = [case for case, *_ in rows if trial in about[id(case)]]
            if not mine:
                continue
            tutor.retriever.scope_model = scope.fit(tune)
            _, summary = evaluate(tutor, mine, datasets)
            report[trial] = {"tuned_on": len(tune), "held_out": len(mine), "overall": summary["overall"]}
            if progress:
                progress(len(report), len(tutor.retriever.trial_pages))
    finally:
        tutor.retriever.scope_model = None
    return report
