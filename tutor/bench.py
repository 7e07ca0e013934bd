"""Benchmarks that print figures (never timed tests)."""

from __future__ import annotations

import statistics
import time

from tutor.models import model_label

QUESTIONS = [
    ("What was the median progression-free survival with T-DM1?", "resident"),
    ("What was the overall survival hazard ratio?", "phd"),
    ("How does T-DM1 work?", "med_student"),
    ("What doses were used in each arm?", "resident"),
    ("How externally valid is EMILIA?", "journal_editor"),
    ("How has sequencing shifted since DESTINY-Breast03?", "fellow"),
    ("What level of evidence did EMILIA provide?", "guideline_committee"),
    ("How did EMILIA change the quality of life paradigm?", "attending"),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ask_latency(tutor, turns: int = 100, progress=None) -> dict:
    for question, role in QUESTIONS:  # warm-up: first calls pay for lazy initialisation
        tutor.ask(question, role)
    samples: list[float] = []
    from rich.progress import track

    for i in track(range(turns), description="Timing ask", console=progress, transient=True):
        question, role = QUESTIONS[i % len(QUESTIONS)]
        t0 = time.perf_counter()
        tutor.ask(question, role)
        samples.append((time.perf_counter() - t0) * 1000)
    return {
        "turns": turns, "model": model_label(tutor.model),
        "p50_ms": statistics.median(samples), "p95_ms": percentile(samples, 95), "max_ms": max(samples),
    }
