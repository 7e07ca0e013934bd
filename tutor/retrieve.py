"""Hybrid retrieval: dense (cosine) and keyword (BM25) search over the Chroma collection, fused by
reciprocal rank, optionally filtered to some trials of the library.

Keyword search catches what embeddings blur: numbers ("0.65"), drug and trial names. The BM25 index
and the passage vectors (read from Chroma) live in memory and are rebuilt only when the store changes.
A question's intent (`tutor.intent`) ranks the parts of a page that answer it first; the in-scope
decision is `tutor.scope`'s.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field

import bm25s
import numpy as np
from threadpoolctl import threadpool_limits

from tutor.embeddings import compose, embed_bank, token_counts
from tutor.errors import InputError
from tutor.intent import IntentClassifier, Reading, question_words
from tutor.lexicon import (
    DOSED, STOPWORDS, TOKEN, americanise, base_glossary, dose_run, doses_in, drug_pattern, effect_frame, effect_words, everyday,
    expanded_words, expansion_phrases, expansions, learn_abbreviations, measures, name_pattern, phrasing,
    phrasing_words, rarity, spell_out, Speller, tokenize, topics, translated, translated_phrases, without_asker,
)
from tutor.schema import Chunk, Source
from tutor.specialty import names_specialty
from tutor.scope import TRIAL_LIKE, Signals, decide
from tutor.store import Store

# numpy's OpenBLAS threads and torch's OpenMP threads (the query embedding) fight over the
# cores: on 2 cores a 4,200-passage store took hybrid search p95 from 23 ms to 130 ms. The
# matrix products here are small; one BLAS thread is plenty.
threadpool_limits(1, user_api="blas")

RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of top ranks
# Names in a text: acronyms and mixed case (HER2, X-DM1), decimals ("0.65"); drug names come from
# the lexicon's stems.
_NAME = re.compile(r"\b(?:[A-Z][A-Za-z]*[A-Z0-9][A-Za-z0-9-]*|\d+\.\d+)\b")
# A disease with its qualifier ("prostate cancer", "HER2-negative breast cancer"): the qualifier must
# stand before the same noun somewhere in the sources.
_DISEASE = re.compile(
    r"((?:[a-z0-9][a-z0-9\-]*\s+){1,2})(cancers?|carcinomas?|tumou?rs?|lymphomas?|leuka?emias?"
    r"|melanomas?|sarcomas?|vaccines?)\b", re.I)  # a vaccine is named by what it prevents, as a cancer by its site
_DISEASE_STEMS = ("cance", "carci", "tumou", "tumor", "lymph", "leuka", "leuke", "melan", "sarco", "vacci")


def _disease_qualifiers(runs: list[str]) -> dict[str, frozenset[str]]:
    """For each disease word's first five letters, the words a text (its `_RUN`s, in order) puts before it with
    at most two words between ("metastatic" and "her2-positive" in "her2-positive metastatic breast cancer"; a
    hyphenated name's parts too: "small" of "small-cell lung cancer"): looked up for each question, where a
    search of the whole text took 60-100 ms in a library of 400 trials."""
    out: dict[str, set[str]] = {}
    for i, run in enumerate(runs):
        stem = run[:5]
        if stem not in _DISEASE_STEMS:
            continue
        words = out.setdefault(stem, set())
        for distance in (1, 2, 3):
            if i - distance < 0:
                break
            parts = runs[i - distance].split("-")
            # a qualifier is a run or a stretch of its parts; what follows it within its run is one word more
            for j in range(len(parts)):
                for k in range(j + 1, len(parts) + 1):
                    if distance - 1 + (k < len(parts)) <= 2:
                        words.add("-".join(parts[j:k]))
    return {stem: frozenset(words) for stem, words in out.items()}


PROMPT_ONLY_WEIGHT = 0.5
STUB_WEIGHT = 0.5  # a related-trial summary, when the library holds that trial's full page
# A rare word (less common in everyday English than this Zipf frequency) of the question that one passage
# alone uses: that passage gains as much as a top rank.
RARE_ZIPF = 3.5
# A word no more common than this that only one trial's page uses names that trial when the question names
# none ("tidal volume", "zembravir"); "same" or "across" (Zipf above 5) do not.
SUBJECT_ZIPF = 5.0
SUBJECT_SHARE = 0.75
# How much closer (cosine) one trial's closest passage must be than any other trial's to answer from it alone
SIMILARITY_GAP = 0.15
# A question across "the trials" with none named sets them all side by side; in a library of more than this
# many, the ones whose pages come closest to it (all 400 of a large library: 800 passages, and a comparison of
# each trial without the 399 others' names, 1.7 s a search).
MOST_COMPARED = 8
# A disease named by a word the sources never use that is no more common than this ("gastric", "prostate")
# is another subject; a commoner word ("larger", "skin") is left to the scope model.
FOREIGN_ZIPF = 4.0
# A question's stem is a form of the sources' word when it is that word short of at most this many letters.
STEM_SUFFIX = 3
RARE_WORD_WEIGHT = 1.0
_PRIMARY = re.compile(r"\bprimary\s+(?:composite\s+|efficacy\s+)?(?:outcomes?|end[\s-]?points?|results?|analys[ie]s)\b", re.I)
# "the main result", "the headline finding": the result the trial was designed on, whatever else is asked of it
_MAIN_RESULT = re.compile(r"\b(?:primary|main|principal|headline)\s+(?:results?|findings?)\b", re.I)
_CI_LEVEL = re.compile(r"\b\d{2}(?:\.\d)?\s?%\s*(?:CI|confidence|credible)", re.I)
_ASKS_RATE = re.compile(r"\brates?\b|\bhow many\b|%|\bpercent|\bproportion|\bfigures?\b|\bnumbers?\b", re.I)
OVERVIEW = ("summary", "relevance")  # intents that ask for a trial's gist: its primary result belongs in it
PRIMARY_WEIGHT = 1.0  # asked for the effect with no outcome named: the primary result, as good as a top rank
PHRASE_WEIGHT = 1.0  # the one passage that repeats the question's phrase word for word: a top rank
INTENT_WEIGHT = 1.0  # a part of the page the question's intent asks for: as good as a top rank


def is_prompt_only(text: str) -> bool:
    """A discussion prompt without its answer ("Question: ... ?")."""
    text = text.strip()
    return (text.startswith("Question:") and "Key response:" not in text) or text.endswith("?")


def heading_words(section: str) -> frozenset[str]:
    """The words of a chunk's own heading as written, less stop words and plural s:
    "Study Limitations" -> {limitation}; "Comparator" -> {comparator}."""
    leaf = americanise(section.split(" > ")[-1].split(":")[-1].lower())
    return frozenset(w.removesuffix("s") for w in TOKEN.findall(leaf) if tokenize(w) and not w.isdigit())


def query_words(query: str) -> set[str]:
    """The query's words as written, less plural s: what `names_heading` compares headings with."""
    return {w.removesuffix("s") for w in TOKEN.findall(americanise(query.lower()))}


def names_heading(heading: frozenset[str], written: frozenset[str], terms: set[str], words: set[str]) -> bool:
    """Does the query (its search `terms`, its `words` as written) name a heading in full (its
    `heading_terms` and `heading_words`)? A one-word heading only by that very word: "compare"
    shares a stem with "Comparator" but does not name it."""
    if not heading or not heading <= terms:
        return False
    return len(heading) > 1 or written <= words


def heading_terms(section: str) -> frozenset[str]:
    """The search terms of a chunk's own heading, without a "Role:" prefix or a year:
    "Guided Discussion > Attending: Quality of Life Paradigm" -> {qualiti, life, paradigm}."""
    leaf = section.split(" > ")[-1].split(":")[-1]
    return frozenset(t for t in tokenize(leaf) if not t.isdigit())


_TIME_POINT = re.compile(r"\b(?:before|after|at|since|until|following|prior to)\s+(?:the\s+)?[\w-]+", re.I)

# "And the hazard ratio?", "what about OS?", "same for the control arm": a question that leans on
# the one before it.
_FOLLOW_UP = re.compile(r"^\s*(and|also|what about|how about|what of|same for|and what about|then)\b", re.I)
_POINTS_BACK = re.compile(r"\b(that|those|it|this|they|them|the same)\b\W*$", re.I)


def is_follow_up(question: str) -> bool:
    """Opens like a follow-up ("and ...", "what about ...") in 8 words or fewer, or is a very short
    question that only points back ("Why is that?"); "What did the trial show about it?" is not."""
    words = len(question.split())
    return (words <= 8 and bool(_FOLLOW_UP.search(question))) or (words <= 4 and bool(_POINTS_BACK.search(question)))


# A question about several trials of the library ("which trial had more nausea?", "across the trials"):
# never narrowed to one by its subject words. "Versus" alone sets arms side by side as often ("restrictive vs
# liberal transfusion"): two trials it compares are named, or the question reads as a comparison.
_ACROSS_TRIALS = re.compile(r"\b(trials|studies|which (trial|study)|each (trial|study)|both|compare (them|the|these|all|each))\b",
                            re.I)
# "compared with BETA-Lung01", "here versus BETA-Lung01", "this trial and BETA-Lung01": a question that
# sets the chosen trial beside another it names is about both.
_COMPARES = re.compile(r"\b(compar\w*|versus|vs|contrast\w*|differ\w*|than|relative to|both|each|here|"
                       r"this (trial|study)|the same)\b", re.I)

_RUN = re.compile(r"[\w-]+")  # a word, or a hyphenated name, whole: what (?<![\w-])...(?![\w-]) bounds


def by_term(term_sets) -> dict[str, list[int]]:
    """term -> the positions of the sets that hold it, in order."""
    index: dict[str, list[int]] = {}
    for i, terms in enumerate(term_sets):
        for term in terms:
            index.setdefault(term, []).append(i)
    return index


def asks_gist(question: str, intent: str) -> bool:
    """Does the question ask for a trial's gist ("Summarise the trial for me", "what does this trial mean for a
    psychiatrist?"): read as a summary or as what matters to someone, and naming no clinical topic of its own
    ("did the lower-oxygen group need dialysis less often?" reads the same way, and asks for one result)?"""
    return intent in OVERVIEW and not set(tokenize(without_asker(question))) & topics()


@dataclass
class Retrieval:
    query: str
    sources: list[Source]
    best_score: float  # cosine similarity of the closest passage
    in_scope: bool
    timings_ms: dict[str, float]
    trials: list[str] = field(default_factory=list)  # the trials searched; [] = the whole library
    reading: Reading | None = None  # the question's intent
    why: str = ""  # why it is out of scope, when it is
    signals: Signals | None = None  # what the scope decision weighed
    primary: bool = False  # asks for the effect without naming an outcome: the primary result answers
    unnamed: list[str] = field(default_factory=list)  # drugs the question names that no searched page does


def _treatment_fields(chunks: list[Chunk]):
    """(trial, value) of each page's own intervention and comparator fields."""
    for c in chunks:
        if c.kind in ("design.intervention", "design.comparator") and c.about == c.trial:
            yield c.trial, c.text.split(":", 1)[-1]


def _arm_words(chunks: list[Chunk], glossary: dict[str, str]) -> dict[str, frozenset[str]]:
    """The words that name each trial's treatments: the drug names and abbreviations of its own page's
    intervention and comparator fields ("ALPHA-1", "alphazumab"), with each abbreviation's long form."""
    drug_word = drug_pattern()[1]
    arms: dict[str, set[str]] = {}
    for trial, text in _treatment_fields(chunks):
        words = drug_word.findall(text) + [f"{short} {long}" for short, long in glossary.items()
                                           if re.search(rf"(?<![\w-]){re.escape(short)}(?![\w-])", text)
                                           or long.lower() in text.lower()]
        arms.setdefault(trial, set()).update(tokenize(" ".join(words)))
    return {trial: frozenset(words) for trial, words in arms.items()}


# The word a treatment field (or a part of it: "Factor 1: ...") begins with: the treatment's name when the field
# names none by a drug stem, a dose or a code, and the word is not everyday ("veltaclamide, an investigational ...",
# not "Matching placebo"; not "Adjuvant" before "alphazumab 10 mg/kg").
_HEAD = re.compile(r"(?:^|:)\s*([A-Za-z][\w-]{4,})")
_DEFINED_SHORT = re.compile(r"\(([A-Za-z]+[-\d][\w-]{0,8})\)")  # a code with a hyphen or digit: "(AZ-1)", not "(CrCl)"


def _drug_trials(chunks: list[Chunk]) -> dict[str, str]:
    """The treatments of the library's trials, each with the one trial that gives it ("alphazumab" ->
    "ALPHA-Lung03"), or "" when several do: the names in each page's own intervention and comparator
    fields, known by a drug stem, by the dose that follows them ("quelvaprant 20 mg") or as the
    abbreviation they define ("(AZ-1)")."""
    drug_word = drug_pattern()[1]
    trials: dict[str, set[str]] = {}
    for trial, text in _treatment_fields(chunks):
        names = drug_word.findall(text) + [m.group(1) for m in DOSED.finditer(text)] + _DEFINED_SHORT.findall(text)
        names = names or _HEAD.findall(text)
        for name in names:
            if not everyday(name.lower()):
                trials.setdefault(name.lower(), set()).add(trial)
    # a treatment several trials give names none of them, and keeps a question that names it library-wide
    return {name: (next(iter(owners)) if len(owners) == 1 else "") for name, owners in trials.items()}


NO_COSINE = -2.0  # below any cosine: a trial with no passage of its own, a passage outside the pages searched


def _closest_of_each(page: np.ndarray, trials: int, cosine: np.ndarray) -> np.ndarray:
    """Each trial's closest passage of its own pages (`page`: each passage's trial index, -1 for none): its
    similarity, in the library's order (NO_COSINE for a trial with none)."""
    best = np.full(trials, NO_COSINE)
    own = page >= 0
    np.maximum.at(best, page[own], cosine[own])
    return best


class HybridRetriever:
    def __init__(self, store: Store, top_k: int = 4, relevance_floor: float = 0.3, mode: str = "hybrid"):
        self.store = store
        self.top_k = top_k
        self.relevance_floor = relevance_floor
        self.mode = mode  # "hybrid", "dense" or "keyword": the benchmark compares them
        self._lock = threading.Lock()
        self._version: str | None = None  # the store's revision the index was built from
        self._refreshing = threading.Lock()
        self.intents = IntentClassifier(store.embeddings)
        self.scope_model = None  # None: the fitted model of tutor/data/scope.json (leave-one-out swaps it)
        # The lexicon's expansions, each (unit vector, tokens): a fixed bank, embedded once per model (`compose`)
        phrases = expansion_phrases()
        self._phrases = dict(zip(phrases, zip(embed_bank(store.embeddings, phrases),
                                              token_counts(store.embeddings, phrases))))
        self.refresh()

    def refresh(self, force: bool = True) -> None:
        """(Re)build the in-memory keyword index from the store; searches go on with the old
        index until the new one is ready."""
        with self._refreshing:
            version = self.store.revision()  # read first: a write during the rebuild triggers another
            if not force and version == self._version:
                return  # another thread has just rebuilt it
            chunks, vectors = self.store.chunks(with_embeddings=True)
            order = sorted(range(len(chunks)), key=lambda i: (chunks[i].document, chunks[i].index))
            chunks = [chunks[i] for i in order]  # page order: the same ranking on every process
            matrix = (np.asarray([vectors[i] for i in order], dtype=np.float32) if chunks
                      else np.zeros((0, 1), np.float32))
            glossary = learn_abbreviations(c.text for c in chunks)
            bm25 = bm25s.BM25()
            corpus = [tokenize(spell_out(f"{c.section} {c.text}", glossary)) for c in chunks]
            drug_word = drug_pattern()[1]
            names = {
                t for c in chunks for t in tokenize(" ".join(_NAME.findall(c.text) + drug_word.findall(c.text)))
                if len(t) > 2 and not t.isdigit()
            }
            # a treatment known by the dose that follows it ("quelvaprant 20 mg") or that begins a treatment field
            # ("Factor 1: veltaclamide, an investigational ...") is a name the sources use
            names |= {t for c in chunks for m in DOSED.finditer(c.text) if not everyday(m.group(1).lower())
                      for t in tokenize(m.group(1))}
            drugs = _drug_trials(chunks)
            names |= {t for name in drugs for t in tokenize(name)}
            if chunks:
                bm25.index(corpus, show_progress=False)
            pairs: dict[tuple[str, str], list[int]] = {}  # each word pair, in order, with the passages using it
            for i, tokens in enumerate(corpus):
                for pair in set(zip(tokens, tokens[1:])):
                    pairs.setdefault(pair, []).append(i)
            # which trials' own pages use each word: a word only one page uses names that trial's subject
            owners: dict[str, set[str]] = {}
            page_words: dict[str, set[str]] = {}  # every word of each trial's page, its summaries of others with it
            for c in chunks:
                words = set(tokenize(c.text))
                page_words.setdefault(c.trial, set()).update(words)
                if c.trial and c.about == c.trial:
                    for t in words:
                        owners.setdefault(t, set()).add(c.trial)
            asks_only = np.array([is_prompt_only(c.text) for c in chunks], dtype=bool)
            # The trials of the library: those with a page of their own, and those only summarised on one.
            pages = list(dict.fromkeys(c.trial for c in chunks if c.trial))
            summarised = [a for a in dict.fromkeys(c.about for c in chunks if c.about) if a not in pages]
            stub = np.array([c.about != c.trial and c.about in pages for c in chunks], dtype=bool)
            arms = _arm_words(chunks, glossary)
            with self._lock:
                self.chunks: list[Chunk] = chunks
                self.by_id = {c.id: i for i, c in enumerate(chunks)}
                self.matrix, self.bm25, self._names = matrix, bm25, names
                # each word of the index short of its last one to STEM_SUFFIX letters: looked up, not scanned
                self._stems_short = {v[:-n] for v in (bm25.vocab_dict if chunks else ()) for n in range(1, STEM_SUFFIX + 1)
                                     if len(v) - n >= 5}
                self._pairs = pairs
                self.glossary = glossary
                # an abbreviation counts by its spelled-out words, never as an unknown word of its own
                self._upper_short_forms = {k.upper() for k in [*glossary, *base_glossary()]}
                self._long_form = {k.lower(): v.lower() for k, v in {**base_glossary(), **glossary}.items()}
                self._short_forms = set(tokenize(" ".join([*glossary, *base_glossary()])))
                self._long_forms = set(tokenize(" ".join(base_glossary().values())))
                # A word learners use of any trial is a trial question's word even when these pages never
                # use it: a library of one page in another field still knows "dosed", "blinded", "control".
                self._asked_words = set(tokenize(question_words(list(self.intents.intents.values()))))
                self._asks_only, self._stub = asks_only, stub
                self.trial_pages, self.trial_mentions = pages, summarised
                self.arm_words = arms
                self._trial_patterns = {name: name_pattern(name) for name in pages + summarised}
                self._drugs = drugs
                self._drugs_tokens = set(tokenize(" ".join(drugs)))
                self._drug_pattern = (re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(drugs, key=len, reverse=True)))
                                                 + r")(?![\w-])", re.I) if drugs else None)
                self._about = np.array([c.about.lower() for c in chunks])
                page_of = {name.lower(): i for i, name in enumerate(pages)}
                self._page = np.array([-1 if s else page_of.get(c.about.lower(), -1) for c, s in zip(chunks, stub)],
                                      dtype=np.int64)  # each passage's trial, by its place in trial_pages; -1: none
                self._owners = {t: next(iter(o)) for t, o in owners.items() if len(o) == 1}
                self._page_words = {t: frozenset(w) for t, w in page_words.items()}
                self._kinds = np.array([c.kind for c in chunks])
                # each page's first key finding: the layout gives the primary result first
                first: dict[str, tuple[int, int]] = {}
                for i, c in enumerate(chunks):
                    if c.kind == "finding" and c.trial and c.about == c.trial and c.index < first.get(c.document, (1 << 30, 0))[0]:
                        first[c.document] = (c.index, i)
                self._primary = np.zeros(len(chunks), dtype=bool)
                self._primary[[i for _, i in first.values()]] = True
                self._primary_words = frozenset(tokenize(" ".join(chunks[i].text for _, i in first.values())))
                self._finding_words = frozenset(tokenize(" ".join(c.text for c in chunks if c.kind == "finding")))
                self._headings = [(heading_terms(c.section), heading_words(c.section)) for c in chunks]
                self._by_heading_term = by_term(heading for heading, _ in self._headings)
                self._lower = [americanise(c.text.lower()) for c in chunks]  # each passage, lower case, American
                self._tokens = [frozenset(tokenize(t)) for t in self._lower]  # each passage's words, as stems
                self._text = " ".join(self._lower)
                runs = _RUN.findall(self._text)
                self._runs = frozenset(runs)  # whole words and hyphenated names (lower case, American)
                self._qualifiers = _disease_qualifiers(runs)
                self.intents.cover(matrix)
                asked = " ".join(e for i in self.intents.intents.values() for e in i.examples).lower()
                self.speller = Speller(re.findall(r"[a-z]+", f"{self._text} {asked}"),
                                       frozenset(re.findall(r"(?<![\w-])([a-z]{2,}) \d", self._text)), names=drugs,
                                       hyphenated=frozenset(r for r in runs if "-" in r))
                self._version = version

    @property
    def version(self) -> str | None:
        """The store revision the index was built from."""
        return self._version

    def sync(self) -> None:
        """Refresh when the collection changed since the index was built, here or in another
        process sharing the Chroma server: one small metadata read per search."""
        if self.store.revision() != self._version:
            self.refresh(force=False)

    # -- trials -----------------------------------------------------------------------------

    def resolve_trial(self, trial: str | None) -> str | None:
        """The library's name for a chosen trial ("alpha-lung03" -> "ALPHA-Lung03"); None = all."""
        if trial is None or not str(trial).strip() or str(trial).strip().lower() in ("all", "all trials"):
            return None
        for name in self.trial_pages + self.trial_mentions:
            if name.lower() == str(trial).strip().lower() or self._trial_patterns[name].fullmatch(str(trial).strip()):
                return name
        raise InputError(f"unknown trial {trial!r}; choose one of: {', '.join(self.trial_pages) or 'none (the library is empty)'}")

    def named_trials(self, question: str, by_treatment: bool = False) -> list[str]:
        """The library's trials a question names, in the order it names them; `by_treatment`: when it names
        none, those it names by treatments only they give ("alphazumab" for ALPHA-Lung03), unless it also
        names one several trials give."""
        found = [(m.start(), name) for name, pattern in self._trial_patterns.items() if (m := pattern.search(question))]
        if by_treatment and not found and self._drug_pattern is not None:
            treated = [(m.start(), self._drugs[m.group(1).lower()]) for m in self._drug_pattern.finditer(question)]
            if all(name for _, name in treated):  # "AZ-1 rather than BZ-2": BZ-2 is given in several trials
                found = treated
        return list(dict.fromkeys(name for _, name in sorted(found)))

    def _trial_by_subject(self, question: str) -> list[str]:
        """The one trial a question (without the library's trial names) names by its subject when it names no
        trial or treatment: the words of it that only one page of the library uses, weighed by how rare they
        are in everyday English, point at that trial ("tidal volume" in a library of one ventilation trial
        among oncology ones) when nearly all their weight (SUBJECT_SHARE) points at it. None when they are
        split between trials, or there are none."""
        if len(self.trial_pages) < 2 or _ACROSS_TRIALS.search(question):
            return []
        content = self._content_words(question)
        weights: dict[str, float] = {}
        for word in set(re.findall(r"[a-z][a-z0-9-]+", americanise(question.lower()))):
            if everyday(word, SUBJECT_ZIPF):  # "same", "across": one page happens to use it, says nothing
                continue
            for t in {t for t in tokenize(word) if t in content and t in self._owners}:
                weights[self._owners[t]] = weights.get(self._owners[t], 0.0) + rarity(word)
        total = sum(weights.values())
        best = max(weights, key=weights.get, default=None)
        return [best] if best and weights[best] >= SUBJECT_SHARE * total else []

    def _trial_by_similarity(self, question: str, cosine: np.ndarray) -> list[str]:
        """The one trial a question that names none is about by its meaning: the trial whose own pages hold the
        passage closest to it, when that passage is closer by SIMILARITY_GAP than any other trial's closest (a
        question about keeping a ventilated patient's oxygen lower, in a library of one oxygen trial among oncology
        ones). [] when two trials are that close (the question may be about either, or both), or fewer than two
        trials have pages of their own. Weighed on the question as asked (`cosine`), not on its expansions, which
        pull towards the lexicon's words."""
        if _ACROSS_TRIALS.search(question):
            return []
        best = _closest_of_each(self._page, len(self.trial_pages), cosine)
        if int((best > NO_COSINE).sum()) < 2:
            return []
        first, second = np.argsort(-best, kind="stable")[:2]
        return [self.trial_pages[int(first)]] if best[first] - best[second] >= SIMILARITY_GAP else []

    def _closest_trials(self, cosine: np.ndarray, most: int) -> list[str]:
        """The library's trials, or in a library of more than `most`, the `most` whose own pages hold the passages
        closest to the question, closest first."""
        if len(self.trial_pages) <= most:
            return list(self.trial_pages)
        best = _closest_of_each(self._page, len(self.trial_pages), cosine)
        return [self.trial_pages[int(i)] for i in np.argsort(-best, kind="stable")[:most]]

    def _mask(self, trials: list[str]) -> np.ndarray:
        """Passages about these trials: from their own pages when the library has them."""
        if not trials:
            return np.ones(len(self.chunks), dtype=bool)
        wanted = np.isin(self._about, [t.lower() for t in trials])
        return wanted & ~self._stub

    # -- ranking ----------------------------------------------------------------------------

    def _keyword(self, query: str, mask: np.ndarray, k: int) -> list[int]:
        vocab = self.bm25.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens or not self.chunks:
            return []
        scores = np.where(mask, self.bm25.get_scores(tokens), 0.0)
        order = np.argsort(-scores, kind="stable")[:k]
        return [int(i) for i in order if scores[i] > 0]

    @staticmethod
    def _dense(cosine: np.ndarray, mask: np.ndarray, k: int) -> list[int]:
        order = np.argsort(-np.where(mask, cosine, NO_COSINE), kind="stable")[:k]
        return [int(i) for i in order if mask[i]]

    def _rank(self, expanded: str, cosine: np.ndarray, mask: np.ndarray, k: int, reading: Reading | None,
              topic: tuple[str, np.ndarray] | None = None, rare: tuple[str, ...] = (), phrase_of: str = "",
              primary: bool = False) -> list[int]:
        """The best k passages of the mask. `topic` (the query and its similarities without the compared
        trials' names) is searched as well and fused with the whole question's rankings; `rare` are the
        question's rare words (`_rare_words`); `phrase_of`, the question without trial names, whose phrases a passage
        may use word for word (`_phrase_holders`)."""
        pool = max(k * 3, 10)
        rankings = []
        for query, similarity in [(expanded, cosine), *([topic] if topic else [])]:
            if self.mode in ("hybrid", "dense"):
                rankings.append(self._dense(similarity, mask, pool))
            if self.mode in ("hybrid", "keyword"):
                rankings.append(self._keyword(query, mask, pool))
        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, idx in enumerate(ranking):
                fused[idx] = fused.get(idx, 0.0) + 1.0 / (RRF_K + rank + 1)
        if topic:  # two searches fused: the heading and the intent weigh as much against both
            fused = {i: v / 2 for i, v in fused.items()}
        # A rare word of the question that only one of the searched passages uses ("stratified",
        # "nephrolithiasis") points at it, however far its meaning lies: a top rank, as a named heading is.
        for idx in self._only_holders(rare, mask):
            fused[idx] = fused.get(idx, 0.0) + RARE_WORD_WEIGHT / (RRF_K + 1)
        for idx in self._phrase_holders(phrase_of, mask):
            fused[idx] = fused.get(idx, 0.0) + PHRASE_WEIGHT / (RRF_K + 1)
        if primary:  # "the HR vs placebo, with CI?": no outcome named asks for the one the trial was designed on
            for idx in np.flatnonzero(self._primary_for(phrase_of or expanded, mask)):
                fused[int(idx)] = fused.get(int(idx), 0.0) + PRIMARY_WEIGHT / (RRF_K + 1)
        for idx, weight in self._heading_hits(expanded).items():  # the question names a section: a top rank
            if mask[idx]:
                fused[idx] = fused.get(idx, 0.0) + weight / (RRF_K + 1)
        if reading and reading.kinds and not reading.out_of_scope:
            # The parts of a page that answer what is asked ("was it blinded?" -> the design field), weighed
            # by how sure the reading is; within them, ranked by meaning (the question's, or its topic's
            # without the trial's name): a field as short as "Design: RCT, Double-Blind." is close in rank,
            # not in cosine.
            confidence = min(1.0, max(0.0, reading.margin * 10))
            nearest = np.maximum(cosine, topic[1]) if topic else cosine
            parts = np.flatnonzero(mask & np.isin(self._kinds, reading.kinds))
            # Parts that make up much of a page (findings and discussion) say less about where the answer is
            # than a single field does: the boost is shared among them.
            share = min(1.0, k / max(len(parts), 1))
            for rank, idx in enumerate(sorted((int(i) for i in parts), key=lambda i: -nearest[i])[:k]):
                fused[idx] = fused.get(idx, 0.0) + INTENT_WEIGHT * confidence * share / (RRF_K + 1 + rank)
        for idx in fused:
            if self._asks_only[idx]:  # a discussion prompt shares the question's words but answers nothing
                fused[idx] *= PROMPT_ONLY_WEIGHT
            if self._stub[idx]:  # the full page of that trial answers better than a summary of it
                fused[idx] *= STUB_WEIGHT
        return sorted(fused, key=lambda i: (-fused[i], -cosine[i]))[:k]

    def _rare_words(self, question: str) -> tuple[str, ...]:
        """The tokens of the rare words of a question (without the library's trial names): "stratified", not
        everyday English, not a word the lexicon translates ("blinded" asks for the design, wherever else a
        page says it), not a trial's or drug's name (another page may mention it once in passing)."""
        rare = []
        for word in set(re.findall(r"[a-z][a-z-]{4,}", americanise(question.lower()))):
            if everyday(word, RARE_ZIPF) or translated(word):
                continue
            rare += [t for t in tokenize(word)[:1] if t not in self._names and t in self.bm25.vocab_dict]
        return tuple(sorted(set(rare)))

    def _phrase_holders(self, question: str, mask: np.ndarray) -> list[int]:
        """The one passage searched that uses more of the question's word pairs, in its order, than any other,
        and at least two ("age at first dose": age-first, first-dose), or none: BM25 counts words, not
        phrases."""
        tokens = [t for t in tokenize(question) if not t[0].isdigit()]
        generic = phrasing() | measures()
        # a hyphenated name is a phrase of its parts ("hand-foot": hand-foot, hand, foot), as the index reads it
        asked = {p for p in zip(tokens, tokens[1:]) if not set(p) <= generic}
        if len(asked) < 2:
            return []
        hits: dict[int, int] = {}  # looked up, not scanned: a library of hundreds of trials costs the same
        for pair in asked:
            for i in self._pairs.get(pair, ()):
                if mask[i]:
                    hits[i] = hits.get(i, 0) + 1
        best = max(hits.values(), default=0)
        holders = [i for i, n in hits.items() if n == best]
        return holders if best >= 2 and len(holders) == 1 else []

    def _only_holders(self, rare: tuple[str, ...], mask: np.ndarray) -> set[int]:
        """The passages that alone, among those searched, use one of these rare words: read from the keyword
        index, whose column for a word lists the passages that use it."""
        starts, passages = self.bm25.scores["indptr"], self.bm25.scores["indices"]
        out = set()
        for t in rare:
            column = self.bm25.vocab_dict[t]
            held = passages[starts[column]:starts[column + 1]]
            held = held[mask[held]]
            if len(held) == 1:
                out.add(int(held[0]))
        return out

    def search(self, query: str, top_k: int | None = None, trials: list[str] | None = None,
               compare: bool | None = None, lens: str = "") -> Retrieval:
        """The passages for a question. `trials` restricts the search (None: the trials the question
        names, else the whole library); a question that names or compares several trials gets passages
        from each. `compare` forces (True) or forbids (False) reading it as a comparison. `lens` (the
        words a learner's specialty cares about) adds the passage of the same trials that matters most
        to it, when the question's own passages do not already hold one."""
        k = top_k or self.top_k
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self.sync()
        # Scope is judged on the question as asked, abbreviations spelled out ("ORR"), not on
        # its expansions, which would pull any question towards the sources.
        spelled = spell_out(query, self.glossary)
        added = expansions(spelled)
        expanded = " ".join([spelled, *added])
        # A question that names trials also searches their pages by its topic alone, without the names:
        # "ALPHA-Lung03 and BETA-Lung01" pull towards the passages that name them, not to what is asked.
        named = self.named_trials(query)
        topic = self._without_trials(expanded, named) if named else expanded
        # The raw question judges scope, the expanded one searches. Only the question (and its topic) runs through
        # the model: a run costs by the tokens it reads, and the expanded text and its topic would read the question
        # twice more and the expansions twice. Their vectors are composed from the question's and the expansions'.
        asked = self._without_trials(spelled, named) if named else spelled
        texts = list(dict.fromkeys([spelled, asked]))
        embeddings = self.store.embeddings
        got = [embeddings.embed_query(spelled)] if len(texts) == 1 else embeddings.embed_documents(texts)
        vectors = {text: np.asarray(v, dtype=np.float32) for text, v in zip(texts, got)}
        raw = vector = vectors[spelled]
        topic_vector = vectors[asked]
        if added:
            phrases = [self._phrases[a] for a in added]  # every string an expansion adds is in the bank
            tokens = dict(zip(texts, token_counts(embeddings, texts)))
            vector = compose(raw, tokens[spelled], phrases)
            topic_vector = compose(topic_vector, tokens[asked], phrases)
        # The question as asked is what the offline model weighs the answer's sentences against: kept, it
        # is not embedded a second time in the same turn.
        self.store.sentences.remember([spelled], [raw])
        t1 = time.perf_counter()
        timings["embed"] = (t1 - t0) * 1000
        if not self.chunks:
            timings["search"] = 0.0
            return Retrieval(query, [], 0.0, False, timings)
        with self._lock:
            reading = self.intents.read(raw)
            untitled = self._without_trials(spelled, list(self._trial_patterns))  # whose words say what is asked
            chosen = list(trials or [])
            # A chosen trial joins the one the question names only when the question sets them side by side:
            # "How many took part in BETA-Lung01?" reads like a comparison by meaning, but asks of one trial.
            if named and chosen and set(named) != set(chosen) and (compare or _COMPARES.search(query)):
                searched = list(dict.fromkeys(chosen + named))  # "compare it with X" while a trial is chosen
            else:
                # "alphazumab dose, and what was the comparator?": the one trial that gives alphazumab, when every
                # treatment the question names is given in one trial only
                searched = named or chosen or self.named_trials(query, by_treatment=True) or self._trial_by_subject(untitled)
            if compare is None:
                compare = len(searched) > 1 or (not searched and reading.name == "comparison" and len(self.trial_pages) > 1)
            cosine = self.matrix @ np.asarray(vector, dtype=np.float32)
            raw_cosine = self.matrix @ np.asarray(raw, dtype=np.float32)
            if not searched and not compare:
                searched = self._trial_by_similarity(untitled, raw_cosine)
            if compare and not searched:
                searched = self._closest_trials(cosine, MOST_COMPARED)
            mask = self._mask(searched)
            rare = self._rare_words(untitled)
            primary = self.asks_primary(untitled, reading)
            if compare and len(searched) > 1:
                each = max(2, math.ceil(k / len(searched)) + (1 if len(searched) <= 2 else 0))
                # Each trial is searched for the question's topic, not for the other trials' names: on
                # ALPHA-Lung03's page "BETA-Lung01" finds the passages that mention it, not the figures asked.
                topic_cosine = self.matrix @ np.asarray(topic_vector, dtype=np.float32)
                chosen_idx = [i for t in searched for i in self._rank(
                    expanded, cosine, self._mask([t]), each, reading,
                    (self._without_trials(expanded, [o for o in searched if o != t]), topic_cosine), rare, untitled,
                    primary)]
            elif topic != expanded:
                # A question that names its trial is searched without the name as well: within that trial's
                # pages the name only pulls towards the passages that repeat it, not to what is asked.
                topic_cosine = self.matrix @ np.asarray(topic_vector, dtype=np.float32)
                chosen_idx = self._rank(expanded, cosine, mask, k, reading, (topic, topic_cosine), rare, untitled, primary)
            else:
                chosen_idx = self._rank(expanded, cosine, mask, k, reading, rare=rare, phrase_of=untitled, primary=primary)
            best = float(np.max(np.where(mask, raw_cosine, -1.0))) if mask.any() else 0.0
            if lens and chosen_idx:
                chosen_idx += self._lens_passage(lens, chosen_idx)
            if chosen_idx:
                chosen_idx += self._figure_passage(spelled, chosen_idx, mask, cosine)
                chosen_idx += self._topic_passage(spelled, chosen_idx, mask, cosine)
                chosen_idx += self._topic_finding(expanded, chosen_idx, mask, cosine, reading)
                if reading and asks_gist(untitled, reading.name) and len(searched) == 1:
                    # asked for the gist of a trial ("summarise it for me"): its primary result is part of it
                    chosen_idx += [int(i) for i in np.flatnonzero(mask & self._primary) if int(i) not in chosen_idx]
            sources = [self._source(i, cosine) for i in chosen_idx]
            # Judged on the question's own words: what its expansions add ("dose" -> "intravenously") is the
            # lexicon's wording, not the asker's, and a page that never uses it is not foreign to the question.
            names, diseases, foreign = self._unknown_names(query)
            coverage, unknown = self._coverage(untitled)
            signals = Signals(best=best, coverage=coverage, unknown_rarity=self._rarity(spelled, unknown),
                              unknown_names=names, trials_named=named, trial_chosen=bool(chosen) and not named,
                              names_known=self._distinctive_match(query), reading=reading, unknown_diseases=diseases,
                              foreign_disease=foreign)
            unnamed = self._unnamed_drugs(untitled, searched)
        timings["search"] = (time.perf_counter() - t1) * 1000
        in_scope, why = decide(query, signals, self.relevance_floor, self.scope_model)
        return Retrieval(query, sources, best, bool(sources) and in_scope, timings, searched, reading, why, signals,
                         primary, unnamed)

    def _unnamed_drugs(self, question: str, searched: list[str]) -> list[str]:
        """The drugs or drug classes (known by a drug stem's ending: "statins", "metformin") the question names
        that no page searched names anywhere: what it asks of them, those pages do not report."""
        is_drug = drug_pattern()[0]
        named = [w for w in re.findall(r"(?<![\w-])[A-Za-z]{6,}(?![\w-])", question)
                 if is_drug.search(w) and not everyday(w.lower(), 4.0)]
        pages = [self._page_words.get(t, frozenset()) for t in (searched or self._page_words)]
        return list(dict.fromkeys(w for w in named if not any(set(tokenize(w)) & page for page in pages)))

    def _without_trials(self, query: str, trials: list[str]) -> str:
        """The query without these trials' names, however shortened."""
        for trial in trials:
            query = self._trial_patterns[trial].sub(" ", query)
        return query

    def _lens_passage(self, lens: str, chosen: list[int]) -> list[int]:
        """The passage, from the pages already chosen, whose words a specialty cares about most; [] when
        the chosen passages already rank at the top for it or nothing on those pages speaks to it."""
        pages = self._mask(sorted({self.chunks[i].about for i in chosen}))
        ranked = [i for i in self._keyword(lens, pages & ~self._asks_only & ~self._stub, 3)]
        if not ranked or ranked[0] in chosen:
            # the chosen passages lead for the specialty: the next one that speaks to it, if any, adds
            # what the answer does not yet hold (a gastroenterologist's diarrhea beside its transaminases)
            ranked = [i for i in ranked if i not in chosen and self._lens_hits(lens, i) > 0]
        return ranked[:1]

    def _figure_passage(self, question: str, chosen: list[int], mask: np.ndarray, cosine: np.ndarray) -> list[int]:
        """The closest passage of the pages searched that gives a figure the question writes ("the 2x2 trial",
        "the 12-month rate", "the 43.6%") when no passage chosen gives it: [] when they do, or none does."""
        words = [w for w in TOKEN.findall(americanise(question.lower()))
                 if w[0].isdigit() and not w.isdigit() and not dose_run(w)]
        chosen_text = " ".join(self._lower[i] for i in chosen)
        for word in words:
            given = re.compile(rf"(?<![\w.]){re.escape(word)}(?![\w]|\.\d)")  # "9.6" is not in "19.6" or "9.65"
            if not given.search(chosen_text) and (found := self._closest_holding(
                    mask, cosine, lambda i: given.search(self._lower[i]))):
                return found
        return []

    def _topic_passage(self, question: str, chosen: list[int], mask: np.ndarray, cosine: np.ndarray) -> list[int]:
        """The closest passage of the pages searched that names a clinical topic of the question ("readmitted
        with heart failure") when no passage chosen names it: an answer from the chosen ones would say the sources
        do not report it. [] when they name every topic, or no passage does."""
        return self._topic_holder(tokenize(question), chosen, chosen, mask & ~self._stub, cosine)

    def _topic_finding(self, expanded: str, chosen: list[int], mask: np.ndarray, cosine: np.ndarray,
                       reading: Reading | None) -> list[int]:
        """The closest key finding that reports a clinical topic the question names, in its words or the lexicon's
        reading of them ("bleeds in the brain" -> intracranial haemorrhage), when no finding chosen reports it:
        the passages that only discuss it ("patients at risk of intracranial haemorrhage") give no result. Not for a
        question about the design."""
        if reading is not None and reading.kinds and all(k.startswith("design.") for k in reading.kinds):
            return []
        findings = [i for i in chosen if self.chunks[i].kind == "finding"]
        return self._topic_holder(tokenize(expanded), chosen, findings,
                                  mask & ~self._stub & (self._kinds == "finding"), cosine)

    def _topic_holder(self, tokens: list[str], chosen: list[int], covering: list[int], pool: np.ndarray,
                      cosine: np.ndarray) -> list[int]:
        """The closest passage of the pool, not chosen already, that names the first clinical topic among `tokens`
        that no passage of `covering` names; [] when they name every topic, or no passage of the pool does."""
        covered = set().union(*(self._tokens[i] for i in covering))
        for token in (t for t in dict.fromkeys(tokens) if t in topics() and t not in covered):
            if found := self._closest_holding(pool, cosine, lambda i: token in self._tokens[i] and i not in chosen):
                return found
        return []

    @staticmethod
    def _closest_holding(mask: np.ndarray, cosine: np.ndarray, holds) -> list[int]:
        """The passage of the mask closest to the question among those that `holds`, or []."""
        holders = [int(i) for i in np.flatnonzero(mask) if holds(int(i))]
        return [max(holders, key=lambda i: cosine[i])] if holders else []

    def _lens_hits(self, lens: str, i: int) -> int:
        """How many of the specialty's own terms a passage uses."""
        words = set(tokenize(self.chunks[i].text))
        return sum(1 for t in set(tokenize(lens)) if t in words)

    def _source(self, i: int, cosine: np.ndarray) -> Source:
        c = self.chunks[i]
        return Source(id=c.id, document=c.document, title=c.title, trial=c.trial, about=c.about, kind=c.kind,
                      role=c.role, asks=c.asks, section=c.section, text=c.text, score=round(float(cosine[i]), 4),
                      primary=bool(self._primary[i]))

    def asks_primary(self, question: str, reading: Reading | None = None) -> bool:
        """Does the question ask for a trial's effect without naming what was measured ("HR for the 80mg arm vs
        pbo, with CI?", "was it significant?"): nothing of its own but effect words and the arms' names? Naming the
        primary outcome and asking its rates ("the primary endpoint event rates in each arm?") asks it too, unless
        it names something the page says elsewhere and not in its primary result ("... in the subgroup with X"), as
        asking for "the main result" does, however the rest of the question frames it."""
        if not self.chunks or reading is not None and (reading.out_of_scope or (
                not {"finding", "design.outcome"} & set(reading.kinds or ()) and not _MAIN_RESULT.search(question))):
            return False
        # "what does the 43.6% mean?": the sentence that gives it answers ("with its 95% CI" quotes no result)
        if re.search(r"\d\.\d|\d\s?%", _CI_LEVEL.sub(" ", question)):
            return False
        asked = set(tokenize(question))
        named = set().union(*self.arm_words.values()) if self.arm_words else set()
        own = {t for t in self._content_words(question) if t not in effect_words() | effect_frame() and t not in named
               and t not in self._drugs_tokens}
        if _MAIN_RESULT.search(question):
            # "the main result in simple language for our panel": asked of it, unless it names what another
            # finding reports and the primary result does not ("the main finding for overall survival")
            phrase = set(tokenize(" ".join(m.group() for m in _MAIN_RESULT.finditer(question))))
            return not {t for t in own - phrase if t in self._finding_words and t not in self._primary_words}
        if _PRIMARY.search(question) and (asked & effect_words() or _ASKS_RATE.search(question)):
            phrase = set(tokenize(" ".join(m.group() for m in _PRIMARY.finditer(question))))
            # everyday words and words the page does not use ("lay out", "side by side") frame the question; words
            # of the primary result itself ("events") are its own
            own = {t for t in own - phrase if t in self.bm25.vocab_dict and t not in self._primary_words
                   and not everyday(t, 4.0)}
            return not own
        return not own and bool(asked & effect_words())

    def _primary_for(self, question: str, mask: np.ndarray) -> np.ndarray:
        """The primary results of the mask's pages that give every dose the question names ("HR for 40mg?" is not
        answered by the 80 mg arm's result)."""
        doses = doses_in(question)
        keep = mask & self._primary
        if doses:
            for idx in np.flatnonzero(keep):
                if not doses <= doses_in(self.chunks[int(idx)].text):
                    keep[int(idx)] = False
        return keep

    def _content_words(self, query: str) -> set[str]:
        """The question's words that carry its subject; a hyphenated name counts by its parts."""
        # Measures ("number", "rate") are not subjects; an abbreviation counts by its spelled-out words.
        # A specialty the learner names ("as a nephrologist") says who asks, not what about.
        query = without_asker(query)
        who = {t for w in TOKEN.findall(americanise(query.lower())) if names_specialty(w) for t in tokenize(w)}
        return {t for t in tokenize(query) if len(t) > 1 and not t[0].isdigit() and t not in phrasing()
                and t not in measures() and t not in self._short_forms and not re.search(r"[\-/]", t)
                and t not in who}

    def _coverage(self, query: str) -> tuple[float, set[str]]:
        """Share of the question's content words that occur anywhere in the sources, and those that do not; the
        question without the library's trial names (`_without_trials`: a trial's name, however shortened, is
        known). A topic trials report or leave out ("cardiac", "cost": the lexicon's topics) is a trial
        question's word even when a page never uses it: the answer says it is not reported."""
        tokens = self._content_words(query)
        # A lay word the lexicon translates ("shrink" -> response rate) is known by its translation.
        # The lexicon's own long forms ("left ventricular ejection fraction") are trial words too.
        unknown = {t for t in tokens if t not in self.bm25.vocab_dict and t not in topics() and t not in self._long_forms
                   and t not in self._asked_words and not self._stem_of_known(t) and not self._inhibitor_short(t)}
        unknown -= {t for w in TOKEN.findall(americanise(query.lower())) if translated(w) for t in tokenize(w)}
        unknown -= translated_phrases(query)
        # "ORs", "HRs": the plural of a short form the pages define is that short form
        unknown -= {t for w in re.findall(r"\b([A-Z]{2,6})s\b", query) if w in self._upper_short_forms
                    for t in tokenize(w + "s")}
        # No word of its own ("What should I watch for?"): nothing in it is foreign to the sources.
        return (1 - len(unknown) / len(tokens) if tokens else 1.0), unknown

    def _inhibitor_short(self, word: str) -> bool:
        """Is this a drug class's short form, its target with an 'i' ("ABC2i", "ACEi"), of a target the pages
        name right before "inhibitor"?"""
        word = word.lower()
        return len(word) >= 4 and word.endswith("i") and bool(self.chunks) and (word[:-1], "inhibitor") in self._pairs

    def _stem_of_known(self, token: str) -> bool:
        """Is this stem the start of a word the sources use, short of at most STEM_SUFFIX letters ("rebleeds" stems
        to "reble", the pages' "rebleeding" to "rebleed")? The stemmer cuts some forms of one word differently."""
        return len(token) >= 5 and token in self._stems_short

    def _heading_hits(self, query: str) -> dict[int, float]:
        """Chunks whose own heading the query names: in full ("Overall Survival", "ALPHA
        Trial"), or two of its three words or more ("quality of life" for "Quality of Life Paradigm")."""
        # "before randomization", "at baseline": a point in time, not the part of the page asked about
        query = _TIME_POINT.sub(" ", query)
        terms, words = set(tokenize(query)), query_words(query)
        hits = {}
        # Only a heading that shares a term with the query can be named by it: looked up, not scanned.
        for i in sorted({i for t in terms for i in self._by_heading_term.get(t, ())}):
            heading, written = self._headings[i]
            shared = len(heading & terms)
            if names_heading(heading, written, terms, words):
                hits[i] = 1.0
            elif shared >= 2 and shared * 3 >= len(heading) * 2:
                hits[i] = 0.5  # named in part: half the weight
        return hits

    @staticmethod
    def _rarity(query: str, unknown: set[str]) -> float:
        """The unknown words' weight as subjects: everyday words ("live", "pill") weigh little, words of
        another specialty ("asthma", "pembrolizumab") weigh fully."""
        weights: dict[str, float] = {}
        for word in TOKEN.findall(americanise(query.lower())):
            for stem in set(tokenize(word)) & unknown:
                weights[stem] = max(weights.get(stem, 0.0), rarity(word))
        return sum(weights.values())

    def _unknown_names(self, query: str) -> tuple[list[str], list[str], bool]:
        """Trials and drugs ("KATHERINE", "pembrolizumab"), then diseases ("colon cancer"), that the
        question names and the sources never mention: the sources cannot answer about them, however
        close the embedding. Last, whether a disease's missing qualifier is a word the sources never use
        at all ("gastric"), not one they use elsewhere ("brain")."""
        vocab = self.bm25.vocab_dict if self.chunks else {}
        is_drug, drug_word = drug_pattern()
        unknown = []
        for name in [*_NAME.findall(query), *drug_word.findall(query)]:
            if name[0].isdigit() or (len(name) < 4 and not is_drug.search(name)):
                continue  # numbers are checked by the numeric guard; short acronyms (MD, UK) are too common
            if name.upper() in self._upper_short_forms or translated(name):
                continue  # an abbreviation the pages define ("PFS", "ABC-1") or the lexicon reads ("LFTs") is known
            if any(p.fullmatch(name) for p in self._trial_patterns.values()):
                continue  # a trial of the library, as learners shorten it
            if set(tokenize(name)) <= topics():
                continue  # a topic trials may not report ("QALY"): answered as not reported
            if self._inhibitor_short(name):
                continue  # "ABC2i" on a page that names ABC2 inhibitors
            # "ALPHA-Lung09" is not "ALPHA-Lung03", "PARADIGM-HF" is not "paradigm": a name with a
            # number, or of several capitalised parts, is known only whole ("ER-positive" by its parts).
            if TRIAL_LIKE.search(name) and not re.search(r"\d+\.\d+$", name):
                if not self._known_run(name, query):  # a whole word of the text, not a part of one
                    unknown.append(name)
            elif not any(t in vocab for t in tokenize(name)):
                unknown.append(name)
        implied, diseases, foreign = expanded_words(query), [], False
        for match in _DISEASE.finditer(americanise(query.lower())):
            words, stem = match.group(1).split(), match.group(2)[:5]  # cancer(s), tumo(u)r(s)
            while any(set(tokenize(w)) & implied for w in words):
                words = words[1:]  # "shrink tumours": a verb an expansion stands for, not a qualifier
            while any(w in STOPWORDS or w in phrasing_words() or w.isdigit() or len(w) < 3 for w in words):
                words = words[1:]  # "of cancer", "the 2 tumours", "people's tumours": no qualifier
            for qualifier in words:
                if qualifier not in self._qualifiers.get(stem, ()):
                    diseases.append(match.group(0).strip())
                    # "gastric", not "shrink" (a verb the lexicon reads) nor "larger" (everyday English)
                    foreign = foreign or not (any(t in vocab for t in tokenize(qualifier)) or translated(qualifier)
                                              or everyday(qualifier, FOREIGN_ZIPF))
                    break
        return unknown, diseases, foreign

    def _known_run(self, name: str, query: str) -> bool:
        """Is this name, as the question writes it, a whole word or hyphenated name of the sources? Read with
        the run of the question around it and without trailing everyday words: "ALPHA-1-only arm" names
        "ALPHA-1", which the sources use."""
        name = americanise(name.lower())
        for run in _RUN.findall(americanise(query.lower())):
            if not (run == name or run.startswith(name + "-") or run.endswith("-" + name) or f"-{name}-" in run):
                continue
            # what is left must be a treatment or trial of the library ("alpha-1"), not a word the name
            # began with ("paradigm-hf") nor another population ("beta2-low" is not "beta2")
            while run not in self._runs and "-" in run and everyday(run.rsplit("-", 1)[1]):
                run = run.rsplit("-", 1)[0]
                if run in self._drugs or any(p.fullmatch(run) for p in self._trial_patterns.values()):
                    return True
        # "EQ-5D" for the pages' "EQ-5D-5L": a name the pages write with a short variant after it
        variant = "-" in name and any(run.startswith(name + "-") and len(run) - len(name) <= 3 for run in self._runs)
        return name in self._runs or variant or any(
            form in self._text and re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", self._text)
            for form in self._written_forms(name))

    def _written_forms(self, name: str) -> set[str]:
        """Other ways the pages may write a name (lower case): with or without a space or hyphen between its word
        and its number ("grade3", "grade 3", "grade-3"), and with a short form before the number spelled out
        ("il-6", "interleukin-6"; one way only: a long form in the question is not shortened)."""
        match = re.fullmatch(r"([a-z]+)[- ]?(\d[\w-]*)", name)
        if not match:
            return set()
        word, number = match.groups()
        words = {word, self._long_form[word]} if word in self._long_form else {word}
        return {f"{w}{joint}{number}" for w in words for joint in ("", " ", "-")} - {name}

    def _distinctive_match(self, query: str) -> bool:
        """Does the query name something the sources name: a trial, a drug, a number?"""
        return bool(set(tokenize(query)) & self._names)
