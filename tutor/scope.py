"""Can the trial pages answer this question? The in-scope decision, from signals any library gives.

Retrieval measures a question against the library (how close its nearest passage is, how many of its
words the sources use, whether it names a trial, drug or disease they never mention) and reads it by
meaning (`tutor.intent`: a trial question, another subject, a creative request, advice for one
person). A logistic model weighs those signals. Its weights are data (`tutor/data/scope.json`), fitted
by `tutor eval --fit-scope` on the tune split of the eval sets only, so the test split and the
leave-one-trial-out figures measure questions and trials the weights never saw.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tutor.errors import ConfigError
from tutor.guard import speaks_to_the_model
from tutor.intent import Reading

DATA = Path(__file__).with_name("data") / "scope.json"

# Asking about one person's own treatment: a patient who is the asker or someone they know ("I'm on",
# "I relapsed", "my mum", "a friend of mine"), and a decision about them ("should", "can I have", "is it
# safe", "would it give her"). "My patients" and "what should I watch for" are a clinician learning. A
# signal for the model, not a verdict on its own.
_RELATIVE = (r"(mother|father|mom|mum|dad|wife|husband|partner|sister|brother|friend|aunt|uncle|daughter|son|"
             r"grand\w+|relative|child|kid|neighbou?r|boss|colleague|cousin)")
_PATIENT = (r"\b(I'?m|I am) (pregnant|on|taking|receiving|being treated|a patient|diagnosed|\d+|diabetic|asthmatic|epileptic|"
            r"an?aemic|hypertensive|depressed|immunocompromised|allergic|intolerant|breast-?feeding)\b"
            r"|\bI weigh \d|\bI (have|had|was|got|get|suffer|experience|relapsed|finished|started|took)\b"
            r"(?! (a |some |one |two |few )?(questions?|quer|doubt|confused|the (idea|point|gist)|it\b))"
            r"|\b(makes?|made|leaves|left) me (feel|sick|ill|tired|dizzy|foggy|drowsy|sleepy|nauseous|anxious|low)\b"
            r"|\b(gives|gave) me\b|\bI take (?!(from|away|home|it|that|this|note|the|a|an)\b)\w+"
            r"|\bI'?ve (just )?(been|had|got|started|finished)\b"
            r"|\b(I'?m|I am) (having|getting|booked for|scheduled for|due (for|to have)|going in for) (an? |my |the )?"
            r"(\w+ )?(operation|surgery|procedure|transplant|replacement|scan|biopsy|infusion|transfusion|treatment|"
            r"chemo\w*|vaccine|vaccination|jab|shot|injection|dose|baby|c-section)\b"
            r"|\bmy (own |next |first )?(cancer|tumou?rs?|treatment|therapy|chemo\w*|infusions?|doses?|cycles?|oncologist|"
            r"doctor|platelets|scans?|hands|feet|liver|heart|lungs?|side effects|bloods?|results|kidneys?|insulin|"
            r"medications?|meds|medicines?|pills?|tablets?|injections?|prescriptions?|blood (sugar|pressure)|sugars?|"
            r"diabetes|depression|infection|condition|illness|disease|diagnosis|symptoms|GP|nurse|specialist)\b"
            # one's own measurement: "my PHQ-9 came out at 16", "my potassium was 5.3" (not "my patient's")
            r"|\bmy (?!patients?\b|own\b)[\w-]+(?: [\w-]+)? (?:is|was|came (?:back|out)|reads?|showed|scored?)"
            r"(?: at| as| of)? [<>~]?\d"
            r"|\bfor me\b|\bI personally\b|\bme personally\b|\bI'?m (a|the) patient\b"
            rf"|\bmy (?:own |elderly |older |younger |little |baby |step-?)?{_RELATIVE}s?\b"
            rf"|\b{_RELATIVE}s? of mine\b|\b(mum|mom|dad)'?s\b")
_DECISION = (r"\b(should|shall|can|could|may|must|ought)\b|\bis (it|this|that) (safe|ok|okay|wise|right|fine|good)\b"
             r"|\b(safe|ok|okay|wise|right|fine|good) for (me|him|her|them|my)\b"
             r"|\bwould (I|you|it|they|that|this|switching|\w+ing)\b|\bwhich\b.{0,60}\b(give|help|suit)\b"
             r"|\b(recommend|suggest|advise)\b|\b(better|best|safer|right)\b.{0,30}\bfor (me|my|him|her|them)\b")
# Anchored at the start: the lookaheads see the whole text from there, so trying them again from every later
# position (what an unanchored search does) can only find what the first try found, at a cost growing with
# the square of the question's length.
_PERSONAL = re.compile(rf"\A(?=.*(?:{_PATIENT}))(?=.*(?:{_DECISION}))", re.I | re.S)
# Asked to write something other than an answer about the trial.
OFF_TASK = re.compile(r"\b(poems?|sonnets?|haikus?|limericks?|songs?|lyrics|recipes?|jokes?|bedtime stor(y|ies)|rap|"
                      r"plays?|scripts?|love letters?|crosswords?|puzzles?|in the style of)\b", re.I)

FEATURES = ("bias", "best", "coverage", "unknown_rarity", "unknown_names", "unknown_diseases", "names_known",
            "intent_in", "intent_other_topic", "intent_general", "intent_creative", "intent_advice",
            "advice_words", "creative_words", "intent_lead", "intent_out")


def asks_for_advice(question: str) -> bool:
    return bool(_PERSONAL.search(question))


@dataclass
class Signals:
    """What retrieval learned about a question, for the decision."""

    best: float  # cosine of the closest passage to the question as asked
    coverage: float  # share of its content words found in the sources
    unknown_names: list[str]  # trials and drugs it names that the sources do not
    names_known: bool  # it names a trial, drug or number the sources name
    reading: Reading | None = None
    unknown_diseases: list[str] = field(default_factory=list)  # "prostate cancer" when the sources have none
    unknown_rarity: float = 0.0  # the unknown words weighed by how rare they are in everyday English
    trials_named: list[str] = field(default_factory=list)  # trials of the library it names
    foreign_disease: bool = False  # a disease it names by a word the sources never use ("gastric cancer")
    trial_chosen: bool = False  # the learner chose a trial (the picker, `--trial`) and the question names none

    def intent_scores(self) -> tuple[float, float]:
        """(the best score of a trial intent, the best of another subject, advice or a creative form)."""
        scores = self.reading.scores if self.reading else {}
        return (max([v for k, v in scores.items() if k not in _OUT], default=0.0),
                max(scores.get(k, 0.0) for k in _OUT))

    def vector(self, question: str, floor: float) -> list[float]:
        """The model's inputs, in the order of FEATURES."""
        scores = self.reading.scores if self.reading else {}
        scope_in, scope_out = self.intent_scores()
        return [
            1.0, self.best - floor, self.coverage, min(self.unknown_rarity, 3.0) / 3, min(len(self.unknown_names), 2) / 2,
            min(len(self.unknown_diseases), 2) / 2, float(self.names_known),
            scope_in, scores.get("other_topic", 0.0), scores.get("general", 0.0),
            scores.get("creative", 0.0), scores.get("advice", 0.0),
            float(asks_for_advice(question)), float(bool(OFF_TASK.search(question))),
            scope_in - scope_out, scope_out,
        ]


_OUT = ("other_topic", "general", "creative", "advice")


@dataclass(frozen=True)
class ScopeModel:
    weights: tuple[float, ...]
    threshold: float = 0.5
    c: float | None = None  # the regularisation cross-validation chose

    def probability(self, x: list[float]) -> float:
        z = sum(w * v for w, v in zip(self.weights, x))
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self, **about) -> str:
        return json.dumps({"features": list(FEATURES), "weights": [round(w, 6) for w in self.weights],
                           "threshold": round(self.threshold, 4),
                           "regularisation_c": self.c, **about}, indent=2) + "\n"


def load_model(path: Path = DATA) -> ScopeModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["features"] != list(FEATURES):
            raise ValueError(f"features {data['features']} are not {list(FEATURES)}")
        return ScopeModel(tuple(float(w) for w in data["weights"]), float(data["threshold"]))
    except Exception as exc:
        raise ConfigError(f"scope model {path} is invalid ({exc}); refit it with `tutor eval --fit-scope`") from exc


@lru_cache(maxsize=1)
def default_model() -> ScopeModel:
    return load_model()


def why_out(question: str, signals: Signals) -> str:
    """The reason a declined question is declined, for the reply: advice, creative, unknown_name,
    other_topic or no_match."""
    reading = signals.reading
    if asks_for_advice(question):
        return "advice"
    if OFF_TASK.search(question):
        return "creative"
    if signals.unknown_names or signals.unknown_diseases:  # "stage II colon cancer" is another subject
        return "unknown_name"
    if reading and reading.name in ("advice", "creative"):
        return reading.name
    scope_in, scope_out = signals.intent_scores()
    if reading and reading.out_of_scope or scope_out >= scope_in:
        return "other_topic"
    return "no_match"


def decide(question: str, signals: Signals, floor: float, model: ScopeModel | None = None) -> tuple[bool, str]:
    """(in scope, why): why is one of advice, creative, unknown_name, other_topic, no_match or ''."""
    model = model or default_model()
    if OFF_TASK.search(question):  # a poem or a play is not an answer, however many trial words it borrows
        return False, "creative"
    if names_another_trial(signals):
        return False, "unknown_name"
    if (model.probability(signals.vector(question, floor)) >= model.threshold or _in_the_sources_words(question, signals)
            or _about_a_library_trial(question, signals) or _close_to_a_passage(question, signals)
            or _about_the_chosen_trial(question, signals)):
        return True, ""
    return False, why_out(question, signals)


# A trial's name as learners write it: with a number ("GAMMA-12") or of capitalised parts ("PARADIGM-HF").
TRIAL_LIKE = re.compile(r"\d|^[A-Z]+(?:-[A-Z]+)+$")


def names_another_trial(signals: Signals) -> bool:
    """Not fitted: a question about a trial the library lacks ("GAMMA-12's OS hazard ratio?") or a disease
    named by a word its sources never use ("gastric cancer"), naming no trial it holds, cannot be answered
    from the sources however near its other words come to a passage."""
    return not signals.trials_named and (signals.foreign_disease
                                         or any(TRIAL_LIKE.search(name) for name in signals.unknown_names))


def _in_the_sources_words(question: str, signals: Signals) -> bool:
    """Not fitted: a question every content word of which the sources use, naming nothing they do not,
    that reads as a trial question more than as another subject ("What is the number needed to treat?",
    "What kind of cancer did the patients have?") is about the sources, however far its embedding
    lies from any one passage: answered, if need be with what the sources do not report."""
    return (signals.coverage >= 1.0 and not signals.unknown_names and not signals.unknown_diseases
            and _reads_as_a_trial_question(signals)
            and not asks_for_advice(question) and not OFF_TASK.search(question))


# The sign each weight must have, from what its signal means: a closer passage never argues for
# refusing, a word of another subject never argues for answering. Fitting within these signs keeps
# correlated signals (the intent scores) from trading weights of absurd sign on a few hundred cases.
SIGNS = {"bias": 0, "best": 1, "coverage": 1, "unknown_rarity": -1, "unknown_names": -1, "unknown_diseases": -1,
         "names_known": 1, "intent_in": 1, "intent_other_topic": -1, "intent_general": -1, "intent_creative": -1,
         "intent_advice": -1, "advice_words": -1, "creative_words": -1, "intent_lead": 1, "intent_out": -1}


def _fit_weights(x, y, c: float):
    """Class-balanced L2 logistic regression with each weight held to its sign (L-BFGS-B)."""
    import numpy as np
    from scipy.optimize import minimize

    x, y = np.asarray(x, float), np.asarray(y, float)
    n_in, n_out = max(1.0, y.sum()), max(1.0, len(y) - y.sum())
    sample = np.where(y == 1, len(y) / (2 * n_in), len(y) / (2 * n_out))

    def loss(w):
        z = x @ w
        p = 1 / (1 + np.exp(-np.clip(z, -50, 50)))
        nll = np.sum(sample * (np.logaddexp(0, z) - y * z))
        grad = x.T @ (sample * (p - y))
        reg = w.copy()
        reg[0] = 0.0  # the bias is not penalised
        return nll + reg @ reg / (2 * c), grad + reg / c

    bounds = [(None, None) if SIGNS[f] == 0 else ((0, None) if SIGNS[f] > 0 else (None, 0)) for f in FEATURES]
    return minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds).x


# A passage this close in meaning: the question is about it. Above the closest any out-of-scope question of
# every eval set comes to a passage without naming something foreign or asking for advice (0.684).
CLOSE = 0.72


def _close_to_a_passage(question: str, signals: Signals) -> bool:
    """Not fitted: a question nearly restating a passage ("does the control arm's time in therapeutic range
    undermine the bleeding result?") is about the sources, however its words read to the intent bank. Not
    when it names a drug, trial or disease the sources lack, asks for advice, a creative form or speaks to
    the model."""
    return (signals.best >= CLOSE and not signals.unknown_names and not signals.unknown_diseases
            and not asks_for_advice(question) and not OFF_TASK.search(question) and not speaks_to_the_model(question))


def _about_a_library_trial(question: str, signals: Signals) -> bool:
    """Not fitted: a question that names a trial of the library ("What does ALPHA-Lung03 say about thyroid
    effects?") is about the library, however foreign its other words: the
    answer gives what the page reports, or says it does not report it. Not advice, a creative form or
    words addressed to the model."""
    return (bool(signals.trials_named) and not asks_for_advice(question)
            and not OFF_TASK.search(question) and not speaks_to_the_model(question))


# A question that asks what happened ("Were there infusion reactions?", "how many had ...", "did patients
# use ...") or points at a trial's parts ("in each arm", "by group", "the new drug", "the main result", "at
# baseline"). Grammar, not topic: "How do you treat ...?" and "What's the usual dose of ...?" ask neither.
_OF_A_TRIAL = re.compile(
    r"\b(did|was|were|had|didn't|wasn't|weren't|hadn't)\b"
    r"|\b(each|both|either|by|per|the two|the other|which|the) (arms?|groups?)\b"
    r"|\b(the|this|that) (trial|study|paper|rct|new [\w-]+)\b|\b(main|primary) (results?|findings?)\b|\bbaseline\b",
    re.I)


def _about_the_chosen_trial(question: str, signals: Signals) -> bool:
    """Not fitted: with a trial chosen, a question that asks what happened or points at a trial's parts asks
    of that trial ("SSI rates in each arm?", "Were there infusion reactions?"), however terse or foreign its
    other words: the answer gives what the page reports, or says it does not report it. Not when it names
    a drug or disease the sources lack, asks for advice, a creative form, speaks to the model, or reads as
    another subject more than as a trial question ("Who won the World Cup?")."""
    return (signals.trial_chosen and bool(_OF_A_TRIAL.search(question)) and _reads_as_a_trial_question(signals)
            and not signals.unknown_names and not signals.unknown_diseases and not asks_for_advice(question)
            and not OFF_TASK.search(question) and not speaks_to_the_model(question))


def _reads_as_a_trial_question(signals: Signals) -> bool:
    """The intent reading's trial kinds outscore every other subject, advice and creative form."""
    scope_in, scope_out = signals.intent_scores()
    return scope_in > scope_out


def fit(rows: list[tuple[list[float], bool]], cs: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)) -> ScopeModel:
    """A class-balanced logistic model on (features, in scope) rows, each weight held to the sign of its
    meaning, its regularisation chosen by five-fold cross-validation on the same rows; its threshold 0.5."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    x = np.asarray([r[0] for r in rows], float)
    y = np.asarray([int(r[1]) for r in rows])

    def balanced_log_loss(w, idx) -> float:
        # Scored by a proper rule, how sure the model is of every held-out row, not by how many rows fall on the
        # right side: with a few dozen out-of-scope rows a fold's accuracy moves by one row, and two values of C
        # tied on it (the choice then flipped with any small change to the signals).
        z = x[idx] @ np.asarray(w)
        loss = np.logaddexp(0, z) - y[idx] * z
        ins = y[idx] == 1
        return (loss[ins].mean() + loss[~ins].mean()) / 2

    folds = list(StratifiedKFold(n_splits=min(5, int(y.sum()), len(y) - int(y.sum())), shuffle=True,
                                 random_state=0).split(x, y))

    def cv(c: float) -> float:
        return sum(balanced_log_loss(_fit_weights(x[tr], y[tr], c), te) for tr, te in folds) / len(folds)

    best_c = min(cs, key=lambda c: (round(cv(c), 4), c))  # ties: the stronger regularisation
    # The classes weigh the same in the fit, so 0.5 is its boundary. A threshold searched for on the rows
    # (in sample or out of fold) moved between 0.48 and 0.64 with small changes to the signals, and with it
    # up to six refusals on the test split: it bent to the few out-of-scope rows.
    return ScopeModel(tuple(float(w) for w in _fit_weights(x, y, best_c)), 0.5, best_c)
