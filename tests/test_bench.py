"""`tutor bench` as a user runs it: figures printed, JSON and Markdown written (no timed assertions)."""

import json
import os
import random

from tests.conftest import ROOT, run_cli
from tutor.bench import BUILTIN, Bench, grow_knowledge, load_questions, markdown
from tutor.evaluate import load_cases
from tutor.knowledge import Splitter, find_files, load_document

TINY = """---
title: TINY trial summary
trial: TINY
---

# TINY trial summary

## Key Findings

Drug A improved median progression-free survival to 9.6 months compared to 6.4 months with drug B.

## Study Design

An open-label trial of 991 patients with drug A given every 3 weeks.
"""


def test_bench_writes_json_and_markdown_with_hit_at_k_from_the_eval_set(tmp_path):
    evals = tmp_path / "dev.jsonl"
    rows = [
        {"id": "pfs", "role": "resident", "question": "What was the median progression-free survival with T-DM1?",
         "expected_facts": ["9.6|nine point six", "6.4"], "out_of_scope": False},
        {"id": "absent", "role": "phd", "question": "What was the overall survival hazard ratio?",
         "expected_facts": ["a fact no source holds"], "out_of_scope": False},
        {"id": "off", "role": "fellow", "question": "How do I cook pasta?", "expected_facts": [], "out_of_scope": True},
    ]
    evals.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "bench"
    result = run_cli("bench", "--only", "retrieval,turn", "--turns", "5", "--questions", str(evals), "--out", str(out),
                     env={"TUTOR_DATA_DIR": str(tmp_path / "chroma")})
    assert result.returncode == 0, result.stderr
    assert "ask latency over 5 turns" in result.stdout and "p95" in result.stdout

    data = json.loads((out / "bench.json").read_text())
    assert data["sections"] == ["retrieval", "turn"] and "ingest" not in data
    assert data["machine"]["cores"] >= 1 and data["machine"]["torch"]
    retrieval = data["retrieval"]
    assert retrieval["answerable_questions"] == 2
    for mode in ("dense", "keyword", "hybrid"):
        assert retrieval[mode]["hit@4"] == 0.5  # one question's fact is in the sources, the other's nowhere
        assert retrieval[mode]["p50_ms"] <= retrieval[mode]["p95_ms"] <= retrieval[mode]["p99_ms"]
    assert data["turn"]["turns"] == 5 and set(data["turn"]["share"]) >= {"embed", "search", "generate", "guard"}

    table = (out / "bench.md").read_text()
    assert "| hybrid |" in table and "## A whole turn" in table
    assert f"{data['machine']['cores']} cores" in table  # the machine the figures were measured on


def test_an_unknown_section_is_one_line_naming_the_choices(tmp_path):
    result = run_cli("bench", "--only", "retrieval,speed", "--out", str(tmp_path))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "speed" in result.stderr and "ingest, retrieval, turn, baseline, cold, load, scale" in result.stderr
    assert not (tmp_path / "bench.json").exists()


def test_the_scale_corpus_is_the_real_knowledge_multiplied(tmp_path):
    source = ROOT / "knowledge"
    splitter = Splitter()
    real = sum(len(splitter.split(load_document(p, source))) for p in find_files([source]))
    made = grow_knowledge(tmp_path, source, 10, random.Random(3))
    files = find_files([tmp_path])
    synthetic = [p for p in files if "synthetic" in p.parts]
    chunks = sum(len(splitter.split(load_document(p, tmp_path))) for p in files)
    assert made == len(files) == 10 * len(find_files([source]))
    assert 8 * real <= chunks <= 11 * real  # shuffled sentences can move a page's parts a little
    texts = [p.read_text(encoding="utf-8") for p in synthetic]
    assert len(set(texts)) == len(texts) and not any("(EMILIA Trial)" in t for t in texts)


def test_bench_reads_eval_sets_with_the_eval_loader():
    cases, label = load_questions(ROOT / "evals" / "heldout.jsonl")
    assert label == "evals/heldout.jsonl"
    assert cases == load_cases([ROOT / "evals" / "heldout.jsonl"])
    assert any(q.out_of_scope for q in BUILTIN) and all(q.expected_facts or q.must_not for q in BUILTIN if not q.out_of_scope)


def test_load_on_in_process_threads_answers_every_turn(settings, tutor):
    said = []
    runner = Bench(settings, BUILTIN, say=said.append, users=(1, 3), load_via="threads", load_turns=6,
                   load_seconds=60, tutor=tutor)
    results = runner.run(["load"])
    load = results["load"]
    assert "error" not in load, load
    assert load["target"] == "in-process Tutor threads"
    assert set(load["levels"]) == {"1", "3"}
    one, three = load["levels"]["1"], load["levels"]["3"]
    assert (one["users"], one["turns"]) == (1, 6) and (three["users"], three["turns"]) == (3, 9)  # >= 3 per user
    for level in (one, three):
        assert level["errors"] == 0 and level["first_errors"] == []
        assert level["turns_per_s"] > 0 and level["p50_ms"] <= level["p95_ms"]
        assert level["process_cpu_ms_per_turn"] > 0  # what a turn cost the cores, beside the wall clock
    assert set(load["speedup_vs_1_user"]) == {"1", "3"}
    for moment in ("start", "end"):
        assert set(results["system_load"][moment]) == {"1m", "5m", "15m", "cores"}
        assert results["system_load"][moment]["cores"] == os.cpu_count()
    table = markdown(results)
    assert "## Load: concurrent users (in-process Tutor threads)" in table and "System load average" in table
    assert "process CPU ms/turn" in table
    assert "load: 3 user(s) x 3 turns" in said


def test_a_machine_busier_than_its_cores_is_warned_about(settings, monkeypatch):
    cores = os.cpu_count()
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 1.5, cores + 1.0, 0.5))
    said = []
    results = Bench(settings, BUILTIN, say=said.append).run([])
    assert results["system_load"]["start"]["1m"] == cores + 1.5
    assert "inflated" in results["warning"] and any(line.startswith("warning: ") for line in said)
    assert f"**Warning: the system load average ({cores + 1.5} over 1 minute) exceeded the {cores} CPU cores" \
        in markdown(results)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    quiet = Bench(settings, BUILTIN, say=said.append).run([])
    assert "warning" not in quiet and "Warning" not in markdown(quiet)


def test_ingest_on_a_tiny_corpus_embeds_once_then_nothing(make_settings):
    settings = make_settings()
    (settings.knowledge_dir / "tiny.md").write_text(TINY, encoding="utf-8")
    results = Bench(settings, BUILTIN, say=lambda line: None, ingest_factor=3).run(["ingest"])
    ingest = results["ingest"]
    assert "error" not in ingest, ingest
    assert ingest["documents"] == 3 and ingest["store"] == "embedded"
    assert ingest["chunks"] >= 3 and ingest["cold"]["chunks_per_s"] > 0
    assert (ingest["warm"]["added"], ingest["warm"]["removed"]) == (0, 0)  # unchanged: nothing re-embedded
    assert ingest["store_mb"] > 0
    table = markdown(results)
    assert f"## Ingestion (3 documents, {ingest['chunks']} chunks, embedded)" in table
    assert not any(settings.data_dir.glob("*"))  # measured on a scratch store; the configured one is untouched
