"""The `tutor` command: parse, call the library, print. Errors: one line on stderr, exit 2."""

from __future__ import annotations

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

    from tutor.store import Store

    with err.status("Loading the embedding model..."):
        store = Store(_settings())
    with Progress(TextColumn("Embedding chunks"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar:
        task = bar.add_task("embed", total=None)
        report = store.ingest(paths or None, progress=lambda done, total: bar.update(task, completed=done, total=total))
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
    """Serve the browser chat (and its API: /ask, /takeaways) until Ctrl+C."""
    settings = _settings()  # a bad setting fails before gradio imports
    from tutor.app import build_app, launch

    demo = build_app(_tutor())  # the tutor loads before the page is served: the first answer is quick
    url = launch(demo, host or settings.host, port or settings.port)
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
):
    """Run eval sets through the tutor; score retrieval, answers, grounding, scope, roles, latency."""
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
