"""The `tutor` command: parse, call the library, print. Errors: one line on stderr, exit 2."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from tutor.errors import TutorError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Trial Tutor: learn landmark clinical trials, framed for your training stage.")
# Piped or redirected, lines are never hard-wrapped at 80 columns: a reader gets them whole.
out = Console(soft_wrap=not sys.stdout.isatty())
err = Console(stderr=True, soft_wrap=True)  # errors stay one line, however long

RoleOpt = Annotated[str, typer.Option("--role", "-r", help="learner role id, e.g. resident (see `tutor roles`)")]
SpecialtyOpt = Annotated[Optional[str], typer.Option("--specialty", "-s", help="free text, e.g. 'oncology pharmacy'")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object")]
TrialOpt = Annotated[Optional[str], typer.Option("--trial", "-t", help="a trial of the library (see `tutor trials`); default all")]


def _settings():
    from tutor.settings import get_settings

    return get_settings()


def _check_role(role: str) -> None:
    """An unknown role fails in milliseconds (roles load from prompts/), not after the tutor loads."""
    from tutor.roles import get_role, load_roles

    get_role(load_roles(_settings().prompts_dir), role)


def _tutor():
    from tutor.tutor import Tutor

    with err.status("Loading the tutor (embeddings, store)..."):
        return Tutor(_settings())


@app.command()
def ingest(paths: Annotated[Optional[list[Path]], typer.Argument(help="files or folders; default: the knowledge folder")] = None):
    """Load, split and embed documents into the store. Running it twice changes nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tutor import library
    from tutor.store import Store

    with err.status("Loading the embedding model..."):
        store = Store(_settings())
    with Progress(TextColumn("Embedding chunks"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar:
        task = bar.add_task("embed", total=None)
        report = store.ingest(paths or None, progress=lambda done, total: bar.update(task, completed=done, total=total))
    if not library.is_current(store, store.revision()):
        library.save(store)  # what `tutor trials` lists without opening the store
    for problem in report.errors:
        err.print(f"[red]error:[/red] {problem}", highlight=False)
    out.print(
        f"{report.documents} document(s): {report.added} chunk(s) added, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.total} in collection {store.name}",
        highlight=False,
    )
    if report.errors:
        raise typer.Exit(2)


@app.command()
def roles(as_json: JsonOpt = False):
    """List the learner roles and their starter questions."""
    from tutor.roles import load_roles

    loaded = load_roles(_settings().prompts_dir)
    if as_json:
        print(json.dumps([{"id": r.id, "name": r.name, "starter_questions": r.starter_questions} for r in loaded.values()], indent=2))
        return
    for role in loaded.values():
        out.print(f"[bold]{role.id}[/bold]  {role.name}: {role.emphasis}", highlight=False)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="your question about the trial")],
    role: RoleOpt = "resident",
    specialty: SpecialtyOpt = None,
    trial: TrialOpt = None,
    as_json: JsonOpt = False,
):
    """Ask one question; the answer streams with numbered citations and its sources.

    Exit status 2 when the answer was cut off (the text so far is still printed)."""
    from tutor.roles import clean_specialty
    from tutor.tutor import clean_question

    clean_question(question)  # fail fast, before the model loads
    clean_specialty(specialty)
    _check_role(role)
    tutor = _tutor()
    if as_json:
        answer = tutor.ask(question, role, specialty, trial=trial)
        print(answer.model_dump_json(indent=2))
    else:
        answer = _stream_answer(tutor, question, role, specialty, trial)
    if not answer.complete:
        err.print(f"[red]error:[/red] the answer was cut off: {answer.incomplete_reason}", highlight=False)
        raise typer.Exit(2)


def _stream_answer(tutor, question: str, role: str, specialty: str | None, trial: str | None = None):
    """Print the answer as it streams, then what the check changed: the streamed text is the model's,
    the notes after it say what to trust (dropped citations, unverified numbers)."""
    waiting = None
    if tutor.settings.model == "openai":
        from tutor.openai_backend import longest_wait

        # No deadline of our own: TUTOR_REQUEST_TIMEOUT x attempts is the bound; say how long it can be.
        waiting = err.status(f"Waiting for {tutor.settings.openai_model} "
                             f"(gives up after ~{longest_wait(tutor.settings):.3g} s without an answer)...")
        waiting.start()
    answer = None
    try:
        for part in tutor.stream(question, role, specialty, trial=trial):
            if waiting is not None:
                waiting.stop()
                waiting = None
            if isinstance(part, str):
                sys.stdout.write(part)
                sys.stdout.flush()
            else:
                answer = part
    finally:
        if waiting is not None:
            waiting.stop()
    print()
    if answer.dropped_citations:
        marks = ", ".join(f"[{n}]" for n in answer.dropped_citations)
        err.print(f"[yellow]note:[/yellow] removed {marks}: the answer cited a passage it was not given "
                  f"(there are {len(answer.sources)})", highlight=False)
    if answer.unverified_numbers:
        err.print(f"[yellow]warning:[/yellow] numbers not found in any source: {', '.join(answer.unverified_numbers)}",
                  highlight=False)
    if answer.sources:
        out.print("\n[bold]Sources[/bold] (* cited)")
        for n, source in enumerate(answer.sources, 1):
            mark = "*" if source.id in answer.citations else " "
            out.print(f"{mark}[{n}] {source.document} > {source.section} (similarity {source.score:.2f})", highlight=False)
    out.print("[dim]Educational use only; not medical advice.[/dim]")
    return answer


@app.command()
def takeaways(role: RoleOpt = "resident", specialty: SpecialtyOpt = None, trial: TrialOpt = None,
              as_json: JsonOpt = False):
    """3 to 5 personalised, cited takeaways for a learner."""
    from tutor.roles import clean_specialty

    clean_specialty(specialty)
    _check_role(role)
    result = _tutor().takeaways(role, specialty, trial=trial)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    out.print(f"[bold]Takeaways for {result.role}{' in ' + result.specialty if result.specialty else ''}[/bold]")
    for item in result.takeaways:
        out.print(f"- {item.text}", highlight=False)


@app.command()
def trials(as_json: JsonOpt = False):
    """List the trials in the library: name, year, journal, sample, chunks."""
    from tutor.library import saved_trials

    # The manifest the last build saved beside the store, when it still describes it; else the store.
    library = saved_trials(_settings())
    if library is None:
        library = _tutor().trials()
    if as_json:
        print(json.dumps([t.model_dump() for t in library], indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{len(library)} trial(s) in the library")
    for column in ("trial", "year", "journal", "sample", "chunks"):
        table.add_column(column, justify="right" if column in ("sample", "chunks") else "left")
    for t in library:
        table.add_row(t.name, t.year or "-", t.journal or "-", t.sample or "-", str(t.chunks))
    out.print(table)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="address to bind; default TUTOR_HOST (127.0.0.1, this machine only)")] = None,
    port: Annotated[Optional[int], typer.Option(min=1, max=65535, help="port; default TUTOR_PORT (7860)")] = None,
):
    """Serve the browser chat (and its API: /ask, /takeaways) until Ctrl+C.

    With TUTOR_AUTH_FILE set, the page and its API ask for a name and password (`tutor users add`)."""
    from tutor import auth

    settings = _settings()  # a bad setting fails before gradio imports
    host = host or settings.host
    login = auth.checker(settings.auth_file) if settings.auth_file else None  # a bad users file fails now
    warning = auth.exposure_warning(host, settings.auth_file)
    if warning:
        err.print(f"[bold red]{warning}[/bold red]", highlight=False, markup=True)
    # The tutor loads before the page is served (the first answer is quick), and before gradio is imported:
    # a store or model error fails first, and loading the model peaks before gradio's memory is added.
    tutor = _tutor()
    from tutor.app import build_app, launch

    demo = build_app(tutor)
    # What start-up built lives as long as the server: frozen, out of the collector's sight, a full
    # collection no longer walks its ~300,000 objects (160 ms at load 2, a pause in whichever turn met it).
    gc.freeze()
    url = launch(demo, host, port or settings.port, auth=login)
    out.print(f"Trial Tutor is serving at {url} (Ctrl+C to stop)", highlight=False)
    sys.stdout.flush()  # seen at once even when stdout is a pipe or a log file
    demo.block_thread()


@app.command()
def bench(
    only: Annotated[str, typer.Option(help="comma-separated sections: ingest,retrieval,turn,baseline,cold,load,scale")] = "all",
    turns: Annotated[int, typer.Option(min=1, help="timed questions after warm-up (turn section)")] = 100,
    users: Annotated[str, typer.Option(help="concurrent users per load level")] = "1,8,32",
    scale: Annotated[str, typer.Option(help="knowledge base multiples for the scale section")] = "1,10,100",
    questions: Annotated[Optional[Path], typer.Option(help="eval set (.jsonl); default evals/dev.jsonl or a built-in list")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="folder for bench.json and bench.md; default evals/bench")] = None,
    as_json: JsonOpt = False,
):
    """Measure speed and scale; print the figures, write JSON and a Markdown table."""
    from tutor.bench import SECTIONS, Bench, load_questions, write
    from tutor.errors import InputError
    from tutor.settings import PROJECT_ROOT

    sections = list(SECTIONS) if only == "all" else [s.strip() for s in only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        raise InputError(f"unknown bench section {', '.join(unknown) or repr(only)}; choose from {', '.join(SECTIONS)} or all")
    try:
        levels = tuple(int(n) for n in users.split(","))
        factors = tuple(int(n) for n in scale.split(","))
    except ValueError:
        raise InputError("--users and --scale take comma-separated whole numbers, e.g. 1,8,32") from None
    if questions is not None and not questions.is_file():
        raise InputError(f"{questions}: no such eval set; give a .jsonl file")
    asked, source = load_questions(questions)
    runner = Bench(_settings(), asked, say=lambda line: err.print(f"[dim]{line}[/dim]", highlight=False),
                   turns=turns, users=levels, factors=factors, questions_from=source)
    results = runner.run(sections)
    json_path, md_path = write(results, out_dir or PROJECT_ROOT / "evals" / "bench")
    if as_json:
        print(json.dumps(results, indent=2))
        return
    if turn := results.get("turn"):
        out.print(f"ask latency over {turn['turns']} turns, model={turn['model']}: "
                  f"p50 {turn['p50_ms']:.1f} ms, p95 {turn['p95_ms']:.1f} ms, max {turn['max_ms']:.1f} ms", highlight=False)
    for target in results["targets"]:
        bound = "at least" if target.get("kind") == "min" else "at most"
        out.print(f"{target['target']}: {target['value']} {target['unit']} ({bound} {target['limit']:g} {target['unit']}): "
                  f"{'met' if target['met'] else 'MISSED'}", highlight=False)
    for row in results.get("versus_baseline", []):
        out.print(f"vs baseline: {row['figure']}: {row['tutor']} / {row['baseline']} = {row['ratio']}", highlight=False)
    out.print(f"written: {md_path} and {json_path}", highlight=False)
    failed = [name for name in sections if "error" in results.get(name, {})]
    for name in failed:
        err.print(f"[red]error:[/red] bench section {name} failed: {results[name]['error']}", highlight=False)
    if failed:
        raise typer.Exit(1)


ROLE_ABBREVIATIONS = {"med_student": "MS", "resident": "Res", "fellow": "Fel", "attending": "Att",
                      "phd": "PhD", "journal_editor": "Ed", "guideline_committee": "GC"}


@app.command("eval")
def eval_(
    dataset: Annotated[Optional[list[Path]], typer.Option("--dataset", "-d", help="eval set (.jsonl), repeatable; default evals/dev.jsonl and evals/heldout.jsonl")] = None,
    model: Annotated[Optional[str], typer.Option(help="offline, mock or openai; default TUTOR_MODEL")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="folder for results.jsonl, summary.json, report.md; default evals/runs/latest")] = None,
    check: Annotated[bool, typer.Option("--check", help="exit 2 when a metric falls short of its threshold")] = False,
    thresholds: Annotated[Optional[Path], typer.Option(help="thresholds file; default evals/thresholds.json")] = None,
    baseline: Annotated[Optional[Path], typer.Option(help="summary.json of an earlier run, to show the change")] = None,
    all_sets: Annotated[bool, typer.Option("--all", help="every eval set of the library (per trial, cross-trial, paraphrase, off-topic, specialty), not only dev and held-out")] = False,
    fit_scope: Annotated[bool, typer.Option("--fit-scope", help="refit the in-scope model (tutor/data/scope.json) on the tune split of the sets and the tune pages of evals/scope-pages.json, then report each one's figures")] = False,
    leave_one_out: Annotated[bool, typer.Option("--leave-one-out", help="per trial: refit the in-scope model without any case about it, then score its cases")] = False,
    grading: Annotated[Optional[list[Path]], typer.Option(help="graded practice answers (.jsonl), repeatable; default evals/grading.jsonl and the independent and blind grading sets when no --dataset is given")] = None,
    no_grading: Annotated[bool, typer.Option("--no-grading", help="skip the grading-agreement eval")] = False,
):
    """Run eval sets through the tutor; score retrieval, answers, grounding, scope, roles, latency, and the
    practice grader's agreement with expected verdicts."""
    chosen_sets = dataset is not None  # only the sets named: no grading eval unless --grading names one
    if all_sets:
        from tutor.evaluate import ALL_DATASETS

        dataset = [*(dataset or []), *ALL_DATASETS]
    if fit_scope or leave_one_out:
        return _tune(dataset, model, fit_scope)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from tutor import evaluate as ev
    from tutor.tutor import Tutor

    datasets = list(dataset or ev.DEFAULT_DATASETS)
    cases = ev.load_cases(datasets)  # a bad file fails here, before the model loads
    limits = ev.load_thresholds(thresholds) if check or thresholds else None
    before = ev.load_summary(baseline) if baseline else None
    settings = ev.settings_for(_settings(), model)
    with err.status("Loading the tutor (embeddings, store)..."):
        tutor = Tutor(settings)
    with Progress(TextColumn("Evaluating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("eval", total=len(cases))
        results, summary = ev.evaluate(tutor, cases, datasets,
                                       progress=lambda done, total: bar.update(task, completed=done))
    failures = ev.check(summary, limits) if limits is not None else None
    graded = _grading_eval(tutor, grading, no_grading or (chosen_sets and grading is None), limits,
                           out_dir or ev.DEFAULT_OUT)
    if graded is not None and failures is not None:
        failures += graded
    paths = ev.write_run(out_dir or ev.DEFAULT_OUT, results, summary, limits, failures, before)

    # Metrics down, roles across: fits an 80-column terminal or CI log.
    table = Table(title=f"{summary['cases']} cases, model {summary['model']}, k={summary['top_k']}",
                  caption="MS Medical Student, Res Resident, Fel Fellow, Att Attending, Ed Journal Editor, "
                          "GC Guideline Committee", padding=(0, 1))
    columns = [("all", summary["overall"]), *((ROLE_ABBREVIATIONS.get(r, r), v) for r, v in summary["by_role"].items())]
    table.add_column("metric", no_wrap=True)
    for label, _ in columns:
        table.add_column(label, justify="right", no_wrap=True)
    for name in [n for n in ev.METRICS if n != "fact_recall_at_k"]:
        table.add_row(ev.short_name(name, summary["top_k"]), *(ev._fmt(name, values.get(name)) for _, values in columns))
    out.print(table)
    if before is not None:
        changes = [f"{row['metric']} {row['change']:+.3f}" for row in ev.compare(summary, before)
                   if row["change"] and not row["metric"].endswith("_ms")]
        out.print(f"change against {baseline}: {', '.join(changes) or 'none'}", highlight=False)
    out.print(f"written: {paths['report']}, {paths['summary']}, {paths['results']}", highlight=False)
    if failures:
        err.print(f"[red]eval check failed:[/red] {'; '.join(failures)}", highlight=False)
        raise typer.Exit(2)
    if failures is not None:
        out.print("eval check passed: every metric meets its threshold", highlight=False)


def _tune(dataset: Optional[list[Path]], model: Optional[str], fit: bool) -> None:
    """`tutor eval --fit-scope` and `--leave-one-out` (tutor/tuning.py)."""
    from tutor import evaluate as ev
    from tutor import tuning
    from tutor.tutor import Tutor

    datasets = list(dataset or ev.ALL_DATASETS)
    cases = ev.load_cases(datasets)
    with err.status("Loading the tutor (embeddings, store)..."):
        tutor = Tutor(ev.settings_for(_settings(), model))
    with err.status("Reading the tune pages of other fields, each in a library with knowledge/...") as status:
        pages = tuning.page_rows(tutor.settings, progress=lambda n, total: status.update(
            f"Reading the tune pages of other fields, each in a library with knowledge/: {n} of {total} done..."))
    with err.status(f"Reading {len(cases)} cases..."):
        if fit:
            figures = tuning.fit_scope(tutor, cases, pages=pages)
            for split, values in figures.items():
                label = split if split.startswith("page ") else f"{split} split"
                out.print(f"scope model, {label}: " + ", ".join(f"{k} {v}" for k, v in values.items()), highlight=False)
            out.print("written: tutor/data/scope.json", highlight=False)
            return
        report = tuning.leave_one_out(tutor, cases, datasets, pages=pages)
    names = ["fact_coverage", "lead_accuracy", "scope_accuracy", "false_refusal", "false_answer", "citation_validity"]
    # A Markdown table: whole in a terminal of any width and in a CI log, and pastes into a note.
    print("Leave one trial out: each trial scored with a scope model fitted without any case about it\n")
    print("| trial | tuned on | cases | facts | lead | scope | false refusals | false answers | citations |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for trial, row in report.items():
        print(f"| {trial} | {row['tuned_on']} | {row['held_out']} | "
              + " | ".join(ev._fmt(n, row["overall"].get(n)) for n in names) + " |")


def _grading_eval(tutor, paths: list[Path] | None, skip: bool, limits: dict | None, out_dir: Path) -> list[str] | None:
    """Grading agreement of each grading set, on its tune and held-out splits; the failures against
    thresholds["grading"]."""
    if skip:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tutor import grading_eval as ge

    sets = [(path, ge.load_grading(path)) for path in (paths or ge.GRADING_SETS)]  # a bad file fails before grading
    failures: list[str] = []
    for path, cases in sets:
        name = ge.set_key(path)
        with Progress(TextColumn(f"Grading practice answers ({name})"), BarColumn(), MofNCompleteColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("grade", total=len(cases))
            result = ge.run_grading(tutor, cases, progress=lambda done, total: bar.update(task, completed=done))
        for split, label in (("tune", "tune"), ("test", "held-out"), ("overall", "all")):
            m = result[split]
            if m["cases"] and not (split == "overall" and m["cases"] in (result["tune"]["cases"], result["test"]["cases"])):
                out.print(f"grading agreement, {name} ({label}, {m['cases']} answers): verdict accuracy "
                          f"{m['verdict_accuracy']:.3f}, mean abs score error {m['score_mae']:.3f}, gaming graded "
                          f"correct {m['gaming_graded_correct']}", highlight=False)
        written = ge.write_grading(out_dir, result, Path(path).stem)
        out.print(f"written: {written}", highlight=False)
        if limits is not None:
            failures += ge.check_grading(result, limits, path)
    return failures


@app.command()
def doctor(
    no_chat: Annotated[bool, typer.Option("--no-chat", help="send no chat request (spends no tokens)")] = False,
):
    """Check the settings and, for TUTOR_MODEL=openai, that the server answers, serves the model and
    completes a 1-token chat request."""
    from tutor.doctor import run

    checks = run(chat=not no_chat)
    for check in checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        out.print(f"{mark} {check.name}: {check.detail}", highlight=False, soft_wrap=True)
    if not all(check.ok for check in checks):
        raise typer.Exit(2)


# -- practice: the tutor asks, the learner answers, the tutor grades ------------------------------------

practice_app = typer.Typer(add_completion=False, invoke_without_command=True,
                           help="Practise: answer the tutor's questions and get them graded point by point.")
app.add_typer(practice_app, name="practice")
KindOpt = Annotated[Optional[str], typer.Option("--kind", "-k", help="discussion, recall or appraisal")]


def _item_json(item, role: str | None = None) -> dict:
    return {"id": item.id, "trial": item.trial, "role": item.role or role or "", "kind": item.kind,
            "question": item.question, "points": len(item.rubric.points),
            "passages": [p.section for p in item.passages]}


def _print_grade(grade) -> None:
    marks = {"covered": "[green]covered[/green]", "partly": "[yellow]partly[/yellow]", "missed": "[red]missed[/red]",
             "incorrect": "[red]not right[/red]"}
    out.print(f"[bold]{grade.verdict.upper()}[/bold]  score {grade.score:.2f}  (graded {grade.grader})", highlight=False)
    if grade.note:
        err.print(f"[yellow]note:[/yellow] {grade.note}", highlight=False)
    for point in grade.points:
        why = f" ({point.note})" if point.note else ""
        out.print(f"  {marks[point.status]} {point.citation} {point.text}{why}", highlight=False)
    out.print(grade.feedback, highlight=False)
    if grade.hint:
        out.print(f"[bold]Hint:[/bold] {grade.hint}", highlight=False)
    if grade.revealed:
        out.print(f"[bold]Model answer:[/bold] {grade.model_answer}", highlight=False)
        for source in grade.sources:
            out.print(f"  [{source['n']}] {source['section']}: {source['text']}", highlight=False)


@practice_app.callback()
def practice(ctx: typer.Context, role: Annotated[Optional[str], typer.Option("--role", "-r", help="learner role id")] = None,
             trial: TrialOpt = None):
    """Without a subcommand: an interactive practice loop in the terminal (needs --role)."""
    if ctx.invoked_subcommand is not None:
        return
    if not role:
        raise InputError_("--role is needed for practice, e.g. `tutor practice --role resident`")
    _check_role(role)
    tutor = _tutor()
    seen: list[str] = []
    tally: list[float] = []
    out.print("Practice: answer in a few sentences. Commands: [bold]hint[/bold] is given after a try; "
              "type [bold]answer[/bold] to see the model answer, [bold]next[/bold] to move on, [bold]quit[/bold] to stop.",
              highlight=False)
    while True:
        item = tutor.practice.next(role, trial, seen)
        seen.append(item.id)
        out.print(f"\n[bold]{item.trial} · {item.kind}[/bold] ({item.id})\n{item.question}", highlight=False)
        tries = 0
        while True:
            try:
                answer = typer.prompt("Your answer", default="", show_default=False).strip()
            except (EOFError, typer.Abort):
                answer = "quit"
            if answer.lower() in ("quit", "q", "exit"):
                if tally:
                    out.print(f"{len(tally)} item(s) tried, average score {sum(tally) / len(tally):.2f}", highlight=False)
                return
            if answer.lower() in ("next", "n", "skip"):
                break
            reveal = answer.lower() in ("answer", "a", "show")
            if reveal and not tries:
                out.print(f"[bold]Model answer:[/bold] {item.model_answer}", highlight=False)
                break
            if reveal:
                grade = tutor.practice.grade(item.id, last, role, reveal=True)
                _print_grade(grade)
                break
            if not answer:
                continue
            tries += 1
            last = answer
            grade = tutor.practice.grade(item.id, answer, role, reveal=tries >= 2)
            _print_grade(grade)
            if grade.verdict == "correct" or grade.revealed:
                tally.append(grade.score)
                break
            if tries == 1:
                tally.append(grade.score)
            out.print("Try again, or type answer / next.", highlight=False)


def InputError_(message: str):
    from tutor.errors import InputError

    return InputError(message)


@practice_app.command("list")
def practice_list(role: Annotated[Optional[str], typer.Option("--role", "-r", help="learner role id")] = None,
                  trial: TrialOpt = None, kind: KindOpt = None, as_json: JsonOpt = False):
    """List practice items: each role's discussion question, and recall and appraisal items from each page."""
    if role:
        _check_role(role)
    items = _tutor().practice.items(role, trial, kind)
    if as_json:
        print(json.dumps([_item_json(i, role) for i in items], indent=2))
        return
    for item in items:
        out.print(f"[bold]{item.id}[/bold]  {item.kind}: {item.question}", highlight=False)


@practice_app.command("next")
def practice_next(role: RoleOpt = "resident", trial: TrialOpt = None,
                  seen: Annotated[Optional[list[str]], typer.Option("--seen", help="an item already done; repeatable")] = None,
                  as_json: JsonOpt = False):
    """The next practice item for a role: the first not among --seen."""
    _check_role(role)
    item = _tutor().practice.next(role, trial, seen or [])
    if as_json:
        print(json.dumps(_item_json(item, role), indent=2))
        return
    out.print(f"[bold]{item.id}[/bold] ({item.trial}, {item.kind})\n{item.question}", highlight=False)


@practice_app.command("grade")
def practice_grade(item_id: Annotated[str, typer.Argument(help="the item's id (see `tutor practice list`)")],
                   answer: Annotated[str, typer.Argument(help="your answer, in quotes")],
                   role: RoleOpt = "resident",
                   reveal: Annotated[bool, typer.Option("--reveal", help="teach every gap and show the model answer")] = False,
                   as_json: JsonOpt = False):
    """Grade an answer point by point: covered, partly, missed or not right; a hint; the gaps taught on --reveal."""
    from tutor.grading import clean_answer

    clean_answer(answer)  # fail fast, before the model loads
    _check_role(role)
    grade = _tutor().practice.grade(item_id, answer, role, reveal=reveal)
    if as_json:
        print(grade.model_dump_json(indent=2))
        return
    _print_grade(grade)
from tutor.records_cli import db_app, feedback_app  # noqa: E402  (learner records: tutor feedback, tutor db)

users_app = typer.Typer(no_args_is_help=True, help="Users of the page's optional login (the file TUTOR_AUTH_FILE names).")
app.add_typer(users_app, name="users")


def _auth_file() -> Path:
    path = _settings().auth_file
    if path is None:
        from tutor.errors import ConfigError

        raise ConfigError("TUTOR_AUTH_FILE is not set; set it to the users file to write, e.g. "
                          "TUTOR_AUTH_FILE=.tutor/users (in the environment or .env)")
    return path


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="the user's name: letters, digits, '.', '_', '@' or '-'")],
              password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from the first line of stdin")] = False):
    """Add a user (or set a user's new password); asks for the password twice."""
    from tutor import auth

    path = _auth_file()
    auth.check_name(name)
    auth.read_users(path)  # a broken file is named before a password is asked for
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    new = auth.add_user(path, name, password)
    out.print(f"{'added' if new else 'changed the password of'} {name} in {path}", highlight=False)


@users_app.command("list")
def users_list():
    """The users who may sign in."""
    from tutor import auth

    path = _auth_file()
    names = sorted(auth.read_users(path))
    if not names:
        err.print(f"no users in {path}; add one with `tutor users add NAME`", highlight=False)
    for name in names:
        print(name)


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(help="the user to remove")]):
    """Remove a user: their next sign-in is refused."""
    from tutor import auth

    path = _auth_file()
    auth.remove_user(path, name)
    out.print(f"removed {name} from {path}", highlight=False)

app.add_typer(feedback_app, name="feedback")
app.add_typer(db_app, name="db")


def main() -> None:
    try:
        # Without standalone mode click returns typer.Exit's code instead of exiting.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except TutorError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors and the unexpected: one line, never a traceback
        import click
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        if os.environ.get("TUTOR_DEBUG"):
            raise
        err.print(f"[red]error:[/red] unexpected {type(exc).__name__}: {exc} (set TUTOR_DEBUG=1 for the traceback)",
                  highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
