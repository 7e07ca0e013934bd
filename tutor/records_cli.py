"""`tutor feedback ...` and `tutor db ...`: learner feedback for faculty, and the records database's schema.

Thin: parse, call tutor.feedback, print. Errors are TutorErrors, printed by the CLI as one line (exit 2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

feedback_app = typer.Typer(no_args_is_help=True, help="Learner feedback on answers: add, list, export, stats, purge.")
db_app = typer.Typer(no_args_is_help=True, help="The learner-records database (TUTOR_DATABASE_URL).")

SinceOpt = Annotated[Optional[str], typer.Option(help="only records made on or after this date (YYYY-MM-DD) or ISO time")]
TrialFilter = Annotated[Optional[str], typer.Option("--trial", "-t", help="only records about this trial")]
RoleFilter = Annotated[Optional[str], typer.Option("--role", "-r", help="only records from this role id, e.g. resident")]
RatingFilter = Annotated[Optional[str], typer.Option(help="only up or only down")]
ModelFilter = Annotated[Optional[str], typer.Option(help="only answers by this model (as recorded, e.g. offline)")]
KindFilter = Annotated[Optional[str], typer.Option(help="only answer or only grade feedback")]


def _records():
    from tutor.cli import _settings
    from tutor.feedback import Records

    return Records(_settings())


def _filters(since, trial, role, rating, model, kind):
    from tutor.errors import InputError
    from tutor.feedback import Filters, clean_rating, parse_when

    if kind not in (None, "answer", "grade"):
        raise InputError(f"--kind must be answer or grade, not {kind!r}")
    return Filters(since=parse_when(since) if since else None, trial=trial, role=role,
                   rating=clean_rating(rating) if rating else None, model=model, kind=kind)


@feedback_app.command("add")
def add(
    question: Annotated[str, typer.Argument(help="the question that was answered")],
    rating: Annotated[str, typer.Option(help="up or down")],
    comment: Annotated[str, typer.Option(help="what was wrong or unclear (optional)")] = "",
    answer_file: Annotated[Optional[Path], typer.Option("--answer", help="the answer as `tutor ask --json` wrote it; "
                                                        "default: ask the question now")] = None,
    role: Annotated[str, typer.Option("--role", "-r", help="learner role id (when the question is asked now)")] = "resident",
    specialty: Annotated[Optional[str], typer.Option("--specialty", "-s", help="specialty (when asked now)")] = None,
    trial: TrialFilter = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the stored record as JSON")] = False,
):
    """Record a thumbs up or down on an answer, with its question, passages and flags."""
    from tutor.errors import InputError
    from tutor.feedback import Feedback, clean_comment, clean_rating
    from tutor.schema import Answer
    from tutor.tutor import clean_question

    question = clean_question(question)
    rating = clean_rating(rating)
    comment = clean_comment(comment)
    if answer_file is not None:
        try:
            answer = Answer.model_validate_json(answer_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"{answer_file}: cannot be read ({exc.strerror}); give the file `tutor ask --json` wrote") from None
        except ValueError:
            raise InputError(f"{answer_file} is not an answer; write one with `tutor ask \"...\" --json > answer.json`") from None
    else:
        from tutor.cli import _check_role, _tutor

        _check_role(role)
        answer = _tutor().ask(question, role, specialty, trial=trial)
    stored = _records().add(Feedback.for_answer(question, answer, rating, comment, trial=trial))
    if as_json:
        print(stored.model_dump_json(indent=2))
        return
    from tutor.cli import out

    out.print(f"saved feedback {stored.id} ({stored.rating}) in {_records().where}", highlight=False)


@feedback_app.command("list")
def list_(
    since: SinceOpt = None, trial: TrialFilter = None, role: RoleFilter = None, rating: RatingFilter = None,
    model: ModelFilter = None, kind: KindFilter = None,
    limit: Annotated[int, typer.Option(min=0, help="at most this many, newest first; 0 = all")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON array of whole records")] = False,
):
    """List feedback, newest first: rating, trial, role, question and comment (--json: everything)."""
    records = _records().list(_filters(since, trial, role, rating, model, kind), limit=limit or None)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in records], indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    from tutor.cli import out

    table = Table(title=f"{len(records)} feedback record(s)")
    for column in ("when (UTC)", "rating", "trials", "role", "question", "comment"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(r.created_at.strftime("%Y-%m-%d %H:%M"), r.rating,
                      ", ".join(r.trials) or "-", r.role, r.question[:80], r.comment[:120] or "-")
    out.print(table)


@feedback_app.command("export")
def export(
    format: Annotated[str, typer.Option("--format", "-f", help="csv or jsonl")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--out", "-o", help="file to write; default standard output")] = None,
    since: SinceOpt = None, trial: TrialFilter = None, role: RoleFilter = None, rating: RatingFilter = None,
    model: ModelFilter = None, kind: KindFilter = None,
):
    """Export every matching record, with its question, answer and passages, as CSV or JSON Lines."""
    from tutor.errors import InputError
    from tutor.feedback import to_csv, to_jsonl

    if format not in ("csv", "jsonl"):
        raise InputError(f"--format must be csv or jsonl, not {format!r}")
    records = _records().list(_filters(since, trial, role, rating, model, kind))
    text = to_csv(records) if format == "csv" else to_jsonl(records)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{output}: cannot be written ({exc.strerror}); choose another --out") from None
    from tutor.cli import err

    err.print(f"wrote {len(records)} record(s) to {output}", highlight=False)


@feedback_app.command("stats")
def stats(
    since: SinceOpt = None, trial: TrialFilter = None, role: RoleFilter = None, model: ModelFilter = None,
    kind: KindFilter = None,
    top: Annotated[int, typer.Option(min=1, help="how many of the most disliked answers to show")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
):
    """Counts by rating, trial, role and model, and the answers disliked most with their comments."""
    result = _records().stats(_filters(since, trial, role, None, model, kind), top=top)
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    from tutor.cli import out

    out.print(f"{result['total']} record(s): {result['by_rating']['up']} up, {result['by_rating']['down']} down",
              highlight=False)
    for name in ("trial", "role", "model"):
        table = Table(title=f"by {name}")
        for column in (name, "up", "down"):
            table.add_column(column, justify="left" if column == name else "right")
        for key, counts in result[f"by_{name}"].items():
            table.add_row(key or "-", str(counts["up"]), str(counts["down"]))
        out.print(table)
    if result["most_disliked"]:
        out.print("[bold]Most disliked answers[/bold]")
        for n, item in enumerate(result["most_disliked"], 1):
            out.print(f"{n}. {item['dislikes']} x down ({', '.join(item['trials']) or 'no trial'}): {item['question']}",
                      highlight=False)
            for comment in item["comments"][:3]:
                out.print(f"   - \"{comment[:200]}\"", highlight=False)


@feedback_app.command("purge")
def purge(
    before: Annotated[Optional[str], typer.Option(help="delete records made before this date (YYYY-MM-DD); "
                                                  "default: older than TUTOR_FEEDBACK_RETENTION_DAYS")] = None,
):
    """Delete old feedback: made before --before, or past the retention setting."""
    from tutor.feedback import parse_when

    records = _records()
    if before:
        removed, why = records.purge(parse_when(before, "--before")), f"made before {before}"
    else:
        days = records.settings.feedback_retention_days
        if not days:
            from tutor.cli import out

            out.print("TUTOR_FEEDBACK_RETENTION_DAYS=0 keeps feedback forever; give --before DATE to purge", highlight=False)
            return
        removed, why = records.purge_expired(), f"older than {days} days (TUTOR_FEEDBACK_RETENTION_DAYS)"
    from tutor.cli import out

    out.print(f"deleted {removed} feedback record(s) {why}", highlight=False)


@db_app.command("upgrade")
def upgrade():
    """Create or update the records database's tables (also done when `tutor serve` starts)."""
    from tutor.cli import out
    from tutor.database import current_revision

    records = _records()
    records.db.ready()
    out.print(f"{records.where} is at schema revision {current_revision(records.db.engine)} (newest)", highlight=False)
