"""`tutor bench` as a user runs it: figures printed, JSON and Markdown written (no timed assertions)."""

import json
import random

from tests.conftest import ROOT, run_cli
from tutor.bench import grow_knowledge
from tutor.knowledge import Splitter, find_files, load_document


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
    assert "speed" in result.stderr and "ingest, retrieval, turn, cold, load, scale" in result.stderr
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
    assert 9 * real <= chunks <= 11 * real
    texts = [p.read_text(encoding="utf-8") for p in synthetic]
    assert len(set(texts)) == len(texts) and not any("EMILIA" in t for t in texts)
