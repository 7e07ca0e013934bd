"""The ONNX serving path: the same vectors as torch, no torch when answering, light commands stay light,
and a collection holds the vectors of one embedder only. No test here times anything."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, run_cli
from tutor.errors import ConfigError, StoreError

TEXTS = [
    "Was the trial blinded?",
    "What was the hazard ratio for overall survival, and how should a resident read it?",
    "cardiac toxicity",
    # longer than the model's 256 tokens: both runtimes must cut it at the same place
    " ".join(f"Patients in arm {i % 3} had event {i} recorded at visit {i * 2}." for i in range(120)),
]


@pytest.fixture(scope="module")
def onnx(settings):
    from tutor.embeddings import get_embeddings

    return get_embeddings(settings)  # exports the model on first use


def _modules_after(code: str, env: dict | None = None) -> dict:
    """Run `code` in a fresh interpreter; report which heavy packages it imported, at exit."""
    probe = ("import atexit, json, sys\n"
             "atexit.register(lambda: print('MODULES ' + json.dumps({m: m in sys.modules for m in "
             "('torch', 'sentence_transformers', 'transformers', 'gradio', 'chromadb', 'onnxruntime', 'sqlalchemy')}), file=sys.stderr))\n")
    import os

    done = subprocess.run([sys.executable, "-c", probe + code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)
    line = next((l for l in done.stderr.splitlines() if l.startswith("MODULES ")), None)
    assert line, done.stderr[-2000:]
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr, **json.loads(line[8:])}


def test_onnx_vectors_match_sentence_transformers_on_torch(onnx):
    from tutor.torch_embed import LocalEmbeddings

    ours = np.asarray(onnx.embed_documents(TEXTS))
    theirs = np.asarray(LocalEmbeddings().embed_documents(TEXTS))
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() > 0.9999, cosine
    assert np.allclose(np.asarray(onnx.embed_query(TEXTS[1])), ours[1], atol=1e-5)  # a batch changes nothing


def test_texts_embedded_together_get_the_vectors_each_gets_alone(onnx):
    """A question's few texts share one run (one sequence, or a padded batch past PACK_TOKENS): the vectors,
    and so every ranking made with them, are those of each text embedded on its own, to the bit."""
    from tutor.onnx_embed import PACK_TOKENS

    question = ["How long did patients on ALPHA-1 go before their cancer got worse?",
                "How long did patients on ALPHA-1 go before their cancer got worse? progression-free survival",
                "Was it blinded?"]
    alone = np.stack([onnx._run([text])[0] for text in question])
    assert onnx._run(question).tobytes() == alone.tobytes()
    assert onnx._run(question[::-1]).tobytes() == alone[::-1].tobytes()
    long = [f"{text} {'and the hazard ratio for overall survival ' * 12}" for text in question]
    assert sum(len(onnx.tokenizer.encode(t).ids) for t in long) > PACK_TOKENS  # too long to share a sequence
    assert onnx._run(long).tobytes() == np.stack([onnx._run([t])[0] for t in long]).tobytes()


def test_questions_asked_at_once_get_the_vectors_each_gets_alone(onnx):
    """Concurrent turns may share a run of the model: each still gets its own texts' vectors, to the bit."""
    from concurrent.futures import ThreadPoolExecutor

    questions = [[f"What was the median overall survival in arm {i}?", f"Was arm {i} blinded? masking"]
                 for i in range(12)]
    alone = [onnx._run(q) for q in questions]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: np.asarray(onnx.embed_documents(q), dtype=np.float32), questions * 3))
    assert all(got.tobytes() == alone[i % 12].tobytes() for i, got in enumerate(together))


def test_callers_that_find_every_core_busy_share_the_next_run():
    """Three callers arriving while the one run allowed is going are answered by one run, each with its own
    texts' vectors; a run that fails fails its callers only, and the next caller is answered."""
    import threading

    from tutor.onnx_embed import SharedRuns

    runs: list[list[str]] = []
    started = threading.Event()

    def run(texts):
        runs.append(list(texts))
        if len(runs) == 1:  # the first run lasts until three more callers wait
            started.set()
            with shared.changed:
                assert shared.changed.wait_for(lambda: len(shared.waiting) == 3, timeout=30)
        if "fail" in texts:
            raise RuntimeError("the model failed")
        return np.array([[len(t), i] for i, t in enumerate(texts)], dtype=np.float32)

    shared = SharedRuns(run, slots=1)
    got: dict[str, np.ndarray] = {}
    callers = [threading.Thread(target=lambda t=t: got.update({t[0]: shared(t)}))
               for t in (["a"], ["bb", "ccc"], ["dddd"], ["eeeee", "f"])]
    callers[0].start()
    assert started.wait(30)
    for caller in callers[1:]:
        caller.start()
    for caller in callers:
        caller.join(30)
    assert len(runs) == 2 and sorted(map(len, runs)) == [1, 5]  # the first caller alone, then the other three
    assert {k: v[:, 0].tolist() for k, v in got.items()} == {"a": [1], "bb": [2, 3], "dddd": [4], "eeeee": [5, 1]}
    with pytest.raises(RuntimeError, match="the model failed"):
        shared(["fail"])
    assert shared(["gg"])[:, 0].tolist() == [2]  # the failed run gave its slot back


def test_answering_imports_no_torch(settings, tutor, onnx):
    """`tutor ask` and the page's turn (retrieval, specialty lens, offline model) on the onnx runtime."""
    env = {"TUTOR_DATA_DIR": str(settings.data_dir), "TUTOR_MODEL": "offline"}
    ask = _modules_after(
        "sys.argv = ['tutor', 'ask', 'Was the trial blinded?', '--role', 'fellow', '--specialty', 'cardiology', '--json']\n"
        "from tutor.cli import main\nmain()\n", env)
    assert ask["returncode"] == 0, ask["stderr"][-1000:]
    assert json.loads(ask["stdout"])["sources"], "the answer cites the store"
    assert not ask["torch"] and not ask["sentence_transformers"] and not ask["transformers"]
    assert not ask["gradio"], "gradio belongs to `tutor serve` only"

    page = _modules_after(
        "from tutor.app import build_app\nfrom tutor.tutor import Tutor\n"
        "tutor = Tutor()\nbuild_app(tutor)\n"
        "answer = tutor.ask('How many patients were randomised?', 'resident', 'oncology pharmacy')\n"
        "assert answer.sources and tutor.retriever.search('overall survival').sources\n", env)
    assert page["returncode"] == 0, page["stderr"][-1000:]
    assert page["gradio"] and not page["torch"] and not page["sentence_transformers"]


@pytest.mark.parametrize("args", [["--help"], ["roles"], ["doctor", "--no-chat"], ["trials", "--json"]])
def test_light_commands_import_neither_torch_nor_gradio(args, settings, tutor):
    result = _modules_after(f"sys.argv = ['tutor', *{args!r}]\nfrom tutor.cli import main\nmain()\n",
                            {"TUTOR_DATA_DIR": str(settings.data_dir)})
    assert result["returncode"] == 0, result["stderr"][-1000:]
    assert not result["torch"] and not result["gradio"] and not result["transformers"]
    # `tutor trials` reads the library the session's tutor saved beside its store.
    assert not result["chromadb"] and not result["onnxruntime"], "no store or model for a listing"
    assert not result["sqlalchemy"], "the doctor checks a SQLite records file with sqlite3"


def test_each_embedder_has_its_own_collection_recorded_in_its_metadata(make_settings, onnx):
    from tutor.embeddings import embedding_name
    from tutor.store import Store

    settings = make_settings()
    (settings.knowledge_dir / "note.md").write_text("# Note\n\nA short page about a made-up trial.\n", encoding="utf-8")
    store = Store(settings)
    store.ingest()
    assert store.name.endswith("onnx-fp32")
    assert store.collection.metadata["embedding_runtime"] == "onnx-fp32"

    on_torch = settings.model_copy(update={"embedding_runtime": "torch"})
    assert embedding_name(on_torch) == "all-MiniLM-L6-v2"  # a store built before runtimes stays valid
    int8 = settings.model_copy(update={"embedding_precision": "int8"})
    assert embedding_name(int8) != embedding_name(settings)

    # A collection whose vectors came from another runtime is refused, naming both.
    store.collection.modify(metadata={**store.collection.metadata, "embedding_runtime": "torch"})
    with pytest.raises(StoreError, match="on torch, not .* on onnx-fp32"):
        Store(settings)


def test_an_unwritable_models_folder_is_one_clear_error(make_settings, tmp_path):
    from tutor.embeddings import onnx_embeddings

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(ConfigError, match="TUTOR_MODELS_DIR"):
        onnx_embeddings(make_settings(models_dir=blocked / "models"), say=lambda line: None)


def test_cli_names_a_bad_runtime_setting():
    result = run_cli("ask", "Was it blinded?", env={"TUTOR_EMBEDDING_RUNTIME": "tensorflow"})
    assert result.returncode == 2
    assert "TUTOR_EMBEDDING_RUNTIME=tensorflow is not allowed: use one of onnx, torch" in result.stderr
    assert "Traceback" not in result.stderr


class CountingEmbeddings:
    """A stand-in embedder that records what it was asked to embed."""

    def __init__(self):
        self.embedded: list[str] = []

    def embed_documents(self, texts):
        self.embedded += texts
        return [[len(t), t.count("a") + 1.0, t.count(" ") + 2.0] for t in texts]


LIBRARY = ["Drug A was given at 3.6 mg/kg every 21 days.", "Drug B was given daily at 1,250 mg."]


def test_the_librarys_sentences_are_embedded_once_for_every_later_process(tmp_path):
    from tutor.embeddings import SavedVectors, SentenceVectors

    path = tmp_path / "sentences.sqlite3"
    first = CountingEmbeddings()
    before = SentenceVectors(first, saved=SavedVectors(path)).similarity("How was drug A dosed?", LIBRARY, library=True)
    assert sorted(first.embedded) == sorted(["How was drug A dosed?", *LIBRARY])

    later = CountingEmbeddings()  # a new process: a server restarted, a `tutor ask`, an eval run
    after = SentenceVectors(later, saved=SavedVectors(path)).similarity("How was drug A dosed?", LIBRARY, library=True)
    assert later.embedded == ["How was drug A dosed?"]  # the learner's question only: the sentences were saved
    assert after.tobytes() == before.tobytes()  # the very same cosines
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir())  # the database and its journal
    assert b"dosed" not in written and b"Drug" not in written  # no text is written, only vectors by a hash of it


def test_a_damaged_saved_vectors_file_only_means_embedding_again(tmp_path):
    from tutor.embeddings import SavedVectors, SentenceVectors

    path = tmp_path / "sentences.sqlite3"
    path.write_bytes(b"not a database " * 100)
    embedder = CountingEmbeddings()
    cosines = SentenceVectors(embedder, saved=SavedVectors(path)).similarity("How was drug B dosed?", LIBRARY,
                                                                            library=True)
    assert len(cosines) == 2 and sorted(embedder.embedded) == sorted(["How was drug B dosed?", *LIBRARY])
