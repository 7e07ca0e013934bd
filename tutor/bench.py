"""Benchmarks that print figures (never timed tests).

`tutor bench` runs the sections below and writes JSON and a Markdown table (default under
evals/bench/): ingestion, retrieval by mode with hit@k, a whole offline turn, a side-by-side
baseline (a plain LangChain retriever over the same collection with sentence-transformers on torch)
and the floor (embedding alone, search alone), cold start, concurrent users on `tutor serve`, and
query cost as the knowledge base grows.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tutor.evaluate import EvalCase, fact_in, load_cases, percentile
from tutor.models import model_label
from tutor.settings import PROJECT_ROOT, Settings

# baseline runs after retrieval and turn: it imports torch, which must not share the process with
# the figures it is compared with.
SECTIONS = ("ingest", "retrieval", "turn", "baseline", "cold", "load", "scale")
MODES = ("dense", "keyword", "hybrid")
# The figures of the torch runtime measured before the onnx one (README), which two targets halve or double.
TORCH_SERVE_RSS_MB, TORCH_TURNS_PER_S_32 = 684.0, 13.2
TARGETS = {  # on this machine kind (2 CPU cores), warm; (path, limit, unit, "max" or "min")
    "hybrid retrieval p95": ("retrieval.hybrid.p95_ms", 15.0, "ms", "max"),
    "offline turn p95": ("turn.p95_ms", 30.0, "ms", "max"),
    "cold `tutor ask` to answer": ("cold.ask.first_answer_s", 4.0, "s", "max"),
    "`tutor serve` first answer after launch": ("cold.serve.first_answer_s", 6.0, "s", "max"),
    "`tutor serve` peak RSS (half the torch runtime's)": ("cold.serve.peak_rss_mb", TORCH_SERVE_RSS_MB / 2, "MB", "max"),
    "turns/s with 32 concurrent users (twice the torch runtime's)": (
        "load.levels.32.turns_per_s", TORCH_TURNS_PER_S_32 * 2, "turns/s", "min"),
    "errors with 32 concurrent users": ("load.levels.32.errors", 0, "", "max"),
}

# Used when evals/ holds no eval set: questions any trial page answers, scored on scope alone.
BUILTIN = [
    EvalCase(id=id_, role=role, question=question, expected_facts=[], out_of_scope=out, must_not=[] if out else ["zzz"])
    for id_, role, question, out in [
        ("bottom-line", "resident", "What is the bottom line of the trial?", False),
        ("sample", "fellow", "How many patients were randomised?", False),
        ("design", "journal_editor", "Was the trial blinded?", False),
        ("weather", "resident", "What is the weather in Paris tomorrow?", True),
        ("pasta", "fellow", "How do I cook pasta al dente?", True),
    ]
]


# -- figures ------------------------------------------------------------------------------------

def latency(samples_ms: list[float]) -> dict:
    """p50/p95/p99 by the eval's nearest-rank percentile, so `tutor eval` and `tutor bench` agree."""
    if not samples_ms:
        return {"n": 0}
    return {"n": len(samples_ms), "p50_ms": percentile(samples_ms, 50), "p95_ms": percentile(samples_ms, 95),
            "p99_ms": percentile(samples_ms, 99), "max_ms": round(max(samples_ms), 2)}


def system_load() -> dict:
    """The 1, 5 and 15 minute load averages and the CPU count: other work on the machine
    inflates every latency and lowers every rate measured here."""
    one, five, fifteen = os.getloadavg()
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2), "cores": os.cpu_count() or 1}


def load_warning(start: dict, end: dict) -> str | None:
    """A warning when the 1-minute load average exceeded the core count at the start or the end."""
    busiest = max(start["1m"], end["1m"])
    cores = start["cores"]
    if busiest <= cores:
        return None
    return (f"the system load average ({busiest} over 1 minute) exceeded the {cores} CPU cores during this run: "
            "other work competed for the CPU, so latencies are inflated and rates understated")


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return (time.perf_counter() - t0) * 1000, value


def machine() -> dict:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "absent"

    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(), "torch": version("torch"), "chromadb": version("chromadb"),
        "gradio": version("gradio"), "os": platform.platform(terse=True),
    }


# -- eval questions -----------------------------------------------------------------------------

def load_questions(path: Path | None = None) -> tuple[list[EvalCase], str]:
    """The eval set (evals/dev.jsonl, else the first evals/*.jsonl), or the built-in list; read by
    `tutor eval`'s own loader, so a bad line is the same one-line error."""
    if path is None:
        folder = PROJECT_ROOT / "evals"
        candidates = [folder / "dev.jsonl"] + sorted(folder.glob("*.jsonl"))
        path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return BUILTIN, "built-in list"
    cases = load_cases([path])
    return cases, cases[0].dataset


# -- synthetic knowledge ------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def synthetic_document(source: str, number: int, rng: random.Random) -> str:
    """A made-up trial summary shaped like `source`: the trial renamed, every number changed,
    sentences shuffled within paragraphs. Only for measuring cost as the knowledge grows."""
    name = f"SYNTH-{number:04d}"
    trial = re.search(r"\(([^()]+?) Trial\)", source)  # the published layout names it in the title
    text = re.sub(rf"\b{re.escape(trial.group(1))}\b", name, source) if trial else source
    head = ""
    if text.startswith("---\n") and (end := text.find("\n---", 4)) != -1:  # front matter: dates stay valid
        head, text = text[: end + 4], text[end + 4 :]
    text = _DIGITS.sub(lambda m: str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in m.group(0)[1:]), text)
    paragraphs = []
    for para in text.split("\n\n"):
        sentences = _SENTENCE.split(para)
        if not para.lstrip().startswith(("#", "---")) and len(sentences) > 1:
            rng.shuffle(sentences)
            para = " ".join(sentences)
        paragraphs.append(para)
    return head + "\n\n".join(paragraphs)


def grow_knowledge(folder: Path, source_dir: Path, factor: int, rng: random.Random) -> int:
    """Fill `folder` with the real documents plus synthetic ones, `factor` times as many; returns their number."""
    real = sorted(p for p in source_dir.rglob("*") if p.is_file() and p.suffix.lower() in (".md", ".markdown", ".txt"))
    for path in real:
        target = folder / path.relative_to(source_dir)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    synthetic = folder / "synthetic"
    synthetic.mkdir(exist_ok=True)
    have = len(list(synthetic.glob("*.md")))
    texts = [p.read_text(encoding="utf-8") for p in real]
    for n in range(have, len(real) * (factor - 1)):
        (synthetic / f"synth-{n:05d}.md").write_text(synthetic_document(texts[n % len(texts)], n, rng), encoding="utf-8")
    return len(real) * factor


@contextmanager
def scratch_store(settings: Settings, label: str) -> Iterator[tuple[Settings, Path]]:
    """A temporary knowledge folder and collection: embedded in a temp folder, or a throwaway
    collection on the Chroma server when TUTOR_CHROMA_URL is set."""
    with tempfile.TemporaryDirectory(prefix=f"tutor-bench-{label}-") as tmp:
        root = Path(tmp)
        (root / "knowledge").mkdir()
        scratch = settings.model_copy(update={
            "knowledge_dir": root / "knowledge", "data_dir": root / "chroma",
            "collection": f"bench-{label}-{uuid.uuid4().hex[:8]}",
        })
        try:
            yield scratch, root
        finally:
            if scratch.chroma_url:
                from tutor.store import chroma_client, collection_name

                try:
                    chroma_client(scratch).delete_collection(collection_name(scratch))
                except Exception:  # the server may be gone; a leftover bench collection is harmless
                    pass


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


# -- sections -----------------------------------------------------------------------------------

class Bench:
    """Runs the selected sections; `say` reports progress (a line per step)."""

    def __init__(self, settings: Settings, questions: list[EvalCase], say: Callable[[str], None] = print,
                 turns: int = 100, users: tuple[int, ...] = (1, 8, 32), factors: tuple[int, ...] = (1, 10, 100),
                 questions_from: str = "built-in list", load_via: str = "auto", load_turns: int = 48,
                 load_seconds: float = 60.0, ingest_factor: int = 10, tutor=None):
        if load_via not in ("auto", "serve", "threads"):
            raise ValueError(f"load_via is auto, serve or threads, not {load_via!r}")
        self.settings = settings
        # load: against `tutor serve` ("serve"), in-process threads ("threads"), or serve when available
        self.load_via = load_via
        self.load_turns = load_turns  # turns per user at one user; shared out as users grow
        self.load_seconds = load_seconds  # and no level runs longer than this
        self.ingest_factor = ingest_factor  # the real documents times this many
        self.questions = questions
        self.questions_from = questions_from
        self.say = say
        self.turns = turns
        self.users = users
        self.factors = factors
        self._tutor = tutor  # built on first use unless given (tests share theirs)

    @property
    def tutor(self):
        if self._tutor is None:
            from tutor.tutor import Tutor

            self.say("loading the tutor (embedding model, store)")
            self._tutor = Tutor(self.settings)
        return self._tutor

    # ingestion: cold (empty store), warm (unchanged: nothing to embed), size on disk
    def ingest(self) -> dict:
        from tutor.store import Store

        with scratch_store(self.settings, "ingest") as (settings, root):
            documents = grow_knowledge(settings.knowledge_dir, self.settings.knowledge_dir, self.ingest_factor,
                                       random.Random(1))
            store = Store(settings)
            self.say(f"ingest: {documents} documents (the real ones x{self.ingest_factor}), cold")
            cold_ms, cold = timed(store.ingest)
            self.say("ingest: again, unchanged (warm)")
            warm_ms, warm = timed(store.ingest)
            return {
                "documents": documents, "chunks": cold.total,
                "cold": {"seconds": round(cold_ms / 1000, 2), "chunks_per_s": round(cold.added / (cold_ms / 1000), 1)},
                "warm": {"seconds": round(warm_ms / 1000, 3), "chunks_per_s": round(warm.unchanged / (warm_ms / 1000), 1),
                         "added": warm.added, "removed": warm.removed},
                "store_mb": None if settings.chroma_url else round(folder_size(settings.data_dir) / 2**20, 2),
                "store": "chroma server" if settings.chroma_url else "embedded",
            }

    # retrieval: latency by mode on the tutor's store, and hit@k on the eval questions
    def retrieval(self, rounds: int = 3) -> dict:
        from tutor.retrieve import HybridRetriever

        tutor = self.tutor
        k = self.settings.top_k
        result: dict = {"k": k, "chunks": tutor.store.count()}
        answerable = [q for q in self.questions if not q.out_of_scope and q.expected_facts]
        for mode in MODES:
            retriever = HybridRetriever(tutor.store, k, self.settings.relevance_floor, mode=mode)
            for q in self.questions[:5]:  # warm-up
                retriever.search(q.question)
            self.say(f"retrieval: {mode}, {len(self.questions)} questions x {rounds}")
            samples, hits, facts, found = [], 0, 0, 0
            scored = {q.id for q in answerable}
            for r in range(rounds):
                for q in self.questions:
                    ms, got = timed(retriever.search, q.question)
                    samples.append(ms)
                    if r == 0 and q.id in scored:
                        present = [any(fact_in(f, s.text) for s in got.sources) for f in q.expected_facts]
                        hits += all(present)
                        facts += len(present)
                        found += sum(present)
            result[mode] = {**latency(samples), f"hit@{k}": round(hits / max(1, len(answerable)), 3),
                            f"fact_recall@{k}": round(found / max(1, facts), 3)}
        result["answerable_questions"] = len(answerable)
        dense, hybrid = result["dense"][f"hit@{k}"], result["hybrid"][f"hit@{k}"]
        result["hybrid_vs_dense_hit"] = round(hybrid / dense, 3) if dense else None
        # What staying in step with other processes costs: one revision read per search.
        checks = [timed(tutor.store.revision)[0] for _ in range(100)]
        result["revision_check"] = latency(checks)
        return result

    # a whole turn on the configured (offline) model, and where its time goes
    def turn(self) -> dict:
        tutor = self.tutor
        asked = [q for q in self.questions if not q.out_of_scope] or self.questions
        for q in asked[:8]:  # warm-up: first calls pay for lazy initialisation
            tutor.ask(q.question, q.role)
        self.say(f"turn: {self.turns} asks")
        samples, parts = [], {"embed": 0.0, "search": 0.0, "generate": 0.0, "guard": 0.0, "total": 0.0}
        for i in range(self.turns):
            q = asked[i % len(asked)]
            ms, answer = timed(tutor.ask, q.question, q.role)
            samples.append(ms)
            for key in parts:
                parts[key] += answer.timings_ms.get(key, 0.0)
        total = parts.pop("total") or 1.0
        share = {key: round(value / total, 3) for key, value in parts.items()}
        share["other"] = round(max(0.0, 1 - sum(share.values())), 3)
        return {"turns": self.turns, "model": model_label(tutor.model), **latency(samples), "share": share}

    # what a user would build first, over the same collection: a plain LangChain retriever with
    # sentence-transformers on torch; and the floor: the question's embedding alone, the search alone
    def baseline(self, rounds: int = 2) -> dict:
        import numpy as np
        from langchain_chroma import Chroma

        from tutor.torch_embed import LocalEmbeddings

        tutor = self.tutor
        k = self.settings.top_k
        texts = [q.question for q in self.questions]
        result: dict = {"k": k, "collection": tutor.store.name, "embedder": tutor.store.embedding}
        self.say("baseline: floor (the tutor's question embedding alone, Chroma's search alone)")
        embed = tutor.store.embeddings
        for text in texts[:5]:
            embed.embed_query(text)
        samples, vectors = [], []
        for _ in range(rounds):
            for text in texts:
                ms, vector = timed(embed.embed_query, text)
                samples.append(ms)
                vectors.append(vector)
        floor = {"embed": latency(samples)}
        collection = tutor.store.collection
        floor["chroma_query"] = latency([timed(collection.query, query_embeddings=[v], n_results=k,
                                               include=["documents", "metadatas", "distances"])[0] for v in vectors])
        matrix = tutor.retriever.matrix
        floor["matrix_top_k"] = latency([timed(lambda v: np.argsort(-(matrix @ np.asarray(v, np.float32)))[:k], v)[0]
                                         for v in vectors])

        self.say("baseline: cold start of the plain retriever in a new process")
        result["cold"] = self._baseline_cold(texts[0])

        self.say("baseline: loading sentence-transformers on torch in this process")
        load_ms, torch_embed = timed(LocalEmbeddings, self.settings.embedding_model)
        result["torch_load_s"] = round(load_ms / 1000, 2)
        for text in texts[:5]:
            torch_embed.embed_query(text)
        floor["embed_torch"] = latency([timed(torch_embed.embed_query, t)[0] for _ in range(rounds) for t in texts])
        result["floor"] = floor

        plain = Chroma(client=tutor.store.client, collection_name=tutor.store.name, embedding_function=torch_embed)
        retriever = plain.as_retriever(search_kwargs={"k": k})
        for text in texts[:5]:
            retriever.invoke(text)
        self.say(f"baseline: plain retriever, {len(texts)} questions x {rounds}")
        answerable = {q.id for q in self.questions if not q.out_of_scope and q.expected_facts}
        samples, hits, facts, found = [], 0, 0, 0
        for r in range(rounds):
            for q in self.questions:
                ms, docs = timed(retriever.invoke, q.question)
                samples.append(ms)
                if r == 0 and q.id in answerable:
                    present = [any(fact_in(f, d.page_content) for d in docs) for f in q.expected_facts]
                    hits += all(present)
                    facts += len(present)
                    found += sum(present)
        result["retrieval"] = {**latency(samples), f"hit@{k}": round(hits / max(1, len(answerable)), 3),
                               f"fact_recall@{k}": round(found / max(1, facts), 3)}
        return result

    def _baseline_cold(self, question: str) -> dict:
        """A new process: import, load MiniLM on torch, open the collection, retrieve once."""
        script = (
            "import json, sys\n"
            "from langchain_chroma import Chroma\n"
            "from tutor.torch_embed import LocalEmbeddings\n"
            "from tutor.settings import load_settings\n"
            "from tutor.store import chroma_client\n"
            "settings = load_settings()\n"
            "store = Chroma(client=chroma_client(settings), collection_name=sys.argv[1],\n"
            "               embedding_function=LocalEmbeddings(settings.embedding_model))\n"
            "docs = store.as_retriever(search_kwargs={'k': int(sys.argv[2])}).invoke(sys.argv[3])\n"
            "print(json.dumps({'passages': len(docs)}))\n"
        )
        command = [sys.executable, "-c", script, self.tutor.store.name, str(self.settings.top_k), question]
        t0 = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=child_env(self.settings, PYTHONPATH=str(PROJECT_ROOT)))
        with PeakRSS(process.pid) as rss:
            stdout, stderr = process.communicate(timeout=300)
        seconds = time.perf_counter() - t0
        if process.returncode != 0:
            raise RuntimeError(f"the plain retriever failed: {stderr.strip()[-500:]}")
        return {"first_passages_s": round(seconds, 2), "peak_rss_mb": rss.peak_mb,
                "passages": json.loads(stdout.strip().splitlines()[-1])["passages"]}

    # process start to first answer (`tutor ask`) and to the page (`tutor serve`); peak memory
    def cold(self) -> dict:
        self.tutor  # noqa: B018 (the store exists before the clock starts: a cold start, not a first build)
        q = self.questions[0]
        self.say("cold: `tutor ask --json` in a new process")
        command = [*tutor_command(), "ask", q.question, "--role", q.role, "--json"]
        t0 = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(self.settings))
        with PeakRSS(process.pid) as rss:
            stdout, stderr = process.communicate(timeout=300)
        seconds = time.perf_counter() - t0
        if process.returncode != 0:
            raise RuntimeError(f"`tutor ask` failed: {stderr.strip()[-500:]}")
        answered = bool(json.loads(stdout).get("answer"))
        result: dict = {"ask": {"first_answer_s": round(seconds, 2), "peak_rss_mb": rss.peak_mb, "answered": answered}}
        if not serve_available():
            result["serve"] = {"skipped": "`tutor serve` is not available"}
            return result
        self.say("cold: `tutor serve`, polling the page, then one question")
        import gradio_client  # noqa: F401  (imported now, not on the clock between the page and the question)

        with served(self.settings) as server:
            client = loopback_client(server.url)
            answer = client.predict(q.question, q.role, "", api_name="/ask")
            first_answer = time.perf_counter() - server.started
            result["serve"] = {"page_s": round(server.page_s, 2), "first_answer_s": round(first_answer, 2),
                               "peak_rss_mb": server.rss.peak_mb, "answered": _answered(answer)}
        return result

    # concurrent simulated users on `tutor serve` (or, without it, in-process threads)
    def load(self) -> dict:
        turns_per_user, seconds_per_level = self.load_turns, self.load_seconds
        asked = [q for q in self.questions if not q.out_of_scope] or self.questions
        specialties = ["", "oncology pharmacy", "cardio-oncology", ""]
        result: dict = {"levels": {}}

        def run_levels(make_user: Callable[[int], Callable[[str, str, str], object]], pids: dict[str, int],
                       cleanup=lambda: None):
            for n in self.users:
                per_user = max(3, turns_per_user // n)
                self.say(f"load: {n} user(s) x {per_user} turns")
                users = [_or_error(make_user, u) for u in range(n)]
                latencies: list[float] = []
                errors: list[str] = []
                lock = threading.Lock()
                start = threading.Barrier(n + 1)
                deadline = [0.0]

                def converse(u: int) -> None:
                    start.wait()
                    for t in range(per_user):
                        if time.monotonic() > deadline[0]:
                            break
                        q = asked[(u * 3 + t) % len(asked)]
                        t0 = time.perf_counter()
                        try:
                            ok = _answered(users[u](q.question, q.role, specialties[u % len(specialties)]))
                            problem = None if ok else "no answer in the reply"
                        except Exception as exc:  # counted, not raised: errors are a figure here
                            problem = f"{type(exc).__name__}: {exc}"[:200]
                        with lock:
                            latencies.append((time.perf_counter() - t0) * 1000)
                            if problem:
                                errors.append(problem)

                threads = [threading.Thread(target=converse, args=(u,)) for u in range(n)]
                for thread in threads:
                    thread.start()
                deadline[0] = time.monotonic() + seconds_per_level
                cpu = {side: cpu_seconds(pid) for side, pid in pids.items()}
                t0 = time.perf_counter()
                start.wait()
                for thread in threads:
                    thread.join()
                wall = time.perf_counter() - t0
                turns = max(1, len(latencies))
                result["levels"][str(n)] = {
                    "users": n, "turns": len(latencies), "seconds": round(wall, 2),
                    "turns_per_s": round(len(latencies) / wall, 2), **latency(latencies),
                    "errors": len(errors), "first_errors": errors[:3],
                    # CPU (user + system) per turn: the server's and the simulated users', on the same cores
                    **{f"{side}_cpu_ms_per_turn": round((cpu_seconds(pid) - cpu[side]) * 1000 / turns, 1)
                       for side, pid in pids.items()},
                }
            cleanup()

        if self.load_via == "serve" or (self.load_via == "auto" and serve_available()):
            with served(self.settings) as server:
                result["target"] = f"`tutor serve` on loopback ({server.url}), gradio_client, api_name=/ask"
                result["concurrency_setting"] = self.settings.concurrency

                def make_user(_u):
                    client = loopback_client(server.url)
                    return lambda question, role, specialty: client.predict(question, role, specialty, api_name="/ask")

                run_levels(make_user, {"server": server.rss.process.pid, "users": os.getpid()})
                result["server_peak_rss_mb"] = server.rss.peak_mb
        else:
            tutor = self.tutor
            result["target"] = "in-process Tutor threads" + ("" if self.load_via == "threads" else
                                                              " (`tutor serve` is not available)")
            run_levels(lambda _u: lambda question, role, specialty: tutor.ask(question, role, specialty or None).model_dump(),
                       {"process": os.getpid()})
        levels = result["levels"]
        if "1" in levels and levels["1"]["turns_per_s"]:
            result["speedup_vs_1_user"] = {n: round(v["turns_per_s"] / levels["1"]["turns_per_s"], 2) for n, v in levels.items()}
        return result

    # query latency as the knowledge base grows 1x, 10x, 100x with synthetic trial documents
    def scale(self, rounds: int = 2) -> dict:
        from tutor.retrieve import HybridRetriever
        from tutor.store import Store

        rows = []
        rng = random.Random(7)
        with scratch_store(self.settings, "scale") as (settings, root):
            store = Store(settings)
            for factor in self.factors:
                documents = grow_knowledge(settings.knowledge_dir, self.settings.knowledge_dir, factor, rng)
                self.say(f"scale: {factor}x, {documents} documents: ingesting")
                ingest_ms, report = timed(store.ingest)
                refresh_ms, retriever = timed(HybridRetriever, store, settings.top_k, settings.relevance_floor)
                row = {"factor": factor, "documents": documents, "chunks": report.total,
                       "ingest_s": round(ingest_ms / 1000, 2),
                       "ingest_new_chunks_per_s": round(report.added / (ingest_ms / 1000), 1) if report.added else None,
                       "index_build_ms": round(refresh_ms, 1)}
                for mode in MODES:
                    retriever.mode = mode
                    for q in self.questions[:5]:
                        retriever.search(q.question)
                    samples = [timed(retriever.search, q.question)[0] for _ in range(rounds) for q in self.questions]
                    row[mode] = latency(samples)
                retriever.mode = "hybrid"
                # A keyword-index rebuild must not block answers: searches go on with the old index meanwhile.
                during: list[float] = []
                rebuild = threading.Thread(target=retriever.refresh)
                t0 = time.perf_counter()
                rebuild.start()
                while rebuild.is_alive():
                    during.append(timed(retriever.search, self.questions[len(during) % len(self.questions)].question)[0])
                rebuild.join()
                row["rebuild_ms"] = round((time.perf_counter() - t0) * 1000, 1)
                row["hybrid_during_rebuild"] = latency(during)
                self.say(f"scale: {factor}x: hybrid p95 {row['hybrid']['p95_ms']} ms; {len(during)} searches answered "
                         f"during a {row['rebuild_ms']:.0f} ms rebuild")
                if not settings.chroma_url:
                    row["store_mb"] = round(folder_size(settings.data_dir) / 2**20, 2)
                rows.append(row)
        return {"rows": rows, "store": "chroma server" if self.settings.chroma_url else "embedded"}

    def run(self, sections: list[str]) -> dict:
        results: dict = {"machine": machine(), "questions": f"{len(self.questions)} from {self.questions_from}",
                         "sections": sections,
                         "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         "chroma": "server" if self.settings.chroma_url else "embedded",
                         "system_load": {"start": system_load()}}
        t0 = time.perf_counter()
        for name in SECTIONS:
            if name in sections:
                s0 = time.perf_counter()
                try:
                    results[name] = getattr(self, name)()
                except Exception as exc:  # one failed section (say, a page that will not start) keeps the rest
                    self.say(f"{name}: failed: {exc}")
                    results[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
                results[name]["section_s"] = round(time.perf_counter() - s0, 1)
        results["seconds"] = round(time.perf_counter() - t0, 1)
        results["system_load"]["end"] = system_load()
        if warning := load_warning(results["system_load"]["start"], results["system_load"]["end"]):
            self.say(f"warning: {warning}")
            results["warning"] = warning
        results["targets"] = check_targets(results)
        results["versus_baseline"] = versus_baseline(results)
        return results


def _or_error(make_user: Callable, u: int) -> Callable:
    """A user whose client could not connect: every turn of theirs counts as an error."""
    try:
        return make_user(u)
    except Exception as exc:
        message = f"cannot connect: {type(exc).__name__}: {exc}"

        def failing(*_args):
            raise RuntimeError(message)

        return failing


def _answered(reply) -> bool:
    if isinstance(reply, str):
        try:
            reply = json.loads(reply)
        except ValueError:
            return bool(reply.strip())
    if isinstance(reply, (list, tuple)) and reply:
        reply = reply[0] if isinstance(reply[0], dict) else {"answer": reply[0]}
    return isinstance(reply, dict) and bool(reply.get("answer"))


def _at(results: dict, path: str):
    value: object = results
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def check_targets(results: dict) -> list[dict]:
    checked = []
    for name, (path, limit, unit, kind) in TARGETS.items():
        value = _at(results, path)
        if value is None:
            continue
        met = value >= limit if kind == "min" else (value == 0 if limit == 0 else value <= limit)
        checked.append({"target": name, "value": value, "limit": limit, "unit": unit, "kind": kind, "met": bool(met)})
    return checked


# (figure, the tutor's path, the baseline's path): each reported as tutor / baseline
VERSUS = [
    ("retrieval p50 ms (hybrid vs plain)", "retrieval.hybrid.p50_ms", "baseline.retrieval.p50_ms"),
    ("retrieval p95 ms (hybrid vs plain)", "retrieval.hybrid.p95_ms", "baseline.retrieval.p95_ms"),
    ("hit@k", "retrieval.hybrid.hit@{k}", "baseline.retrieval.hit@{k}"),
    ("fact recall@k", "retrieval.hybrid.fact_recall@{k}", "baseline.retrieval.fact_recall@{k}"),
    ("whole offline turn p95 ms vs plain retrieval p95", "turn.p95_ms", "baseline.retrieval.p95_ms"),
    ("question embedding p50 ms (onnx vs torch)", "baseline.floor.embed.p50_ms", "baseline.floor.embed_torch.p50_ms"),
    ("question embedding p95 ms (onnx vs torch)", "baseline.floor.embed.p95_ms", "baseline.floor.embed_torch.p95_ms"),
    ("cold start s (`tutor ask` answer vs plain first passages)", "cold.ask.first_answer_s", "baseline.cold.first_passages_s"),
    ("cold start peak RSS MB", "cold.ask.peak_rss_mb", "baseline.cold.peak_rss_mb"),
]


def versus_baseline(results: dict) -> list[dict]:
    """Each figure the tutor and the baseline both have, with their ratio (tutor / baseline)."""
    k = _at(results, "retrieval.k") or _at(results, "baseline.k")
    rows = []
    for figure, ours, theirs in VERSUS:
        mine, base = _at(results, ours.format(k=k)), _at(results, theirs.format(k=k))
        if isinstance(mine, (int, float)) and isinstance(base, (int, float)):
            rows.append({"figure": figure.replace("@k", f"@{k}"), "tutor": mine, "baseline": base,
                         "ratio": round(mine / base, 3) if base else None})
    return rows


# -- processes ----------------------------------------------------------------------------------

def tutor_command() -> list[str]:
    script = Path(sys.executable).parent / "tutor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tutor.cli"]


def child_env(settings: Settings, **extra: str) -> dict:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "TUTOR_DATA_DIR": str(settings.data_dir), "TUTOR_KNOWLEDGE_DIR": str(settings.knowledge_dir),
           "TUTOR_COLLECTION": settings.collection, "TUTOR_MODEL": settings.model,
           "TUTOR_EMBEDDING_BACKEND": settings.embedding_backend, "TUTOR_EMBEDDING_RUNTIME": settings.embedding_runtime,
           "TUTOR_EMBEDDING_PRECISION": settings.embedding_precision, "TUTOR_MODELS_DIR": str(settings.models_dir)}
    if settings.chroma_url:
        env["TUTOR_CHROMA_URL"] = settings.chroma_url
    env.update(extra)
    return env


class PeakRSS:
    """Peak resident memory of a process and its children: the kernel's own high-water mark of each (VmHWM,
    exact, nothing missed between samples), read every 20 ms while it runs; the children are looked up every
    half second (finding them reads every process's /proc entry: 2-3 ms of CPU, on the cores being measured)."""

    def __init__(self, pid: int):
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _high_water(process) -> int:
        try:
            with open(f"/proc/{process.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
        return process.memory_info().rss  # no /proc (not Linux): the resident size now

    def _sample(self) -> None:
        import psutil

        children: list = []
        tick = 0
        while not self._stop.is_set():
            try:
                if tick % 25 == 0:
                    children = self.process.children(recursive=True)
                for process in [self.process, *children]:
                    try:
                        self._peaks[process.pid] = max(self._peaks.get(process.pid, 0), self._high_water(process))
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, sum(self._peaks.values()))
            except psutil.Error:
                pass
            tick += 1
            self._stop.wait(0.02)

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def loopback_client(url: str):
    """A gradio_client on the served page. Plain HTTP on loopback, so no certificate store: with one (its default),
    every request it sends opens a new HTTP client that loads the whole CA bundle, about 70 ms of CPU per turn on
    the cores the server shares, more than the server spends answering it."""
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, ssl_verify=False)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (its threads included)."""
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def serve_available() -> bool:
    from importlib.util import find_spec

    from tutor.cli import app

    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    return find_spec("tutor.app") is not None and "serve" in commands


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    url: str
    started: float  # perf_counter at launch
    page_s: float
    rss: PeakRSS


@contextmanager
def served(settings: Settings, deadline_s: float = 120.0) -> Iterator[Served]:
    """`tutor serve` on a free loopback port; ready when the page answers HTTP 200."""
    import httpx

    port = free_port()
    # One client for every poll: httpx.get makes a new one each time, loading the whole CA bundle (about 45 ms of
    # CPU a poll, half a core at this rate, taken from the server being timed). Plain HTTP on loopback.
    poller = httpx.Client(verify=False, timeout=2)
    log = tempfile.TemporaryFile(mode="w+")
    started = time.perf_counter()
    process = subprocess.Popen([*tutor_command(), "serve"], stdout=log, stderr=subprocess.STDOUT,
                               env=child_env(settings, TUTOR_HOST="127.0.0.1", TUTOR_PORT=str(port)))
    url = f"http://127.0.0.1:{port}"
    try:
        with PeakRSS(process.pid) as rss:
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"`tutor serve` exited ({process.returncode}): {log.read()[-800:]}")
                try:
                    if poller.get(url + "/").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.perf_counter() - started > deadline_s:
                    raise RuntimeError(f"`tutor serve` did not serve its page within {deadline_s:.0f} s")
                time.sleep(0.05)  # poll interval
            yield Served(url, started, time.perf_counter() - started, rss)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
        log.close()
        poller.close()


# -- report -------------------------------------------------------------------------------------

def markdown(results: dict) -> str:
    results = dict(results)  # failed sections are taken out below
    m = results["machine"]
    lines = [f"# Trial Tutor benchmark ({results['started']})", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; Python {m['python']}, "
             f"torch {m['torch']}, chromadb {m['chromadb']}. Store: {results['chroma']}. "
             f"Questions: {results['questions']}. Run took {results['seconds']} s.", ""]
    if load := results.get("system_load"):
        start, end = load["start"], load.get("end") or load["start"]
        lines += [f"System load average (1/5/15 min) on {start['cores']} cores: at start "
                  f"{start['1m']}/{start['5m']}/{start['15m']}, at end {end['1m']}/{end['5m']}/{end['15m']}.", ""]
    if results.get("warning"):
        lines += [f"**Warning: {results['warning']}.**", ""]

    def table(header: list[str], rows: list[list]) -> None:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines.extend("| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows)
        lines.append("")

    if "targets" in results and results["targets"]:
        lines.append("## Targets")
        table(["target", "measured", "limit", "met"],
              [[t["target"], f"{t['value']} {t['unit']}".strip(),
                f"{'at least' if t.get('kind') == 'min' else 'at most'} {t['limit']:g} {t['unit']}".strip(),
                "yes" if t["met"] else "**no**"] for t in results["targets"]])
    if results.get("versus_baseline"):
        lines.append("## Against the baseline (a plain LangChain retriever, sentence-transformers on torch, same collection)")
        table(["figure", "tutor", "baseline", "tutor / baseline"],
              [[r["figure"], r["tutor"], r["baseline"], r["ratio"]] for r in results["versus_baseline"]])
    for name in SECTIONS:
        if "error" in results.get(name, {}):
            lines += [f"## {name}: failed", "", f"`{results.pop(name)['error']}`", ""]
    if r := results.get("ingest"):
        lines.append(f"## Ingestion ({r['documents']} documents, {r['chunks']} chunks, {r['store']})")
        table(["run", "seconds", "chunks/s"],
              [["cold (empty store, embeds every chunk)", r["cold"]["seconds"], r["cold"]["chunks_per_s"]],
               ["warm (unchanged, nothing to embed)", r["warm"]["seconds"], r["warm"]["chunks_per_s"]]])
        if r["store_mb"] is not None:
            lines += [f"Store on disk: {r['store_mb']} MB.", ""]
    if r := results.get("retrieval"):
        k = r["k"]
        lines.append(f"## Retrieval ({r['chunks']} chunks, k={k}, {r['answerable_questions']} answerable questions)")
        table(["mode", "p50 ms", "p95 ms", "p99 ms", f"hit@{k}", f"fact recall@{k}"],
              [[mode, r[mode]["p50_ms"], r[mode]["p95_ms"], r[mode]["p99_ms"], r[mode][f"hit@{k}"],
                r[mode][f"fact_recall@{k}"]] for mode in MODES])
        lines += [f"Hybrid hit@{k} / dense hit@{k} = {r['hybrid_vs_dense_hit']}. Latency is a whole `search()`, "
                  "embedding the question included. The revision check that keeps a process in step with others "
                  f"sharing the store costs p50 {r['revision_check']['p50_ms']} ms, p95 {r['revision_check']['p95_ms']} ms "
                  "per search.", ""]
    if r := results.get("turn"):
        lines.append(f"## A whole turn ({r['turns']} turns, model={r['model']})")
        table(["p50 ms", "p95 ms", "p99 ms", "embed", "search", "generate", "guard", "other"],
              [[r["p50_ms"], r["p95_ms"], r["p99_ms"], *(f"{r['share'][k]:.0%}" for k in
                                                         ("embed", "search", "generate", "guard", "other"))]])
    if r := results.get("baseline"):
        k = r["k"]
        lines.append(f"## Baseline and floor (collection {r['collection']}, embedder {r['embedder']}, k={k})")
        b, f = r["retrieval"], r["floor"]
        table(["what", "p50 ms", "p95 ms", f"hit@{k}", f"fact recall@{k}"],
              [["plain LangChain retriever (torch MiniLM + Chroma)", b["p50_ms"], b["p95_ms"], b[f"hit@{k}"],
                b[f"fact_recall@{k}"]],
               ["floor: the tutor's question embedding alone", f["embed"]["p50_ms"], f["embed"]["p95_ms"], "", ""],
               ["floor: the question embedding on torch alone", f["embed_torch"]["p50_ms"], f["embed_torch"]["p95_ms"], "", ""],
               ["floor: Chroma's search alone (vector given)", f["chroma_query"]["p50_ms"], f["chroma_query"]["p95_ms"], "", ""],
               ["floor: in-memory matrix top-k alone", f["matrix_top_k"]["p50_ms"], f["matrix_top_k"]["p95_ms"], "", ""]])
        c = r["cold"]
        lines += [f"The plain retriever's cold start (new process to its first passages): {c['first_passages_s']} s, "
                  f"peak RSS {c['peak_rss_mb']} MB; loading MiniLM on torch in a warm process: {r['torch_load_s']} s.", ""]
    if r := results.get("cold"):
        lines.append("## Cold start")
        rows = [["`tutor ask --json`: process start to answer", r["ask"]["first_answer_s"], r["ask"]["peak_rss_mb"]]]
        if "page_s" in r.get("serve", {}):
            rows += [["`tutor serve`: launch to page served (HTTP 200)", r["serve"]["page_s"], ""],
                     ["`tutor serve`: launch to first answer", r["serve"]["first_answer_s"], r["serve"]["peak_rss_mb"]]]
        table(["from launch to", "seconds", "peak RSS MB"], rows)
        if "skipped" in r.get("serve", {}):
            lines += [f"`tutor serve`: skipped ({r['serve']['skipped']}).", ""]
    if r := results.get("load"):
        lines.append(f"## Load: concurrent users ({r['target']})")
        sides = [k for k in next(iter(r["levels"].values()), {}) if k.endswith("_cpu_ms_per_turn")]
        table(["users", "turns", "turns/s", "speed-up", "p50 ms", "p95 ms", "errors",
               *(f"{k.split('_')[0]} CPU ms/turn" for k in sides)],
              [[v["users"], v["turns"], v["turns_per_s"], r.get("speedup_vs_1_user", {}).get(n), v.get("p50_ms"),
                v.get("p95_ms"), v["errors"], *(v.get(k) for k in sides)] for n, v in r["levels"].items()])
    if r := results.get("scale"):
        lines.append(f"## Scale: knowledge multiplied with synthetic trial documents ({r['store']})")
        table(["factor", "documents", "chunks", "ingest s", "ingest chunks/s", "index build ms", "hybrid p50 ms",
               "hybrid p95 ms", "dense p95 ms", "keyword p95 ms", "searches during a rebuild", "their p95 ms"],
              [[row["factor"], row["documents"], row["chunks"], row.get("ingest_s"), row["ingest_new_chunks_per_s"],
                row["index_build_ms"], row["hybrid"]["p50_ms"], row["hybrid"]["p95_ms"], row["dense"]["p95_ms"],
                row["keyword"]["p95_ms"], row.get("hybrid_during_rebuild", {}).get("n"),
                row.get("hybrid_during_rebuild", {}).get("p95_ms")]
               for row in r["rows"]])
    return "\n".join(lines)


def write(results: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "bench.json", out_dir / "bench.md"
    json_path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    md_path.write_text(markdown(results) + "\n", encoding="utf-8")
    return json_path, md_path
