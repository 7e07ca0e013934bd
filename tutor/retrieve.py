"""Hybrid retrieval: dense (Chroma, cosine) and keyword (BM25) search, fused by reciprocal rank.

Keyword search catches what embeddings blur: numbers ("0.65"), drug and trial names
("T-DM1", "TH3RESA"). The BM25 index and the chunk embeddings live in memory and are
rebuilt only when the store changes.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import bm25s
import numpy as np
import Stemmer
from threadpoolctl import threadpool_limits

from tutor.schema import Chunk, Source
from tutor.store import Store

# numpy's OpenBLAS threads and torch's OpenMP threads (the query embedding) fight over the
# cores: on 2 cores a 4,200-passage store took hybrid search p95 from 23 ms to 130 ms. The
# matrix products here are small; one BLAS thread is plenty.
threadpool_limits(1, user_api="blas")

RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of top ranks
_stemmer = Stemmer.Stemmer("english")
TOKEN = re.compile(r"[a-z0-9]+(?:[.\-/][a-z0-9]+)*")
_NAME = re.compile(
    r"\b(?:[A-Z][A-Za-z]*[A-Z0-9][A-Za-z0-9-]*|[A-Za-z]+(?:mab|nib|tabine|taxel|tansine|tecan|ansine)|\d+\.\d+)\b"
)
STOPWORDS = frozenset(
    "a an and are as at be but by did do does for from had has have how i in is it its me of on or "
    "that the their then there these this to vs was were what when where which while who whom why "
    "will with would you your than can could should about into after before during trial study "
    "explain describe tell summarise summarize mean means show use used please give list me us "
    "my we our they them".split()
)


# Endings of drug names (USAN stems): "osimertinib", "metformin", "statins".
_DRUG_STEMS = ("mab|nib|tabine|taxel|tansine|tecan|ansine|ciclib|parib|limus|statin|pril|sartan|olol|azole"
               "|mycin|cillin|platin|rubicin|trexate|formin|gliptin|gliflozin|prazole|dronate|vudine|afil|oxetine")
_DRUG = re.compile(rf"(?:{_DRUG_STEMS})s?$", re.I)
_DRUG_WORD = re.compile(rf"\b[A-Za-z]{{3,}}(?:{_DRUG_STEMS})s?\b", re.I)
# A disease with its qualifier ("prostate cancer", "HER2-negative breast cancer"): the
# qualifier must stand before the same noun somewhere in the sources.
_DISEASE = re.compile(
    r"((?:[a-z0-9][a-z0-9\-]*\s+){1,2})(cancers?|carcinomas?|tumou?rs?|lymphomas?|leuka?emias?"
    r"|melanomas?|sarcomas?|metastas[ie]s)\b", re.I)
PROMPT_ONLY_WEIGHT = 0.5
# A question about one person's own treatment ("should my mother take T-DM1?"): the tutor teaches the
# trial and recommends nothing for an individual, whatever the backend. A person, a treatment verb and a
# treatment: "Could we get the hazard ratio?" or "What should I know about EMILIA?" is no such question.
_TREATMENT = (r"\b(t-?dm1|kadcyla|trastuzumab|emtansine|lapatinib|capecitabine|t-?dxd|enhertu|deruxtecan|"
              r"treatment|therapy|drug|chemo\w*|it)\b")
_PERSONAL = re.compile(
    r"\b(should|can|could|would|must|do|does)\s+(i|we|he|she|my \w+)\b.{0,40}"
    r"\b(take|start|stop|switch|receive|be treated|try|be given|go on|get)\b.{0,40}" + _TREATMENT
    + r"|\bmy (mother|father|mom|mum|dad|wife|husband|partner|sister|brother|friend|aunt|uncle|daughter|son|"
    r"patient|grand\w+)\b.{0,80}\b(take|start|stop|switch|receive|be treated|try|be given|go on)\b"
    r"|\bI'?m (on|taking|receiving)\b.{0,40}" + _TREATMENT
    + r"|\bis it safe for me\b|\bwhat would you (do|recommend) (for|if) (me|my)\b",
    re.I,
)


def asks_for_advice(question: str) -> bool:
    return bool(_PERSONAL.search(question))


# Asked to write something other than an answer about the trial: a tutor's sources hold no recipe or poem,
# however many trial words the request borrows ("a sonnet about hazard ratios", "lasagna with T-DM1 dosing").
_OFF_TASK = re.compile(r"\b(poems?|sonnets?|haikus?|limericks?|songs?|lyrics|recipes?|jokes?|bedtime stor(y|ies)|rap)\b",
                       re.I)


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


# British spellings meet the sources' American ones ("multicentre" finds "multicenter").
_BRITISH = [(re.compile(p), r) for p, r in (
    (r"centre", "center"), (r"tumour", "tumor"), (r"favour", "favor"), (r"haem", "hem"),
    (r"oedema", "edema"), (r"oestrogen", "estrogen"), (r"anaemi", "anemi"), (r"diarrhoea", "diarrhea"),
    (r"\b(random|organ|character|recogn|minim|maxim|priorit|util|hospital|standard|summar|general|optim"
     r"|personal|individual|emphas|special|categor|stabil)is(e|ed|es|ing|ation|ations)\b", r"\1iz\2"),
)]


def americanise(text: str) -> str:
    for pattern, replacement in _BRITISH:
        text = pattern.sub(replacement, text)
    return text


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens that keep decimals and hyphenated names whole ("9.6", "t-dm1"),
    plus the parts of a hyphenated name, in American spelling, stemmed; stop words dropped."""
    tokens: list[str] = []
    for tok in TOKEN.findall(americanise(text.lower())):
        parts = [tok] + ([p for p in re.split(r"[\-/]", tok) if p] if re.search(r"[\-/]", tok) else [])
        tokens.extend(p for p in parts if p not in STOPWORDS)
    return _stemmer.stemWords(tokens)


# Trial abbreviations and what they stand for, so "ORR" and "objective response rate" meet.
GLOSSARY = {
    "HR": "hazard ratio", "OS": "overall survival", "PFS": "progression-free survival",
    "CI": "confidence interval", "ORR": "objective response rate", "AE": "adverse event",
    "ADC": "antibody-drug conjugate",
}
_GLOSSARY = [(re.compile(rf"\b{short}s?\b"), re.compile(rf"\b{long}s?\b", re.I), short, long)
             for short, long in GLOSSARY.items()]


def spell_out(text: str) -> str:
    """The text plus the long form of each abbreviation in it and the abbreviation of each long form."""
    extra = [long for short_re, _, _, long in _GLOSSARY if short_re.search(text)]
    extra += [short for _, long_re, short, _ in _GLOSSARY if long_re.search(text)]
    return " ".join([text, *extra])


def abbreviations_in(text: str) -> list[tuple[str, str]]:
    """(short, long) for each glossary abbreviation the text uses, in glossary order."""
    return [(short, long) for short_re, _, short, long in _GLOSSARY if short_re.search(text)]


# Learners ask in words the source does not use; these expansions feed both searches.
EXPANSIONS = [
    (re.compile(r"\bside[- ]effects?\b|\btoxicit", re.I), "adverse events toxicity safety"),
    (re.compile(r"\bhow does .{0,40}\bwork\b|\bmechanism\b", re.I), "mechanism of action antibody-drug conjugate"),
    # (abbreviations, "PFS" and the like, are spelled out by `spell_out` before expansion)
    (re.compile(r"\bresponse\b", re.I), "objective response rate"),
    (re.compile(r"\bdos(e|es|ing)\b|\bschedule\b|\bhow much\b.{0,30}\b(take|took|taken|given|get|got|receive[ds]?)\b",
                re.I), "mg/kg mg/m2 intravenously orally every weeks"),
    (re.compile(r"\bhow many\b|\benrol|\brandomi[sz]ed\b|\btook part\b|\bparticipa", re.I), "sample patients"),
    (re.compile(r"\bblind", re.I), "open-label design"),
    (re.compile(r"\beligib|\binclusion\b|\benrolled\b", re.I), "population patients previously treated"),
    (re.compile(r"\bt-?dxd\b|\bderuxtecan\b|\bdestiny\b", re.I), "DESTINY-Breast03 trastuzumab deruxtecan"),
    (re.compile(r"\bdosed\b|\bcycles?\b|\bhow often\b", re.I), "mg/kg mg/m2 every weeks 21-day cycles"),
    (re.compile(r"\b(got|get|gets|getting) worse\b|\bworsen|\bcontrolled\b", re.I), "progression-free survival"),
    (re.compile(r"\bswitch(ed|es|ing)?\b|\bcross(ed|es)? over\b", re.I), "crossover"),
    (re.compile(r"\b(find|found|findings|show|showed|shown)\b", re.I), "key result findings"),
    (re.compile(r"\bpractice[- ]chang|\bstandard of care\b|\blandmark\b", re.I),
     "established a new standard of care paradigm shift"),
    (re.compile(r"\bwhat (were|are|was) the (main |key |headline |overall )?(results?|outcomes?)\b|\bwhat happened\b",
                re.I),
     "key findings progression-free survival overall survival improved"),
    (re.compile(r"\bwhat did (the )?(emilia|trial|study|it)( trial| study)? compare\b|\bwhich patients\b|\bin whom\b"
                r"|\bwho (was|were) (enrolled|included)\b", re.I),
     "compared to the standard combination of lapatinib and capecitabine previously treated"),
    (re.compile(r"\blive[ds]?\b|\bliving\b|\blonger\b|\bdeath\b|\bdying\b|\bdie[ds]?\b", re.I),
     "overall survival median OS hazard ratio"),
    (re.compile(r"\btumou?rs? shr[iu]nk|\bshr[iu]nk\w*\s+(?:the\s+|their\s+)?(?:tumou?rs?|cancers?|lesions?)\b"
                r"|\brespond|\btumou?r (size|shrinkage)\b", re.I), "objective response rate"),
    (re.compile(r"\bhow (big|large)\b|\bsize\b", re.I), "sample patients"),
    (re.compile(r"\bcent(re|er)s?\b|\bmulti-?cent|\bcountries\b|\bsites?\b", re.I), "multicenter global setting"),
    (re.compile(r"\bpublish|\bjournal\b", re.I), "New England Journal of Medicine"),
    (re.compile(r"\blinker\b|\bpayload\b", re.I), "antibody-drug conjugate linker payload"),
    (re.compile(r"\b(get|gets|go|goes) (inside|into)\b|\binternali[sz]", re.I), "receptor-mediated endocytosis"),
    (re.compile(r"\bless (common|frequent)\b|\bfewer\b|\btolerat", re.I), "adverse events toxicity less frequent"),
    (re.compile(r"\bhard on\b|\btough on\b|\bburden", re.I), "debilitating toxicity burden caused"),
    (re.compile(r"\bmore (common|frequent|often)\b|\bhigher rates?\b", re.I), "more frequent higher rates"),
    (re.compile(r"\b(what )?(kind|type|sort) of (study|trial)\b|\bstudy design\b", re.I), "design RCT open-label"),
    (re.compile(r"\bweakness|\bflaw|\bshortcoming|\bcriticis|\bcritique|\bcaveat", re.I),
     "study limitations limiting generalizability"),
    (re.compile(r"\bquality of life\b", re.I), "patient-reported outcomes treatment experience"),
    (re.compile(r"\blabs?\b|\blaboratory\b|\bblood (tests?|counts?)\b|\bmonitor", re.I),
     "thrombocytopenia elevated transaminases careful monitoring"),
]

# Question phrasing, not subject: never a sign that the question is about something else.
PHRASING_WORDS = frozenset(
    "many much often each kind long get got go goes say said main common big sit think matter "
    "happen happened anyone someone people person new old best like know need well really exactly "
    "considered consider important".split()
)
PHRASING = frozenset(tokenize(" ".join(PHRASING_WORDS)))


def expansions(query: str) -> list[str]:
    """What each expansion that fits the question adds, one string per expansion."""
    return [words for pattern, words in EXPANSIONS if pattern.search(query)]


def expand(query: str) -> str:
    return " ".join([query, *expansions(query)])


def expanded_words(query: str) -> set[str]:
    """The question's own words that an expansion stands for ("shrink" in "shrink tumours")."""
    covered: set[str] = set()
    for pattern, _ in EXPANSIONS:
        for match in pattern.finditer(query):
            covered.update(tokenize(match.group(0)))
    return covered


# "And the hazard ratio?", "what about OS?", "same for the control arm": a question that leans on
# the one before it.
_FOLLOW_UP = re.compile(r"^\s*(and|also|what about|how about|what of|same for|and what about|then)\b", re.I)
_POINTS_BACK = re.compile(r"\b(that|those|it|this|they|them|the same)\b\W*$", re.I)


def is_follow_up(question: str) -> bool:
    """Opens like a follow-up ("and ...", "what about ...") in 8 words or fewer, or is a very short
    question that only points back ("Why is that?"); "What did the trial show about it?" is not."""
    words = len(question.split())
    return (words <= 8 and bool(_FOLLOW_UP.search(question))) or (words <= 4 and bool(_POINTS_BACK.search(question)))


@dataclass
class Retrieval:
    query: str
    sources: list[Source]
    best_score: float  # cosine similarity of the closest passage
    in_scope: bool
    timings_ms: dict[str, float]


class HybridRetriever:
    def __init__(self, store: Store, top_k: int = 4, relevance_floor: float = 0.3, mode: str = "hybrid"):
        self.store = store
        self.top_k = top_k
        self.relevance_floor = relevance_floor
        self.mode = mode  # "hybrid", "dense" or "keyword": the benchmark compares them
        self._lock = threading.Lock()
        self._version: str | None = None  # the store's revision the index was built from
        self._refreshing = threading.Lock()
        self.refresh()

    def refresh(self, force: bool = True) -> None:
        """(Re)build the in-memory keyword index from the store; searches go on with the old
        index until the new one is ready."""
        with self._refreshing:
            version = self.store.revision()  # read first: a write during the rebuild triggers another
            if not force and version == self._version:
                return  # another thread has just rebuilt it
            chunks, vectors = self.store.chunks(with_embeddings=True)
            matrix = np.asarray(vectors, dtype=np.float32) if len(chunks) else np.zeros((0, 1), np.float32)
            bm25 = bm25s.BM25()
            corpus = [tokenize(f"{c.section} {c.text}") for c in chunks]
            # Names and numbers of the sources: acronyms and mixed case (EMILIA, T-DM1, HER2),
            # drug names by their stems' endings, decimals ("0.65").
            names = {
                t for c in chunks for t in tokenize(" ".join(_NAME.findall(c.text)))
                if len(t) > 2 and not t.isdigit()
            }
            if chunks:
                bm25.index(corpus, show_progress=False)
            asks_only = np.array([is_prompt_only(c.text) for c in chunks], dtype=bool)
            with self._lock:
                self.chunks: list[Chunk] = chunks
                self.by_id = {c.id: i for i, c in enumerate(chunks)}
                self.matrix, self.bm25, self._names = matrix, bm25, names
                self._asks_only = asks_only
                self._headings = [(heading_terms(c.section), heading_words(c.section)) for c in chunks]
                self._text = americanise(" ".join(c.text for c in chunks).lower())
                self._version = version

    def sync(self) -> None:
        """Refresh when the collection changed since the index was built, here or in another
        process sharing the Chroma server: one small metadata read per search."""
        if self.store.revision() != self._version:
            self.refresh(force=False)

    def _keyword(self, query: str, k: int) -> list[int]:
        vocab = self.bm25.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens or not self.chunks:
            return []
        scores = self.bm25.get_scores(tokens)
        order = np.argsort(-scores)[:k]
        return [int(i) for i in order if scores[i] > 0]

    def _dense(self, vector: list[float], k: int) -> list[int]:
        hits = self.store.vectors.similarity_search_by_vector_with_relevance_scores(vector, k=min(k, len(self.chunks)))
        return [self.by_id[doc.id] for doc, _ in hits if doc.id in self.by_id]

    def search(self, query: str, top_k: int | None = None) -> Retrieval:
        k = top_k or self.top_k
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        # Scope is judged on the question as asked, abbreviations spelled out ("ORR"), not on
        # its expansions, which would pull any question towards the sources.
        spelled = spell_out(query)
        expanded = expand(spelled)
        if expanded == spelled:
            raw = vector = self.store.embeddings.embed_query(spelled)
        else:  # one batch: the expanded query searches, the raw one judges scope
            raw, vector = self.store.embeddings.embed_documents([spelled, expanded])
        t1 = time.perf_counter()
        timings["embed"] = (t1 - t0) * 1000
        self.sync()
        pool = max(k * 3, 10)
        if not self.chunks:
            timings["search"] = 0.0
            return Retrieval(query, [], 0.0, False, timings)
        with self._lock:
            rankings = []
            if self.mode in ("hybrid", "dense"):
                rankings.append(self._dense(vector, pool))
            if self.mode in ("hybrid", "keyword"):
                rankings.append(self._keyword(expanded, pool))
            fused: dict[int, float] = {}
            for ranking in rankings:
                for rank, idx in enumerate(ranking):
                    fused[idx] = fused.get(idx, 0.0) + 1.0 / (RRF_K + rank + 1)
            heading_hits = self._heading_hits(expanded)
            for idx, weight in heading_hits.items():  # the question names a section's subject: as good as a top rank
                fused[idx] = fused.get(idx, 0.0) + weight / (RRF_K + 1)
            for idx in fused:
                if self._asks_only[idx]:  # a discussion prompt shares the question's words but answers nothing
                    fused[idx] *= PROMPT_ONLY_WEIGHT
            cosine = self.matrix @ np.asarray(vector, dtype=np.float32)
            best = float((self.matrix @ np.asarray(raw, dtype=np.float32)).max())
            keyword_hit = self._distinctive_match(query)
            chosen = sorted(fused, key=lambda i: (-fused[i], -cosine[i]))[:k]
            sources = [
                Source(id=self.chunks[i].id, document=self.chunks[i].document, title=self.chunks[i].title,
                       section=self.chunks[i].section, text=self.chunks[i].text, score=round(float(cosine[i]), 4))
                for i in chosen
            ]
        timings["search"] = (time.perf_counter() - t1) * 1000
        # In scope when a passage is close in meaning; or, a little less close, when the
        # question's own words are the sources' words; or when it names what the sources
        # name (a trial, a drug, a number). Off-topic questions fail all three.
        floor = self.relevance_floor
        coverage = self._coverage(expanded)
        # Out of scope, however close the embedding, when the question names trials or drugs
        # the sources never mention, or when its subject lies outside them: more than half of
        # its words, two at least, appear nowhere in the sources ("adjuvant therapy for stage
        # II colon cancer", "the cost of T-DM1 in Canada") and no passage is a close match.
        foreign = len(self._unknown_words(expanded)) >= 2 and coverage < 0.5 and best < floor + 0.25
        # Nor is a request for a poem or a recipe, or for advice on one person's own treatment.
        refused = foreign or bool(_OFF_TASK.search(query)) or asks_for_advice(query) or bool(self._unknown_names(query))
        in_scope = bool(sources) and not refused and (
            best >= floor + 0.1
            or (best >= floor - 0.1 and coverage > 0.5)
            or (keyword_hit and best >= floor / 2)
        )
        return Retrieval(query, sources, best, in_scope, timings)

    def _content_words(self, query: str) -> set[str]:
        """The question's words that carry its subject; a hyphenated name counts by its parts."""
        return {t for t in tokenize(query)
                if len(t) > 1 and not t.isdigit() and t not in PHRASING and not re.search(r"[\-/]", t)}

    def _unknown_words(self, query: str) -> set[str]:
        return {t for t in self._content_words(query) if t not in self.bm25.vocab_dict}

    def _coverage(self, query: str) -> float:
        """Share of the question's content words that occur anywhere in the sources."""
        tokens = self._content_words(query)
        if not tokens:
            return 0.0
        return 1 - len(self._unknown_words(query)) / len(tokens)

    def _heading_hits(self, query: str) -> dict[int, float]:
        """Chunks whose own heading the query names: in full ("Overall Survival", "CLEOPATRA
        Trial"), or two of its three words or more ("quality of life" for "Quality of Life Paradigm")."""
        terms, words = set(tokenize(query)), query_words(query)
        hits = {}
        for i, (heading, written) in enumerate(self._headings):
            shared = len(heading & terms)
            if names_heading(heading, written, terms, words):
                hits[i] = 1.0
            elif shared >= 2 and shared * 3 >= len(heading) * 2:
                hits[i] = 0.5  # named in part: half the weight
        return hits

    def _unknown_names(self, query: str) -> list[str]:
        """Trials and drugs the question names that the sources never mention ("KATHERINE",
        "pembrolizumab"): the sources cannot answer about them, however close the embedding."""
        vocab = self.bm25.vocab_dict if self.chunks else {}
        unknown = []
        for name in [*_NAME.findall(query), *_DRUG_WORD.findall(query)]:
            if name[0].isdigit() or (len(name) < 4 and not _DRUG.search(name)):
                continue  # numbers are checked by the numeric guard; short acronyms (MD, UK) are too common
            tokens = tokenize(name)
            # "DESTINY-Breast09" is not "DESTINY-Breast03": a name with a number is known only whole.
            if not any(t in vocab for t in (tokens[:1] if re.search(r"\d", name) else tokens)):
                unknown.append(name)
        # "adjuvant therapy for colon cancer", "first-line for HER2-negative breast cancer": the
        # sources never put that qualifier before that disease, so they are about another one.
        implied = expanded_words(query)
        for match in _DISEASE.finditer(americanise(query.lower())):
            words, stem = match.group(1).split(), match.group(2)[:5]  # cancer(s), metastas(is|es)
            while any(set(tokenize(w)) & implied for w in words):
                words = words[1:]  # "shrink tumours": a verb an expansion stands for, not a qualifier
            while any(w in STOPWORDS or w in PHRASING_WORDS or w.isdigit() for w in words):
                words = words[1:]  # "of cancer", "the 2 tumours": no qualifier
            for qualifier in words:
                if not re.search(rf"\b{re.escape(qualifier)}\W+(?:[\w\-]+\W+){{0,2}}{stem}", self._text):
                    unknown.append(match.group(0).strip())
                    break
        return unknown

    def _distinctive_match(self, query: str) -> bool:
        """Does the query name something the sources name: a trial, a drug, a number?"""
        return bool(set(tokenize(query)) & self._names)
