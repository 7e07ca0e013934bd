"""Practice items: questions a learner answers, each with a rubric of key points, built from a parsed trial page.

For every trial and role the page's guided-discussion question is an item (its key response is the model
answer); recall and appraisal items are generated from the page's key findings, design fields and
limitations. Everything is deterministic: the same page gives the same items with the same ids, and every
key point is the page's own text with the exact numbers it needs, tied to the passage it rests on.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from tutor.grounding import numbers_in
from tutor.knowledge import record_parts
from tutor.lexicon import endpoint_of, learn_abbreviations
from tutor.roles import ROLE_IDS
from tutor.trialpage import TrialRecord

EFFECT = "Effect estimate:"
KINDS = ("discussion", "recall", "appraisal")
# Roles that practise appraisal before recall; the others recall the results first.
APPRAISERS = ("phd", "journal_editor", "guideline_committee", "fellow")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")
# Numbers that are statistics of a comparison rather than a value of one arm: "HR, 0.65", "95% CI, 0.55 to 0.77".
_STATS_PAREN = re.compile(r"\s*\((?:[^()]|\([^()]*\))*\b(?:HR|hazard ratio|CI|confidence interval)\b"
                          r"(?:[^()]|\([^()]*\))*\)")
# A number that labels rather than measures: "grade 3", "phase III", "every 3 weeks", "3.6 mg/kg", "at 12 months",
# "12-month", a P value or a confidence level or bound.
_LABEL_BEFORE = re.compile(r"(?:\b(?:grade|grades|phase|stage|day|days|every|cycle|cycles|line|lines|at|P\s*[<=>]|"
                           r"CI\]?,?)\s*|\d\s+to\s+)$", re.I)
_LABEL_AFTER = re.compile(r"^(?:\s*(?:mg|g/|weeks?\b|days?\b|-day|-month|-year|times)|%?\s*(?:CI|confidence))", re.I)
_NUMBER_AT = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


class Passage(BaseModel):
    """The page text a key point rests on: its section (as the store names it) and text; `id` is the
    store's chunk id when the tutor knows it."""

    section: str
    text: str
    id: str = ""


class KeyPoint(BaseModel):
    id: str = Field(description="p1, p2, ... within the item")
    text: str = Field(description="the point, in the page's words")
    weight: float = Field(1.0, gt=0)
    numbers: list[str] = Field(default_factory=list, description="figures the point needs, exactly as the page gives them")
    passage: int = Field(0, ge=0, description="index into the item's passages")


class Rubric(BaseModel):
    mode: str = Field("all", pattern="^(all|any)$", description="all: every point counts; any: one point is enough")
    points: list[KeyPoint]


class PracticeItem(BaseModel):
    id: str
    trial: str
    role: str = Field("", description="the role the page wrote the question for; '' = any role")
    kind: str
    question: str
    rubric: Rubric
    model_answer: str
    passages: list[Passage]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def _sections(record: TrialRecord) -> dict[str, tuple[str, str]]:
    """kind-ish key -> (section, text), from the same parts the store indexes, so sections match chunks."""
    parts: dict[str, tuple[str, str]] = {}
    findings = 0
    limitations = 0
    for section, kind, role, _about, text, _asks in record_parts(record):
        if kind == "finding":
            findings += 1
            parts[f"finding.{findings}"] = (section, text)
        elif kind == "limitation":
            limitations += 1
            parts[f"limitation.{limitations}"] = (section, text)
        elif kind == "discussion":
            parts[f"discussion.{role}"] = (section, text)
        else:
            parts.setdefault(kind, (section, text))
    return parts


def figures(text: str, data: set[str] | None = None, given: str = "") -> list[str]:
    """The figures a point needs, exactly as written: the numbers that measure something (not a grade, a
    dose, a time point or a statistic's level), that the trial's data hold (`data`: its findings and design),
    and that the question does not already give."""
    out = []
    asked = set(numbers_in(given))
    for match in _NUMBER_AT.finditer(text):
        raw = match.group().rstrip(",")
        number = raw.replace(",", "")
        before, after = text[:match.start()], text[match.end():]
        if _LABEL_BEFORE.search(before) or _LABEL_AFTER.match(after) or before.endswith(":") and after.startswith(":"):
            continue
        if after.startswith(":") or before.endswith(":"):  # a ratio such as 2:1
            continue
        if re.search(r"[A-Za-z]-$", before):  # a part of a name ("interleukin-17"), as `numbers_in` reads it
            continue
        if re.match(rf"\s*[(\[][A-Za-z-]*{re.escape(number)}[)\]]", after):  # a name, its short form: "T helper 17 (Th17)"
            continue
        if "." not in number and not after.startswith("%") and int(number) < 10:
            continue
        if (data is not None and number not in data) or number in asked:
            continue
        out.append(number)
    return list(dict.fromkeys(out))


def _points(texts: list[str], passage: int = 0, data: set[str] | None = None, given: str = "") -> list[KeyPoint]:
    points = []
    for text in texts:
        numbers = figures(text, data, given)
        if text.startswith(EFFECT):
            numbers = numbers[:1]  # the estimate itself; its interval and P value are not asked for
        # A figure is harder to recall and easier to check: a point that needs one weighs a little more.
        points.append(KeyPoint(id=f"p{len(points) + 1}", text=text, weight=1.5 if numbers else 1.0,
                               numbers=numbers, passage=passage))
    return points


def finding_points(finding: str) -> list[str]:
    """A finding as key points: each sentence, with its statistics (hazard ratio, CI, P) as a point of its own."""
    texts = []
    for sentence in sentences(finding):
        stats = _STATS_PAREN.search(sentence)
        if stats and numbers_in(sentence[:stats.start()]):
            texts.append((sentence[:stats.start()] + sentence[stats.end():]).strip())
            texts.append(f"{EFFECT} {stats.group().strip(' ()')}.")  # its first figure is the estimate
        else:
            texts.append(sentence)
    return texts


# A statistic's name is how a finding is measured, never what it measured ("odds ratio (OR)", "IQR").
_STATISTICS = frozenset({"HR", "CI", "OR", "RR", "IQR", "NNT", "NNH", "SD", "SE", "ARR", "RRR", "MD", "SMD"})
# The verbs a finding states its result with: what comes before the first one is what it measured ("Wound
# infection occurred in ...", "The annualised rate of severe exacerbations was ...").
_RESULT_VERB = re.compile(r"\b(?:was|were|is|are|occurred|reduced|improved|increased|decreased|prolonged|lowered|did|had|"
                          r"showed|met|achieved|remained|differed|separated|rose|fell|declined|reached|exceeded|"
                          r"shortened|lengthened|documented|reported|observed|seen)\b")
# "At week 16, ...", "Through week 16, ...": when, not what
_PREPOSITION = r"(?:at|by|in|on|after|over|among|across|with|for|within|through|during|from|to|of)\b"
_FRAME = re.compile(rf"^{_PREPOSITION}[^,]{{0,80}},\s*", re.I)
_WHO_GOT = re.compile(r"\b(?:who|those|patients|participants)\b.{0,20}\b(?:received|receiving|given|treated|assigned|"
                      r"allocated|randomi[sz]ed|on)\b", re.I)
_VAGUE = frozenset({"the", "a", "an", "this", "that", "these", "its", "their", "both", "all", "benefit", "effect",
                    "effects", "result", "results", "difference", "strategies", "groups", "arms", "analysis", "of",
                    "in", "with", "there", "it", "they", "patients", "containing"})
_SCORED = re.compile(r"\(([A-Z]{2,}[A-Za-z]* \d+)\)")  # "(PASI 90)", "(EASI 75)": a score's threshold, named


def _measure(finding: str, treatments: str = "") -> str:
    """What a finding measured, as a learner would be asked it: "progression-free survival (PFS)"; "" when
    neither its abbreviations, its endpoint nor the words before its result say it plainly."""
    abbreviations = learn_abbreviations([finding])
    for short, long in abbreviations.items():
        if " " in long and sum(c.isupper() for c in short) >= 2 and short.upper() not in _STATISTICS:
            return f"{long.lower()} ({short})"
    if named := _SCORED.search(finding):  # "Psoriasis Area and Severity Index (PASI 90)": the measure by its short name
        return named.group(1)
    subject = _subject(finding, treatments)
    endpoint = endpoint_of(finding)
    # the endpoint a finding names anywhere gives way only to a subject of several words that does not name it
    if endpoint and not (len(subject.split()) > 1 and endpoint.lower() not in subject.lower()):
        endpoint = endpoint.lower()
        return endpoint + "ity" if endpoint.endswith("ior") else endpoint  # "noninferior" -> "noninferiority"
    return subject  # the words before its result, when they say plainly what it measured ("death from any cause")


def _subject(finding: str, treatments: str = "") -> str:
    """The words a finding's first sentence puts before its result ("Wound infection occurred in ..."), without
    when ("At week 16, ...") or a clause about them (", which excluded ..."); "" when they are a figure or say
    nothing on their own ("The benefit", "Both arms")."""
    first = next(iter(sentences(finding)), "")
    verb = _RESULT_VERB.search(first)
    subject = _FRAME.sub("", first[:verb.start()].strip(" ,")) if verb else ""
    subject = re.split(r",\s+(?:which|who|that|where|adjudicated|defined|measured|assessed)\b|,\s+the\b", subject)[0].strip(" ,")
    words = subject.split()
    # what is measured, not which arm: a treatment's name ("Corvagliflozin reduced ...") is not a measure
    named = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", treatments)}
    meaning = [w for w in re.findall(r"[A-Za-z][\w\-]*", subject)
               if not set(re.findall(r"[a-z0-9]+", w.lower())) <= _VAGUE | named]  # "ALPHA-1-containing" names an arm
    if (not meaning or len(words) > 14 or words[0][0].isdigit() or re.match(_PREPOSITION, subject, re.I)
            or _WHO_GOT.search(subject)):  # "Patients who received alphazumab had ...": which arm, not what measured
        return ""
    return subject if len(words[0]) > 1 and words[0][:2].isupper() else subject[0].lower() + subject[1:]


def build_items(record: TrialRecord) -> list[PracticeItem]:
    """Every practice item of one trial page, in page order: discussion items (one per role the page
    writes for), then recall items on the findings and design, then an appraisal item on the limitations."""
    name = record.name
    base = slug(name)
    parts = _sections(record)
    data = {n for text in record.key_findings + list(record.design.values()) for n in numbers_in(text)}
    items: list[PracticeItem] = []

    for entry in record.discussion:
        if not entry.key_response:
            continue
        section, text = parts.get(f"discussion.{entry.role}", (f"Guided Discussion > {entry.role_name}", entry.question))
        items.append(PracticeItem(
            id=f"{base}-{entry.role}-discussion", trial=name, role=entry.role, kind="discussion",
            question=entry.question, rubric=Rubric(points=_points(sentences(entry.key_response), data=data, given=entry.question)),
            model_answer=entry.key_response, passages=[Passage(section=section, text=text)],
        ))

    for n, finding in enumerate(record.key_findings, 1):
        section, text = parts.get(f"finding.{n}", (f"Key Findings > {n}", finding))
        measure = _measure(finding, f"{record.intervention} {record.comparator}")
        points = _points(finding_points(finding), data=data)
        figured = any(p.numbers for p in points)
        if not measure:  # nothing names it plainly: the page's own order does
            question = f"In {name}, what did the page's key finding {n} report?" + (
                " Give the figures for each arm." if figured else "")
        elif figured:
            question = f"In {name}, what was reported for {measure}? Give the figures for each arm."
        else:
            question = f"In {name}, what did the trial find for {measure}?"
        items.append(PracticeItem(
            id=f"{base}-recall-finding-{n}", trial=name, kind="recall", question=question,
            rubric=Rubric(points=points), model_answer=finding,
            passages=[Passage(section=section, text=text)],
        ))

    design_points: list[str] = []
    design_passages: list[Passage] = []
    for key in ("design.design", "design.sample"):
        if key in parts:
            section, text = parts[key]
            design_points.append(text)
            design_passages.append(Passage(section=section, text=text))
    if design_points:
        points = _points(design_points, data=data)
        for i, point in enumerate(points):
            point.passage = i
        items.append(PracticeItem(
            id=f"{base}-recall-design", trial=name, kind="recall",
            question=f"How was {name} designed: was it randomised, was it blinded, and how many patients took part?",
            rubric=Rubric(points=points), model_answer=" ".join(design_points), passages=design_passages,
        ))

    if "design.intervention" in parts and "design.comparator" in parts:
        arms = [parts["design.intervention"], parts["design.comparator"]]
        points = _points([text for _, text in arms], data=data)
        points[1].passage = 1
        items.append(PracticeItem(
            id=f"{base}-recall-arms", trial=name, kind="recall",
            question=f"What did {name} compare: which treatment was tested, and against what?",
            rubric=Rubric(points=points), model_answer=" ".join(text for _, text in arms),
            passages=[Passage(section=s, text=t) for s, t in arms],
        ))

    if "design.outcome" in parts:
        section, text = parts["design.outcome"]
        items.append(PracticeItem(
            id=f"{base}-appraisal-endpoints", trial=name, kind="appraisal",
            question=f"What was the primary endpoint of {name}, and how was it assessed?",
            rubric=Rubric(points=_points([text], data=data)), model_answer=text, passages=[Passage(section=section, text=text)],
        ))

    limits = [parts[f"limitation.{n}"] for n in range(1, len(record.limitations) + 1) if f"limitation.{n}" in parts]
    if limits:
        points = _points([text for _, text in limits], data=data)
        for i, point in enumerate(points):
            point.passage = i
        items.append(PracticeItem(
            id=f"{base}-appraisal-limitation", trial=name, kind="appraisal",
            question=f"Name one limitation of {name} and explain how it affects the way its results apply.",
            rubric=Rubric(mode="any", points=points), model_answer=" ".join(text for _, text in limits),
            passages=[Passage(section=s, text=t) for s, t in limits],
        ))
    return items


def role_order(items: list[PracticeItem], role: str) -> list[PracticeItem]:
    """The items a role practises, in the order it meets them: its own discussion question first, then
    recall before appraisal (or appraisal first for the roles that review evidence)."""
    mine = [i for i in items if i.role in ("", role)]
    rank = {"discussion": 0, "appraisal": 1, "recall": 2} if role in APPRAISERS else \
        {"discussion": 0, "recall": 1, "appraisal": 2}
    return sorted(mine, key=lambda i: rank.get(i.kind, 3))  # sorted is stable: page order within a kind


def interleave(groups: list[list[PracticeItem]]) -> list[PracticeItem]:
    """One item from each trial in turn, so practice over every trial visits each early."""
    out: list[PracticeItem] = []
    for n in range(max((len(g) for g in groups), default=0)):
        out += [g[n] for g in groups if n < len(g)]
    return out


def known_roles() -> tuple[str, ...]:
    return ROLE_IDS


class Practice:
    """Practice on a tutor's library: items by trial and role, the next item, and grading. Stateless: what a
    learner has done is passed in (`seen`), so any process can serve the next step."""

    def __init__(self, tutor):
        self.tutor = tutor
        self._items: tuple[object, dict[str, PracticeItem]] = (None, {})
        self._offline = None

    def _all(self) -> dict[str, PracticeItem]:
        records = self.tutor.records()
        if self._items[0] is records:
            return self._items[1]
        chunks = {(c.trial, c.section): c.id for c in self.tutor.retriever.chunks if c.trial}
        items: dict[str, PracticeItem] = {}
        for record in records.values():
            for item in build_items(record):
                for passage in item.passages:
                    passage.id = chunks.get((item.trial, passage.section), "")
                items[item.id] = item
        self._items = (records, items)
        return items

    def items(self, role: str | None = None, trial: str | None = None, kind: str | None = None) -> list[PracticeItem]:
        """The items for a role (its own discussion question and every generated item) on one trial or all."""
        from tutor.errors import InputError

        if kind is not None and kind not in KINDS:
            raise InputError(f"kind {kind!r} is unknown; use one of {', '.join(KINDS)}")
        role_id = self.tutor.role(role).id if role else None
        name = self.tutor.retriever.resolve_trial(trial) if trial else None
        everything = list(self._all().values())
        groups = []
        for trial_name in dict.fromkeys(i.trial for i in everything):
            if name and trial_name != name:
                continue
            mine = [i for i in everything if i.trial == trial_name]
            groups.append(role_order(mine, role_id) if role_id else mine)
        chosen = interleave(groups) if role_id and len(groups) > 1 else [i for g in groups for i in g]
        return [i for i in chosen if kind is None or i.kind == kind]

    def item(self, item_id: str) -> PracticeItem:
        from tutor.errors import InputError

        items = self._all()
        if not isinstance(item_id, str) or item_id.strip() not in items:
            near = [i for i in items if isinstance(item_id, str) and item_id.strip().split("-")[0] == i.split("-")[0]]
            raise InputError(f"no practice item {item_id!r}; list them with `tutor practice list`"
                             + (f" (this trial's start {near[0].rsplit('-', 1)[0]}-...)" if near else ""))
        return items[item_id.strip()]

    def next(self, role: str, trial: str | None = None, seen: list[str] | tuple[str, ...] = ()) -> PracticeItem:
        """The first of the role's items not in `seen`; when every one is seen, practice starts over."""
        from tutor.errors import InputError

        items = self.items(role, trial)
        if not items:
            raise InputError("there are no practice items for this trial and role; check `tutor trials`")
        done = set(seen or ())
        return next((i for i in items if i.id not in done), items[0])

    def grade(self, item_id: str, answer: str, role: str, reveal: bool = False):
        """Grade an answer; the openai backend grades with the model (falling back to offline, and saying so)."""
        from tutor.embeddings import get_embeddings
        from tutor.grading import OfflineGrader, grade_offline, grade_openai

        item = self.item(item_id)
        learner = self.tutor.role(role)
        record = self.tutor.records()[item.trial]
        if self._offline is None:
            self._offline = OfflineGrader(getattr(self.tutor.store, "embeddings", None) or get_embeddings(self.tutor.settings))
        library = list(self.tutor.records())  # the other trials, known by name
        # a word run into its number is read as the page writes it ("PASI90", "wk16": "PASI 90", "week 16")
        answer = self.tutor.retriever.speller.unfuse(answer)
        if self.tutor.settings.model == "openai" and getattr(self.tutor.settings, "grader", "auto") != "offline":
            return grade_openai(self.tutor.model, self._offline, item, record, answer, learner.id, reveal, library)
        return grade_offline(self._offline, item, record, answer, learner.id, reveal, library=library)
