"""What a question asks for, read by meaning: a nearest-neighbour classifier over a bank of
example questions per intent (`tutor/data/intents.yaml`), with the embedding model already loaded.

An intent names the parts of a trial page that answer it (chunk kinds: "design.sample" for "how many
women took part?") and whether the trial pages can answer it at all (scope out: another disease,
general knowledge, a creative request, advice for one person).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from tutor import yaml_data
from tutor.embeddings import embed_bank
from tutor.errors import ConfigError

DATA = Path(__file__).with_name("data") / "intents.yaml"
NEIGHBOURS = 2  # an intent's score: the mean cosine of its 2 nearest examples (one stray example is not enough)
# The out-of-scope intents that name a subject (not a form, like a poem, or a person, like advice), and how
# close a library passage must come to one of their examples for the library to teach that subject: above
# the 0.46 an example of another field reaches in an oncology library ("What dose of metformin should be
# used?"), below the 0.50 to 0.55 an example of the library's own field reaches.
SUBJECTS = ("other_topic",)
COVERED = 0.48


class Intent(BaseModel):
    name: str
    scope: str = Field(pattern="^(in|out)$")
    kinds: list[str] = Field(default_factory=list)
    examples: list[str] = Field(min_length=2)


@dataclass
class Reading:
    """How a question reads: its best intent, that intent's score and its lead over the next one."""

    name: str
    score: float
    margin: float
    scope: str
    kinds: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def out_of_scope(self) -> bool:
        return self.scope == "out"


def load_intents(path: Path = DATA) -> list[Intent]:
    try:
        data = yaml_data.safe_load(path.read_text(encoding="utf-8"))
        return [Intent(name=name, **body) for name, body in data["intents"].items()]
    except Exception as exc:
        raise ConfigError(f"intent bank {path} is invalid ({exc}); each intent needs scope, kinds and examples") from exc


def question_words(intents: list[Intent]) -> str:
    """The words of the example questions the pages can answer: what learners ask of any trial ("dose",
    "blinded", "control arm"), whether or not one library's pages happen to use them."""
    return " ".join(e for i in intents if i.scope == "in" for e in i.examples)


class IntentClassifier:
    def __init__(self, embeddings, intents: list[Intent] | None = None):
        self.intents = {i.name: i for i in (intents or load_intents())}
        labels, texts = [], []
        for intent in self.intents.values():
            labels += [intent.name] * len(intent.examples)
            texts += intent.examples
        self.labels = np.array(labels)
        self._examples = texts
        self.matrix = embed_bank(embeddings, texts)
        # Each intent's examples as one row of a grid (short rows padded), so a question's scores are one
        # sort over the grid rather than a mask and a sort per intent: a tenth of the time.
        self._names = list(self.intents)
        rows = [np.flatnonzero(self.labels == name) for name in self._names]
        self._grid = np.zeros((len(rows), max(map(len, rows))), dtype=np.intp)
        self._padding = np.ones(self._grid.shape, dtype=bool)
        for r, row in enumerate(rows):
            self._grid[r, :len(row)], self._padding[r, :len(row)] = row, False
        self._unpadded = self._padding
        self.covered: list[str] = []  # the examples of another subject this library turns out to teach

    def cover(self, passages: np.ndarray) -> None:
        """Set the bank to a library: an example of another subject ("How is depression treated?") that a
        passage of the library answers as closely as its own questions (cosine >= COVERED) is that library's
        subject, not another one, and no longer counts against the questions about it."""
        near = (passages @ self.matrix.T).max(axis=0) if len(passages) else np.zeros(len(self.labels))
        taught = np.isin(self.labels, SUBJECTS) & (near >= COVERED)
        self._padding = self._unpadded | taught[self._grid]
        self.covered = [self._examples[i] for i in np.flatnonzero(taught)]

    def read(self, vector) -> Reading:
        """The intents ranked for a question's (normalised) embedding."""
        sims = self.matrix @ np.asarray(vector, dtype=np.float32)
        grid = np.where(self._padding, -np.inf, sims[self._grid]).astype(np.float32)
        top = np.sort(grid, axis=1)[:, -NEIGHBOURS:]
        if not np.isfinite(top).all():  # an intent left with fewer examples than NEIGHBOURS: the mean of those
            finite = np.isfinite(top)
            top = np.where(finite, top, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
        else:
            top = top.mean(axis=1)
        scores = dict(zip(self._names, top.tolist()))
        ranked = sorted(scores, key=scores.get, reverse=True)
        best, second = ranked[0], ranked[1]
        intent = self.intents[best]
        kinds = list(intent.kinds)
        if not kinds and intent.scope == "in":
            # "Which trial had more patients?" compares on a topic: the parts of each page the topic needs.
            topic = next((self.intents[n] for n in ranked if self.intents[n].kinds and self.intents[n].scope == "in"), None)
            kinds = list(topic.kinds) if topic else []
        return Reading(best, round(scores[best], 4), round(scores[best] - scores[second], 4), intent.scope,
                       kinds, {k: round(v, 4) for k, v in scores.items()})
