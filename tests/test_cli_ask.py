"""The CLI as a user runs it: JSON answers, takeaways, and one-line errors with exit status 2."""

import json

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return {"TUTOR_DATA_DIR": str(tmp_path_factory.mktemp("cli-store")), "TUTOR_MODEL": "offline",
            "TUTOR_EMBEDDING_BACKEND": "local"}  # a developer's .env cannot make these networked


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


@pytest.mark.parametrize("args", [["ask", "What was PFS?"], ["takeaways"], ["serve"], ["eval"],
                                  ["bench", "--only", "turn"]])
def test_a_bad_setting_is_one_line_naming_the_variable_and_its_range(env, args):
    result = run_cli(*args, env={**env, "TUTOR_TOP_K": "0"})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: TUTOR_TOP_K=0 is not allowed: use a whole number from 1 to 20 (fix it in the environment or .env)"]


def test_an_unknown_role_fails_before_the_tutor_loads(tmp_path):
    store = tmp_path / "never-built"
    result = run_cli("ask", "What was PFS?", "--role", "nurse",
                     env={"TUTOR_DATA_DIR": str(store), "TUTOR_MODEL": "offline"})
    assert result.returncode == 2 and "unknown role 'nurse'; choose one of: med_student" in result.stderr
    assert not store.exists()  # no embedding model loaded, no store opened


def test_piped_output_is_not_wrapped_at_80_columns(env):
    result = run_cli("roles", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 7 and max(map(len, lines)) > 80  # one line per role, however long
    assert all(line.split()[0] in {"med_student", "resident", "fellow", "attending", "phd", "journal_editor",
                                   "guideline_committee"} for line in lines)
