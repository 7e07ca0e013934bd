"""The CLI as a user runs it: JSON answers, takeaways, and one-line errors with exit status 2."""

import json

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return {"TUTOR_DATA_DIR": str(tmp_path_factory.mktemp("cli-store"))}


def test_ask_json_gives_the_pfs_numbers_with_a_citation_holding_them(env):
    result = run_cli("ask", "What was the median progression-free survival with T-DM1?", "--role", "resident",
                     "--json", env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) >= {"answer", "in_scope", "sources", "citations", "role", "specialty", "model", "timings_ms"}
    assert "9.6" in answer["answer"] and "6.4 months" in answer["answer"]
    cited = [s for s in answer["sources"] if s["id"] in answer["citations"]]
    assert any("9.6" in s["text"] and "6.4" in s["text"] for s in cited)
    assert answer["in_scope"] is True and answer["model"] == "offline"


def test_takeaways_json_lists_cited_takeaways(env):
    result = run_cli("takeaways", "--role", "phd", "--specialty", "biostatistics", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert 3 <= len(data["takeaways"]) <= 5
    assert all(item["citations"] for item in data["takeaways"])


@pytest.mark.parametrize("args,message", [
    (["ask", "   ", "--role", "resident"], "empty"),
    (["ask", "What was PFS?", "--role", "nurse"], "choose one of"),
    (["ask", "What was PFS?", "--specialty", "y" * 101], "100"),
])
def test_errors_are_one_line_on_stderr_with_status_2(env, args, message):
    result = run_cli(*args, env=env)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
