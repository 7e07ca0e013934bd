"""What words mean: tokens, spellings, abbreviations and lay wording, for retrieval, scope and the
offline model alike.

The meanings are data (`tutor/data/lexicon.yaml`, general to oncology trials); a trial's own
abbreviations ("hazard ratio [HR]", "drug name (ABC-1)") are learned from its page with `learn_abbreviations`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path

import Stemmer

from tutor import yaml_data

DATA = Path(__file__).with_name("data") / "lexicon.yaml"
# a number keeps its thousands separators ("2,406" is one figure, not a 2 and a 406)
TOKEN = re.compile(r"[a-z0-9]+(?:[.\-/][a-z0-9]+|,\d{3}(?!\d))*")
STOPWORDS = frozenset(
    "a an and are as at be but by did do does for from had has have how i in is it its me of on or "
    "that the their then there these this to vs was were what when where which while who whom why "
    "will with would you your than can could should about into after before during trial study "
    "explain describe tell summarise summarize means show use used please give list me us "
    "my we our they them those whether been being".split()
)
_stemmer = Stemmer.Stemmer("english")
# "mean" the verb ("what does the HR mean?", "does that mean for practice") says nothing of the subject;
# "mean" the statistic ("the mean change", "a mean of 5.4", "mean age") is the subject's measure.
_MEAN_VERB = re.compile(r"(\b(?:do|does|did|would|will|could|might|may|should|to|i|not)\b(?:\s+\S+){0,8}?\s+)mean\b"
                        r"(?=\s*(?:[?!.,;:)]|$|\s+(?:for|that|to|when|if|clinically|practically|in practice)\b))")


@lru_cache(maxsize=1)
def _data() -> dict:
    return yaml_data.safe_load(DATA.read_text(encoding="utf-8"))


@lru_cache(maxsize=4096)
def rarity(word: str) -> float:
    """How much a word the sources never use says about a question's subject: 0 for everyday English
    ("live", "simply", "spread"), 1 for words rare outside a specialty ("pembrolizumab", "sarcoidosis").
    From the word's frequency in general English (wordfreq's Zipf scale: 6 is "back", 3 is "asthma"). A
    word English does not know that is two common words run together ("tradeoff", "followup") weighs as its rarer
    part; "statins" and "legionella" are not ("stat" and "ins", "legion" and "ella" are not common enough)."""
    from wordfreq import zipf_frequency

    zipf = zipf_frequency(word, "en", wordlist="small")
    weight = min(1.0, max(0.0, (6.0 - zipf) / 4.0))
    if zipf == 0 and word.isalpha() and len(word) >= 6:  # a word English writes apart, not one it knows ("prostate")
        halves = [(word[:i], word[i:]) for i in range(3, len(word) - 2)]
        parts = [max(rarity(a), rarity(b)) for a, b in halves if everyday(a, COMPOUND_ZIPF) and everyday(b, COMPOUND_ZIPF)]
        weight = min([weight, *parts])
    return weight


# Each part of a word run together from two ("tradeoff") must be at least this common: "trade", "off", not "stat".
COMPOUND_ZIPF = 4.0


class Speller:
    """Mends a question's misspellings of the words its library uses ("maintanance", "side effcts"): a
    word within one edit (two, for a word of ten letters or more) of exactly one word the library or its
    example questions use, with the same first letter, is read as that word. Everyday words, forms of
    the library's words ("relapsed"), names (a capital inside the question, or several) and words far
    from any of the library's ("pembrolizumab") are left as written, so a question about another subject
    stays one. Edit distance by RapidFuzz (a transposition counts as one edit)."""

    _WORD = re.compile(r"(?<!\w)[A-Za-z]{4,}(?!\w)")
    # A word run into its number ("Grade3", "wk16", "12mo"): the pages write them apart ("grade 3", "week 16").
    _FUSED = re.compile(r"(?<![\w-])(?:([A-Za-z]{2,})(\d+)|(\d+)([A-Za-z]{2,}))(?![\w-])")

    def __init__(self, words, spaced=frozenset(), names=frozenset(), hyphenated=frozenset()):
        from collections import Counter

        # the library's drug names: a learner's first letters of one ("renza") are that drug
        self._names = sorted({n.lower() for n in names if len(n) >= 7 and n.isalpha()})

        # the words the library writes before a number, apart from it ("grade 3"): only these are set apart when
        # a question runs them together; "ALPHA09" beside the library's "ALPHA 03" is a name, kept whole
        self._spaced = spaced
        words = [w.lower() for w in words]
        self._stems = frozenset(t for w in set(words) for t in tokenize(w))
        # Only a word that says what is asked is a mend: never a word as common as "here" or "which".
        counts = Counter(w for w in words if len(w) >= 4 and w.isalpha() and not everyday(w, 6.0))
        self._counts = counts
        self._by_start: dict[tuple[str, int], list[str]] = {}
        for word in counts:
            self._by_start.setdefault((word[0], len(word)), []).append(word)
        self._mended: dict[str, str | None] = {}
        # the library's hyphenated names as learners run them together: "eq5d" for "EQ-5D(-5L)", "alpha1" for "ALPHA-1"
        joined: dict[str, set[str]] = {}
        for run in hyphenated:
            pieces = run.split("-")
            for n in range(2, len(pieces) + 1):
                joined.setdefault("".join(pieces[:n]), set()).add("-".join(pieces[:n]))
        known = set(words)
        self._joined = {k: v.pop() for k, v in joined.items()
                        if len(v) == 1 and len(k) >= 4 and k not in known and not everyday(k)}

    def correct(self, text: str) -> str:
        """The text with each misspelt word replaced by the library's word, and each word run into its number
        ("wk16") set apart from it; unchanged when neither applies."""
        text = self._RUN_TOGETHER.sub(self._hyphenate, self.unfuse(text)) if self._joined else self.unfuse(text)
        return self._WORD.sub(lambda m: self._mend(m.group(0), m.start() == 0), text)

    _RUN_TOGETHER = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z0-9]{3,}(?![\w-])")

    def _hyphenate(self, match: re.Match) -> str:
        word = match.group(0)
        name = self._joined.get(word.lower())
        if name is None:
            return word
        out, letters = [], iter(word)  # the learner's own letters, hyphens where the name has them: "AZb1" -> "AZ-b1"
        for ch in name:
            out.append(ch if ch == "-" else next(letters))
        return "".join(out)

    def unfuse(self, text: str) -> str:
        """The text with each word run into its number set apart as the library writes it ("PASI90" -> "PASI 90");
        no word mended."""
        return self._FUSED.sub(self._unfuse, text)

    def _unfuse(self, match: re.Match) -> str:
        """"Grade3" -> "Grade 3" when the library writes "grade 3"; "wk16" -> "wk 16" and "12mo" -> "12 mo", the
        lexicon's shorthand; "HER2", "CD4" and "DELTA-Lung04" (a name the library lacks) stay whole."""
        letters, number = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        if not (translated(letters) or match.group(1) and americanise(letters.lower()) in self._spaced):
            return match.group(0)
        return f"{letters} {number}" if match.group(1) else f"{number} {letters}"

    def _mend(self, word: str, first: bool) -> str:
        lower = word.lower()
        if (word[0].isupper() and not first) or sum(c.isupper() for c in word) > 1:
            return word  # a name ("Hera", "HERA")
        if everyday(lower) or set(tokenize(lower)) <= self._stems:
            return word  # an everyday word, or a form of a word the library uses ("relapsed")
        if lower not in self._mended:
            self._mended[lower] = self._nearest(lower) or self._completed(lower)
        fixed = self._mended[lower]
        if fixed is None:
            return word
        return fixed.capitalize() if word[0].isupper() and not word.isupper() else fixed

    def _completed(self, word: str) -> str | None:
        """The one drug name of the library that the word begins, three letters or more short of it ("renza" for
        "renzabercept"); none when it begins two, or is too short to tell (under five letters)."""
        if len(word) < 5:
            return None
        found = [n for n in self._names if n.startswith(word) and len(n) >= len(word) + 3]
        return found[0] if len(found) == 1 else None

    def _nearest(self, word: str) -> str | None:
        from rapidfuzz.distance import DamerauLevenshtein

        most = 1 if len(word) < 10 else 2
        # A four-letter word one letter short or long of another is as often shorthand ("appy" for appendicectomy,
        # not "apply"): only a slip of the same length ("tiem") is mended.
        reach = 0 if len(word) < 5 else most
        candidates = [w for n in range(len(word) - reach, len(word) + reach + 1)
                      for w in self._by_start.get((word[0], n), ())]
        scored = sorted((DamerauLevenshtein.distance(word, w, score_cutoff=most), -self._counts[w], w) for w in candidates)
        scored = [s for s in scored if s[0] <= most]
        if not scored:
            return None
        best = scored[0]
        if any(d == best[0] and tokenize(w) != tokenize(best[2]) for d, _, w in scored[1:]):
            return None  # two different words as near: no guess ("effect" and "effects" are one word)
        return best[2]


@lru_cache(maxsize=8192)
def everyday(word: str, zipf: float = 3.0) -> bool:
    """A word of everyday English ("form", "worse"): never a misspelling, whatever the library uses.
    wordfreq's small list (words down to Zipf 3) answers every threshold used here, in 4 MB of memory
    rather than the large list's 37 MB."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en", wordlist="small") >= zipf


# Languages a learner might answer in instead of English (wordfreq's lists for them ship with the package).
_OTHER_LANGUAGES = ("es", "fr", "de", "it", "pt", "nl", "pl", "sv", "tr", "id", "ro", "cs")


@lru_cache(maxsize=8192)
def _foreign(word: str) -> bool:
    """A common word of another language that English hardly uses ("con", "avec", "mit"); names and
    abbreviations ("alphazumab", "HR") are in no language's list and count for none."""
    from wordfreq import zipf_frequency

    english = zipf_frequency(word, "en", wordlist="small")
    other = max(zipf_frequency(word, lang, wordlist="small") for lang in _OTHER_LANGUAGES)
    return other >= 4.0 and other - english >= 2.0


def not_english(text: str) -> bool:
    """The text is written in another language: most of its letters outside the Latin script, or two words in
    five common in another language and rare in English (an English answer, however terse, has under one in
    five)."""
    letters = [c for c in text if c.isalpha()]
    if letters and sum("LATIN" not in unicodedata.name(c, "") for c in letters) * 2 > len(letters):
        return True
    words = [w.lower() for w in re.findall(r"[^\W\d_]{2,}", text)]
    return len(words) >= 6 and sum(map(_foreign, words)) * 5 >= len(words) * 2


def _words(key: str) -> list[str]:
    return str(_data()[key]).split()


@lru_cache(maxsize=1)
def _spellings() -> list[tuple[re.Pattern, str]]:
    return [(re.compile(p), r) for p, r in _data()["spellings"].items()]


def americanise(text: str) -> str:
    for pattern, replacement in _spellings():
        text = pattern.sub(replacement, text)
    return text


_CONTRACTION = re.compile(r"\b(can|won|shan)['’]t\b|n['’]t\b|['’](s|re|ve|ll|d|m)\b", re.I)


def uncontract(text: str) -> str:
    """"wasn't" -> "was not", "can't" -> "can not", "patients'"/"it's" -> "patients"/"it": no stray
    "wasn" or "t" for a question's words."""
    def whole(m: re.Match) -> str:
        if m.group(1):
            return {"can": "can", "won": "will", "shan": "shall"}[m.group(1).lower()] + " not"
        return " not" if m.group(0)[0] in "nN" else ""
    return _CONTRACTION.sub(whole, text)


# Who is asking, not what about: "I'm a respiratory physician", "as a haematology fellow", "from a
# hepatology point of view". The specialty lens reads it; the question's subject is the rest.
_ASKER = re.compile(
    r"\b(?:I'?m|I am|we'?re|we are|as|for|speaking as)\s+(?:a|an|the|one)\s+(?:[\w\-]+\s+){0,3}?"
    r"(?:physicians?|doctors?|registrars?|residents?|fellows?|consultants?|nurses?|pharmacists?|students?|"
    r"trainees?|attendings?|specialists?|surgeons?|clinicians?|editors?|reviewers?|committee|members?|"
    r"\w+ologists?|\w+iatricians?|\w+ists)\b(?:\s+(?:getting|seeing|working|reading|treating)\s+[\w\-]+(?:\s+\w+){0,2})?"
    r"|\bfrom (?:a|an|the|my)\s+(?:[\w\-]+\s+){1,3}?(?:point of view|perspective|standpoint|angle|lens)\b",
    re.I)


def without_asker(text: str) -> str:
    """The question without the asker's description of themselves."""
    return _ASKER.sub(" ", text)


DOSE_UNITS = r"mg|mcg|µg|ug|g|ml|iu|units?"
# a dose written with its unit run in ("80mg", "2g", "0.5ml"): SI units and their clinical kin, not shorthand for time
_DOSE_RUN = re.compile(rf"(\d+(?:\.\d+)?)({DOSE_UNITS}|kg|mmol)")
# what follows a dose's unit: a per-weight, per-area or per-time part ("mg/kg", "mg/m2"), never a volume ("mg/dL")
DOSE_UNIT_TAIL = r"\b(?!/(?:d?l|ml|min|h|hr)\b)(?:/(?:kg|m2|m²|day|d|dose|week|wk)\b)?"
# a dose in running text ("80 mg", "10-mg", "3.6 mg/kg", "12,500 IU"), not a level per volume ("70 mg/dL", "9 g/dL")
DOSE = re.compile(rf"(?<![\w.,])(\d[\d,]*(?:\.\d+)?)[\s-]?({DOSE_UNITS}){DOSE_UNIT_TAIL}", re.I)
# a treatment named by the dose that follows it ("quelvaprant 20 mg", "alphazumab (IV) 10 mg"): its name is group 1
DOSED = re.compile(r"([A-Za-z][\w-]{3,})\s*(?:\([^)]{1,30}\)\s*)?\d+(?:\.\d+)?\s*(?:mg|g|mcg|µg|μg|iu|units?|ml)\b", re.I)


_SAME_UNIT = {"mcg": "µg", "ug": "µg", "μg": "µg", "unit": "iu", "units": "iu"}


def dose_units(text: str) -> dict[str, set[str]]:
    """Each dose's number -> the units the text gives it in ("200 μg" and "200 mcg" are one unit, "200 mg"
    another): {"200": {"µg"}}."""
    out: dict[str, set[str]] = {}
    for m in DOSE.finditer(text):
        unit = m.group(2).lower()
        out.setdefault(m.group(1).replace(",", ""), set()).add(_SAME_UNIT.get(unit, unit))
    return out


def dose_run(word: str) -> bool:
    """Is the word a dose with its unit run in ("80mg", "0.5ml")?"""
    return bool(_DOSE_RUN.fullmatch(word))


def doses_in(text: str) -> set[str]:
    """The doses a text gives, as their numbers ("80 mg", "12,500 IU" -> {"80", "12500"})."""
    return {m.group(1).replace(",", "") for m in DOSE.finditer(text)}


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens that keep decimals and hyphenated names whole ("9.6", "x-dm1"),
    plus the parts of a hyphenated name, in American spelling, stemmed; stop words dropped."""
    return list(_tokens(text))


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    # Cached: a search tokenises the same question and its expansion several times over.
    tokens: list[str] = []
    for tok in TOKEN.findall(_MEAN_VERB.sub(r"\1", americanise(uncontract(text.lower())))):
        tok = tok.replace(",", "")  # "1,204" and "1204" are one figure
        parts = [tok] + ([p for p in re.split(r"[\-/]", tok) if p] if re.search(r"[\-/]", tok) else [])
        if dose := _DOSE_RUN.fullmatch(tok):  # "80mg" is also the page's "80 mg"
            parts += list(dose.groups())
        tokens.extend(p for p in parts if p not in STOPWORDS)
    return tuple(_root(stem) for stem in _stemmer.stemWords(tokens))


# Snowball keeps a noun's "-ure" and "-ance"/"-ence" ("failure" -> "failur", "clearance" -> "clearanc")
# that its verb has not ("failing" -> "fail", "cleared" -> "clear"); taken off, the two meet.
_NOUN_ENDING = re.compile(r"^([a-z]{4,})(?:ur|anc|enc)$")


def _root(stem: str) -> str:
    return match.group(1) if (match := _NOUN_ENDING.match(stem)) else stem


def stems(text: str) -> set[str]:
    """Every word's stem, stop words kept: for telling whether two sentences say the same thing."""
    return set(_stemmer.stemWords(TOKEN.findall(americanise(text.lower()))))


def term_groups(text: str) -> list[set[str]]:
    """The text's words as groups of search terms: a hyphenated name and its parts form one group,
    so the name counts once, not once per part."""
    groups: list[set[str]] = []
    for word in TOKEN.findall(text.lower()):
        group = set(tokenize(word))
        if group and group not in groups:
            groups.append(group)
    return groups


# -- abbreviations ----------------------------------------------------------------------------

Glossary = dict[str, str]  # short -> long


@lru_cache(maxsize=1)
def base_glossary() -> Glossary:
    return {str(k): str(v) for k, v in _data()["abbreviations"].items()}


_DEFINED = re.compile(r"((?:[A-Za-z][\w'\-]*\s+){1,6})[(\[]([A-Za-z][A-Za-z0-9\-]{1,9})[)\]]")


def learn_abbreviations(texts) -> Glossary:
    """Abbreviations a text defines, "long form (SHORT)" or "long form [SHORT]": the long form is the
    shortest run of words before the bracket that starts with the abbreviation's first letter
    (after Schwartz & Hearst, 2003). "hazard ratio [HR]" -> {"HR": "hazard ratio"}. The first
    definition of a short form wins."""
    found: Glossary = {}
    for text in texts:
        for short, long in _defined(text):
            found.setdefault(short, long)
    return found


@lru_cache(maxsize=16384)
def _defined(text: str) -> tuple[tuple[str, str], ...]:
    # Cached per text: every offline turn learns the abbreviations of the passages it was given again.
    pairs = []
    for match in _DEFINED.finditer(text):
        short = match.group(2)
        if not re.search(r"[A-Z]", short[1:] + short[0]) or short.lower() == short:
            continue
        words = match.group(1).split()
        for k in range(1, min(len(words), len(re.sub(r"[^A-Za-z]", "", short)) + 2) + 1):
            candidate = words[-k:]
            if candidate[0][0].lower() == short[0].lower():
                pairs.append((short, " ".join(candidate)))
                break
    return tuple(pairs)


@lru_cache(maxsize=64)
def _glossary_patterns(items: tuple[tuple[str, str], ...]):
    return [(re.compile(rf"(?<![\w-]){re.escape(short)}s?(?![\w-])"), re.compile(rf"\b{re.escape(long)}s?\b", re.I),
             short, long) for short, long in items]


def _patterns(glossary: Glossary | None):
    merged = {**base_glossary(), **(glossary or {})}
    return _glossary_patterns(tuple(merged.items()))


_RUN = re.compile(r"[\w-]+")  # what a short form's (?<![\w-]) ... (?![\w-]) bounds: a whole run


@lru_cache(maxsize=64)
def _glossary_lookup(items: tuple[tuple[str, str], ...]):
    """What `spell_out` looks up instead of searching the text once per pattern: a short form made of
    word characters and hyphens matches exactly when a whole run of them in the text is the short
    form (or it with an "s"), so one scan of the text finds them all; a long form can only match
    (case aside) where its lower-case letters are in the lower-cased text."""
    by_run: dict[str, list[int]] = {}
    other = []  # short forms with other characters: searched as before
    for i, (short, _) in enumerate(items):
        if _RUN.fullmatch(short):
            for run in (short, short + "s"):
                by_run.setdefault(run, []).append(i)
        else:
            other.append(i)
    longs = [long.lower() if long.isascii() else None for _, long in items]  # None: always searched
    return by_run, other, longs


def spell_out(text: str, glossary: Glossary | None = None) -> str:
    """The text plus the long form of each abbreviation in it and the abbreviation of each long form."""
    merged = {**base_glossary(), **(glossary or {})}
    items = tuple(merged.items())
    patterns = _glossary_patterns(items)
    by_run, other, longs = _glossary_lookup(items)
    found = {i for run in set(_RUN.findall(text)) for i in by_run.get(run, ())}
    found.update(i for i in other if patterns[i][0].search(text))
    extra = [patterns[i][3] for i in sorted(found)]
    # An ASCII text matches an ASCII long form case-insensitively only where text.lower() holds it.
    lowered = text.lower() if text.isascii() else None
    extra += [short for (_, long_re, short, _), long in zip(patterns, longs)
              if (lowered is None or long is None or long in lowered) and long_re.search(text)]
    return " ".join([text, *extra])


def abbreviations_in(text: str, glossary: Glossary | None = None) -> list[tuple[str, str]]:
    """(short, long) for each known abbreviation the text uses."""
    return [(short, long) for short_re, _, short, long in _patterns(glossary) if short_re.search(text)]


# -- lay wording ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _expansions() -> list[tuple[re.Pattern, str]]:
    brands = [(rf"\b{re.escape(brand)}\b", generic) for brand, generic in (_data().get("brands") or {}).items()]
    return [(re.compile(pattern, re.I), words) for pattern, words in [*_data()["expansions"], *brands]]


@lru_cache(maxsize=1024)
def _fitting(query: str) -> tuple[int, ...]:
    """The positions of the expansions whose pattern the text matches. Cached: a turn asks it of the same
    question several times (retrieval, scope and the offline model), each a scan of every pattern."""
    return tuple(i for i, (pattern, _) in enumerate(_expansions()) if pattern.search(query))


def expansions(query: str, known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """What each expansion that fits the question adds, one string per expansion. A shorthand's synonym
    is read as if written ("f/u" -> "follow-up", which a page gives as its "Duration"): the expansions that
    fit a one-word synonym fit the question too. With `known` (a page's terms), a wording the page itself
    uses needs no translating: "worsening heart-failure events" on a page that writes them is not asked as
    the progression the lexicon reads "worsening" as elsewhere."""
    table = _expansions()
    first = _fitting(query)
    if known:
        first = tuple(i for i in first if not all(set(tokenize(m.group(0))) <= known
                                                  for m in table[i][0].finditer(query)))
    synonyms = " ".join(table[i][1] for i in first if len(table[i][1].split()) == 1)
    chained = [i for i in _fitting(synonyms) if i not in first] if synonyms else []
    return [table[i][1] for i in (*first, *chained)]


def expand(query: str) -> str:
    return " ".join([query, *expansions(query)])


def expansion_phrases() -> list[str]:
    """Every string an expansion may add to a question (`expansions`), once each."""
    return list(dict.fromkeys(words for _, words in _expansions()))


@lru_cache(maxsize=4096)
def translated(word: str) -> bool:
    """Does the lexicon translate this word on its own ("shrink" -> response rate)?"""
    return any(pattern.search(word) for pattern, _ in _expansions())


def translated_phrases(query: str) -> set[str]:
    """The words of each phrase in the question that the lexicon translates as a whole ("liver enzyme"
    -> transaminases); a pattern's wildcard part ("how does ... work") is not translated."""
    words: set[str] = set()
    table = _expansions()
    for pattern, _ in (table[i] for i in _fitting(query)):  # a pattern that does not fit has no match to read
        if ".{" in pattern.pattern or ".*" in pattern.pattern:
            continue
        for match in pattern.finditer(query):
            words.update(tokenize(match.group(0)))
    return words


def expanded_words(query: str, found: Collection[str] | None = None) -> set[str]:
    """The question's own words that an expansion stands for ("shrink" in "shrink tumours"); with `found`
    (tokens of a text), only those whose expansion the text uses: "lose weight" stands for "body weight",
    which a page without either does not report."""
    covered: set[str] = set()
    found = None if found is None else set(found)
    table = _expansions()
    for pattern, words in (table[i] for i in _fitting(query)):
        if found is not None and found.isdisjoint(tokenize(words)):
            continue
        for match in pattern.finditer(query):
            covered.update(tokenize(match.group(0)))
    return covered


@lru_cache(maxsize=1)
def phrasing_words() -> frozenset[str]:
    return frozenset(_words("phrasing"))


@lru_cache(maxsize=1)
def phrasing() -> frozenset[str]:
    return frozenset(tokenize(" ".join(_words("phrasing"))))


@lru_cache(maxsize=1)
def figures() -> dict[str, tuple[str, ...]]:
    """What trials report as a figure, each with the fields a page may give it under ("follow-up" ->
    ("duration",)): lexicon.yaml's `figures`."""
    entries = [[p.strip() for p in e.split("|")] for e in str(_data()["figures"]).split(";") if e.strip()]
    return {endpoint: tuple(fields) for endpoint, *fields in entries}


@lru_cache(maxsize=1)
def measures() -> frozenset[str]:
    return frozenset(tokenize(" ".join(_words("measures"))))


@lru_cache(maxsize=1)
def effect_words() -> frozenset[str]:
    return frozenset(tokenize(" ".join(_words("effect_words"))))


@lru_cache(maxsize=1)
def effect_frame() -> frozenset[str]:
    return frozenset(tokenize(" ".join(_words("effect_frame"))))


@lru_cache(maxsize=1)
def topics() -> frozenset[str]:
    # a hyphenated topic counts whole: "cost-effective" makes "effect" no topic of its own
    return frozenset(t for w in _words("topics") for t in tokenize(w)[: 1 if "-" in w else None])


@lru_cache(maxsize=1)
def drug_pattern() -> tuple[re.Pattern, re.Pattern]:
    """(a word that is a drug name, drug names inside a text), by USAN stem endings."""
    stems = "|".join(_words("drug_stems"))
    return re.compile(rf"(?:{stems})s?$", re.I), re.compile(rf"\b[A-Za-z]{{3,}}(?:{stems})s?\b", re.I)


@lru_cache(maxsize=1024)  # a library's few trial names, asked for several times a turn
def name_pattern(name: str) -> re.Pattern:
    """A trial's name as learners type it: "ALPHA-Lung03", "alpha lung 03", "Alpha-Lung-03", "AL-03"."""
    parts = [p for p in re.split(r"[\s\-_]+|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", name) if p]
    forms = [r"[\s\-_]?".join(re.escape(p) for p in parts)]
    words, numbers = [p for p in parts if p.isalpha()], [p for p in parts if p.isdigit()]
    if len(words) >= 2 and len(numbers) == 1 and parts[-1] == numbers[0]:
        # its initials with its number: "AL-03", "AL3" for "ALPHA-Lung03"
        forms.append("".join(w[0] for w in words) + r"[\s\-_]?0*" + numbers[0].lstrip("0"))
    return re.compile(r"(?<![\w-])(?:" + "|".join(forms) + r")(?![\w-])", re.I)


def endpoint_of(text: str) -> str | None:
    """The first endpoint (from the lexicon's list) a finding names, in title case, or None."""
    lower = text.lower()
    found = [(lower.find(e), -len(e), e) for e in _data().get("endpoints", []) if e in lower]
    return min(found)[2].title() if found else None


# -- equivalent wordings ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def directions() -> dict[str, tuple[str, bool]]:
    """Each claim word of the lexicon's directions -> (its direction, True when it says the opposite):
    "shorter" -> ("longer", True)."""
    out: dict[str, tuple[str, bool]] = {}
    for base, (plain, flipped) in (_data().get("directions") or {}).items():
        out.update({w: (base, False) for w in str(plain or "").split()})
        out.update({w: (base, True) for w in str(flipped or "").split()})
    return out


def brands() -> dict[str, str]:
    """Brand name -> generic name(s), lower case: "alphacyla" -> "alphazumab zetansine"."""
    return {str(b).lower(): str(g).lower() for b, g in (_data().get("brands") or {}).items()}


@lru_cache(maxsize=1)
def hedges() -> re.Pattern | None:
    """The lexicon's ways of answering both ways at once ("either reading is defensible"), as one pattern."""
    found = [str(p) for p in (_data().get("hedges") or [])]
    return re.compile("|".join(f"(?:{p})" for p in found), re.I) if found else None


@lru_cache(maxsize=1)
def _synonyms() -> list[tuple[re.Pattern, str]]:
    groups = _data().get("synonyms") or []
    return [(re.compile("|".join(f"(?:{p})" for p in group[1:]), re.I), str(group[0])) for group in groups if len(group) > 1]


def canonical(text: str) -> str:
    """The text with each equivalent wording (the lexicon's synonyms) read as its group's first member:
    "low platelets in 3 pts" -> "thrombocytopenia in 3 patients"."""
    for pattern, word in _synonyms():
        text = pattern.sub(f" {word} ", text)
    return re.sub(r"[ \t]{2,}", " ", text)
