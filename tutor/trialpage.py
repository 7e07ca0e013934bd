"""Parse a trial page in its published layout into a typed `TrialRecord`.

The layout is the one the trial-summary site publishes as text: a journal and date line, the title
"... (NAME Trial)", the authors, then sections under fixed headings (Bottom Line, Key Findings,
Study Design, Study Limitations, Clinical Significance, Historical Context, Guided Discussion,
Noteworthy Related Trials). A page that lacks a part still parses; a page pasted with its labels in other
capitals, with colons or "##", its design fields as "Label: value" or bullets for numbers reads the same. Text
that is not this layout is not a trial page (`looks_like_trial_page` says so) and is ingested as Markdown or plain
text.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

# The section headings of the layout, in page order; each is a line of its own.
HEADINGS = (
    "Bottom Line", "Key Findings", "Study Design", "Study Limitations", "Clinical Significance",
    "Historical Context", "Guided Discussion", "Scholarly Review", "Clinical Landscape",
    "Noteworthy Related Trials", "Tailored to your role",
)
# Study-design labels that stand on a line of their own, their value on the lines after.
DESIGN_LABELS = ("Design", "Sample", "Duration", "Setting", "Randomization", "Randomisation", "Follow-up",
                 "Phase", "Blinding", "Arms", "Enrollment", "Enrolment", "Stratification", "Masking")
# Labels that start a line and carry their value on the same line.
PICO_LABELS = ("Population", "Intervention", "Comparator", "Outcome")
# The learner roles as the page names them (the short tab label, then the full name).
ROLE_NAMES = {
    "medical student": "med_student", "med student": "med_student", "resident": "resident",
    "fellow": "fellow", "attending": "attending", "phd": "phd", "journal editor": "journal_editor",
    "guideline committee": "guideline_committee",
}
RELATED_FIELDS = ("Tested", "Population", "Comparator", "Endpoint")
# every label of the layout by its lower-case form -> its published form ("" for a role: the page's own name stays)
_LABELS = {**{w.lower(): w for w in (*HEADINGS, *DESIGN_LABELS, *PICO_LABELS, *RELATED_FIELDS, "Key Response")},
           **{role: "" for role in ROLE_NAMES}}
_DATE = re.compile(r"^(?P<journal>.+?)\s+(?P<date>(?:JANUARY|FEBRUARY|MARCH|APRIL|MAY|JUNE|JULY|AUGUST|SEPTEMBER|"
                   r"OCTOBER|NOVEMBER|DECEMBER)\s+\d{1,2},\s+(?P<year>\d{4}))\s*$", re.I)
_TITLE_NAME = re.compile(r"\(([^()]+?)\s+[Tt]rial\)\s*$")
_NUMBERED = re.compile(r"^\d+[.)]\s+")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_BULLET = re.compile(r"^[•·*\u2013\u2014-]\s+")
_LABELLED = re.compile(r"^([A-Za-z][A-Za-z -]{1,24}):\s+(\S.*)$")
_RELATED_HEAD = re.compile(r"^(.+?)\s+[Tt]rials?$")
_SAMPLE_LINE = re.compile(r"^n\s*=\s*([\d,]+)\s*(?:[·•|-]\s*(.+))?$")
# Lines of site chrome that carry no content.
_CHROME = re.compile(r"^(High-yield insights|Critical appraisal through|Want this tailored|Add your specialty|"
                     r"Personalize this analysis|Personalise this analysis)", re.I)


class DiscussionItem(BaseModel):
    role: str = Field(description="role id, e.g. med_student")
    role_name: str = Field(description="as the page names it, e.g. Medical Student")
    question: str
    key_response: str = ""


class RelatedTrial(BaseModel):
    name: str
    year: str | None = None
    sample: str | None = None
    journal: str | None = None
    tested: str | None = None
    population: str | None = None
    comparator: str | None = None
    endpoint: str | None = None
    key_result: str | None = None


class TrialRecord(BaseModel):
    """One trial page, field by field. Every text is the page's own, unchanged."""

    name: str = Field(description="the trial's name, e.g. from '(NAME Trial)' in the title")
    title: str
    journal: str | None = None
    date: str | None = None
    year: str | None = None
    authors: str | None = None
    bottom_line: str = ""
    key_findings: list[str] = Field(default_factory=list)
    design: dict[str, str] = Field(default_factory=dict, description="label -> value: Design, Sample, Duration, ...")
    population: str | None = None
    intervention: str | None = None
    comparator: str | None = None
    outcome: str | None = None
    design_notes: list[str] = Field(default_factory=list, description="paragraphs of the Study Design section "
                                    "after its fields (how allocation was done, harms), each kept whole")
    limitations: list[str] = Field(default_factory=list)
    clinical_significance: str = ""
    historical_context: str = ""
    discussion: list[DiscussionItem] = Field(default_factory=list)
    related: list[RelatedTrial] = Field(default_factory=list)

    @property
    def sample(self) -> str | None:
        value = self.design.get("Sample")
        match = re.match(r"[\d,]+", value or "")
        return match.group(0) if match else value

    @property
    def blinding(self) -> str | None:
        """What the design says about blinding ("Open-Label", "Double-Blind"), if it says anything."""
        design = self.design.get("Blinding") or self.design.get("Masking") or self.design.get("Design") or ""
        parts = [p.strip() for p in design.split(",") if re.search(r"blind|label|mask", p, re.I)]
        return ", ".join(parts) or None


def _lines(text: str) -> list[str]:
    """The page's lines, stripped, with the layout's labels in their published form: a heading or label copied
    in other capitals, with a colon or as a Markdown heading ("## KEY FINDINGS", "Key Response:") is that label;
    a finding's bullet ("•", "-") is no text."""
    out: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _BULLET.sub("", _MD_HEADING.sub("", line.strip()))
        bare = line.rstrip(":").strip()
        label = _LABELS.get(bare.lower())
        out.append(line if label is None else label or bare)  # a role keeps the page's own name ("Med Student")
    return out


def looks_like_trial_page(text: str) -> bool:
    """The published layout: at least three of its section headings, Bottom Line and Key Findings among them."""
    lines = set(_lines(text))
    found = [h for h in HEADINGS if h in lines]
    return len(found) >= 3 and "Bottom Line" in found and "Key Findings" in found


def _sections(lines: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The lines before the first heading, and each heading's lines (blank lines dropped)."""
    head: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = head
    for line in lines:
        if line in HEADINGS and line not in sections:
            current = sections.setdefault(line, [])
        elif line and not _CHROME.match(line):
            current.append(line)
    return head, sections


def _paragraph(lines: list[str]) -> str:
    return " ".join(lines).strip()


def _qualifies(lines: list[str], line: str) -> bool:
    """A label's word with no value of its own ("Duration / 60 days / Follow-up / Setting ..."): the
    next line is another label or the end of the block, so it qualifies the value before it."""
    after = lines[lines.index(line) + 1:] if line in lines else []
    return not after or after[0] in DESIGN_LABELS or after[0].split(" ", 1)[0] in PICO_LABELS


def _parse_design(lines: list[str], record: TrialRecord) -> None:
    lines = _one_per_line(lines)
    label: str | None = None
    for line in lines:
        word = line.split(" ", 1)[0]
        if word in PICO_LABELS and " " in line:
            setattr(record, word.lower(), line.split(" ", 1)[1].strip())
            label = None
        elif line in DESIGN_LABELS and not (label is not None and record.design[label] and _qualifies(lines, line)):
            label = line
            record.design.setdefault(label, "")
        elif label is not None:
            value = record.design[label]
            record.design[label] = f"{value}, {line}" if value else line
        elif record.population or record.intervention or record.comparator or record.outcome:
            record.design_notes.append(line)  # a paragraph after the fields is the page's text too
    # "Sample: 524, Patients" reads "524 patients"; "Duration: 20 mo, Median" reads "20 mo, median".
    for key, value in list(record.design.items()):
        parts = [p.strip() for p in value.split(", ")]
        if key == "Sample" and len(parts) >= 2 and re.fullmatch(r"[\d,]+", parts[0]):
            record.design[key] = " ".join([parts[0], parts[1].lower(), *parts[2:]])
        elif key == "Duration" and len(parts) == 2:
            record.design[key] = f"{parts[0]}, {parts[1][:1].lower()}{parts[1][1:]}"


def _one_per_line(lines: list[str]) -> list[str]:
    """The design fields as the layout writes them: "Design: RCT" is the label "Design" then its value, and
    "Population: adults ..." is "Population adults ..."."""
    out: list[str] = []
    pico = False  # past the fields' labels, "Randomization: ..." is a paragraph of its own
    for line in lines:
        match = _LABELLED.match(line)
        label = _LABELS.get(match.group(1).lower()) if match else None
        pico = pico or line.split(" ", 1)[0] in PICO_LABELS
        if label in DESIGN_LABELS and not pico:
            out += [label, match.group(2)]
        elif label in PICO_LABELS:
            out.append(f"{label} {match.group(2)}")
            pico = True
        else:
            out.append(line)
    return out


def _parse_discussion(lines: list[str]) -> list[DiscussionItem]:
    items: list[DiscussionItem] = []
    role: tuple[str, str] | None = None
    question: list[str] = []
    answer: list[str] | None = None

    def close() -> None:
        if role and question:
            items.append(DiscussionItem(role=role[0], role_name=role[1], question=_paragraph(question),
                                        key_response=_paragraph(answer or [])))

    for line in lines:
        key = line.lower()
        if key in ROLE_NAMES:
            if role and role[0] == ROLE_NAMES[key] and not question:
                role = (role[0], line)  # "Med Student" then "Medical Student": the full name wins
                continue
            close()
            role, question, answer = (ROLE_NAMES[key], line), [], None
        elif key == "key response":
            answer = []
        elif role is not None:
            (question if answer is None else answer).append(line)
    close()
    return items


def _parse_related(lines: list[str]) -> list[RelatedTrial]:
    trials: list[RelatedTrial] = []
    year: str | None = None
    field: str | None = None
    for line in lines:
        if re.fullmatch(r"(19|20)\d\d", line):
            year, field = line, None
            continue
        head = _RELATED_HEAD.match(line)
        if head and (not trials or trials[-1].key_result is not None or year):
            trials.append(RelatedTrial(name=head.group(1).strip(), year=year))
            year, field = None, None
            continue
        if not trials:
            continue
        trial = trials[-1]
        if match := _SAMPLE_LINE.match(line):
            trial.sample, trial.journal = match.group(1), (match.group(2) or "").strip() or None
        elif line in RELATED_FIELDS:
            field = line.lower()
        elif line.lower().startswith("key result:"):
            trial.key_result, field = line.split(":", 1)[1].strip(), None
        elif field:
            previous = getattr(trial, field)
            setattr(trial, field, f"{previous} {line}" if previous else line)
    return trials


def parse_trial_page(text: str, fallback_name: str = "") -> TrialRecord:
    """The page's record; a part the page lacks is left empty."""
    head, sections = _sections(_lines(text))
    journal = date = year = None
    title = ""
    authors = None
    rest = list(head)
    if rest and (match := _DATE.match(rest[0])):
        journal, date, year = match.group("journal").strip(), match.group("date").title(), match.group("year")
        rest = rest[1:]
    if rest:
        title, rest = rest[0], rest[1:]
    if rest:
        authors = rest[0]
    name_match = _TITLE_NAME.search(title)
    name = name_match.group(1).strip() if name_match else (fallback_name or title or "Untitled trial")
    record = TrialRecord(name=name, title=title or name, journal=journal, date=date, year=year, authors=authors)
    record.bottom_line = _paragraph(sections.get("Bottom Line", []))
    record.key_findings = [_NUMBERED.sub("", line) for line in sections.get("Key Findings", [])]
    _parse_design(sections.get("Study Design", []), record)
    record.limitations = list(sections.get("Study Limitations", []))
    record.clinical_significance = _paragraph(sections.get("Clinical Significance", []))
    record.historical_context = _paragraph(sections.get("Historical Context", []))
    record.discussion = _parse_discussion(sections.get("Guided Discussion", []) + sections.get("Scholarly Review", []))
    record.related = _parse_related(sections.get("Noteworthy Related Trials", []))
    return record
