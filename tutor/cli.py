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

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Trial Tutor: learn the EMILIA trial, framed for your training stage.")
out = Console()
err = Console(stderr=True)

RoleOpt = Annotated[str, typer.Option("--role", "-r", help="learner role id, e.g. resident (see `tutor roles`)")]
SpecialtyOpt = Annotated[Optional[str], typer.Option("--specialty", "-s", help="free text, e.g. 'oncology pharmacy'")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object")]


def _settings():
    from tutor.settings import get_settings

    return get_settings()


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
    as_json: JsonOpt = False,
):
    """Ask one question; the answer streams with numbered citations and its sources."""
    from tutor.roles import clean_specialty
    from tutor.tutor import clean_question

    clean_question(question)  # fail fast, before the model loads
    clean_specialty(specialty)
    tutor = _tutor()
    if as_json:
        answer = tutor.ask(question, role, specialty)
        print(answer.model_dump_json(indent=2))
        return
    answer = None
    for part in tutor.stream(question, role, specialty):
        if isinstance(part, str):
            out.out(part, end="", highlight=False)
        else:
            answer = part
    out.print()
    if answer and answer.sources:
        out.print("\n[bold]Sources[/bold]")
        for n, source in enumerate(answer.sources, 1):
            mark = "*" if source.id in answer.citations else " "
            out.print(f"{mark}[{n}] {source.document} > {source.section} (similarity {source.score:.2f})", highlight=False)
    if answer and answer.unverified_numbers:
        err.print(f"[yellow]warning:[/yellow] numbers not found in any source: {', '.join(answer.unverified_numbers)}")
    out.print("[dim]Educational use only; not medical advice.[/dim]")


@app.command()
def takeaways(role: RoleOpt = "resident", specialty: SpecialtyOpt = None, as_json: JsonOpt = False):
    """3 to 5 personalised, cited takeaways for a learner."""
    from tutor.roles import clean_specialty

    clean_specialty(specialty)
    result = _tutor().takeaways(role, specialty)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    out.print(f"[bold]Takeaways for {result.role}{' in ' + result.specialty if result.specialty else ''}[/bold]")
    for item in result.takeaways:
        out.print(f"- {item.text}", highlight=False)


@app.command()
def bench(
    turns: Annotated[int, typer.Option(help="timed questions after warm-up")] = 100,
    as_json: JsonOpt = False,
):
    """Warm in-process `ask` latency (p50/p95) on the configured model."""
    from tutor.bench import ask_latency

    result = ask_latency(_tutor(), turns, progress=err)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        out.print(f"ask latency over {result['turns']} turns, model={result['model']}: "
                  f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, max {result['max_ms']:.1f} ms "
                  f"(target p95 < 100 ms: {'met' if result['p95_ms'] < 100 else 'missed'})")


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
