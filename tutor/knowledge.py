"""Load knowledge documents and split them into chunks.

A document is a trial page in its published layout (parsed into a `TrialRecord` by
`tutor.trialpage`), Markdown (optionally with YAML front matter: title, trial, year, journal) or
plain text. A trial page is split by its parts (each key finding, each design field, each
limitation, each role's discussion, each related trial), so every chunk knows its trial, section
and role; other documents follow their Markdown headings and keep their heading path.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from tutor import yaml_data
from tutor.errors import IngestError
from tutor.knowledge_files import CHUNKING, SUFFIXES, document_id, find_files  # noqa: F401  (their home)
from tutor.lexicon import endpoint_of
from tutor.schema import Chunk
from tutor.trialpage import TrialRecord, looks_like_trial_page, parse_trial_page

# A design paragraph headed by its own label ("Harms: ..."), and the percentages that make it a result.
_NOTE_LABEL = re.compile(r"^([A-Z][A-Za-z -]{2,30}):\s")
_PERCENT = re.compile(r"\d(?:\.\d+)?%")
HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]


@dataclass
class Document:
    id: str  # path relative to the knowledge folder (or the absolute path outside it)
    path: Path
    text: str
    meta: dict = field(default_factory=dict)
    record: TrialRecord | None = None  # a trial page in the published layout, parsed

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.path.stem)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


def load_document(path: Path, root: Path | None = None) -> Document:
    """Read one file, or raise IngestError naming the file and the problem."""
    if path.suffix.lower() not in SUFFIXES:
        raise IngestError(f"{path}: unsupported file type '{path.suffix}'; use .md, .markdown or .txt")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions") from exc
    if b"\x00" in raw:
        raise IngestError(f"{path}: looks binary (it contains NUL bytes); give a text or Markdown file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: is not UTF-8 (bad byte at position {exc.start}); save it as UTF-8"
        ) from exc
    meta, body = split_front_matter(text, path)
    if not body.strip():
        raise IngestError(f"{path}: is empty; add text or remove the file")
    record = None
    if not meta and looks_like_trial_page(body):
        record = parse_trial_page(body, fallback_name=path.stem)
        meta = {"title": record.title, "trial": record.name, "year": record.year, "journal": record.journal}
    return Document(id=document_id(path, root), path=path, text=body, meta=meta, record=record)


def split_front_matter(text: str, path: Path) -> tuple[dict, str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end == -1:
        raise IngestError(f"{path}: front matter opened with '---' is never closed; add a closing '---' line")
    try:
        meta = yaml_data.safe_load(text[4:end]) or {}
    except yaml_data.YAMLError as exc:
        raise IngestError(f"{path}: front matter is not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(meta, dict):
        raise IngestError(f"{path}: front matter must be a mapping of key: value lines")
    return meta, text[end + 4 :].lstrip("\n")


# A full stop that ends a sentence: not the one of "vs.", "e.g.", "i.e.", "et al." or "Fig.", which would
# cut "72.5% vs. 67.9%" in two (a regex for the splitter: each lookbehind has a fixed width).
SENTENCE_END = r"(?<!\bvs)(?<!\be\.g)(?<!\bi\.e)(?<!\bal)(?<!\bDr)(?<!\bNo)(?<!\bFig)(?<!\bapprox)\. "


class Splitter:
    """Markdown-aware splitting: headings first, then characters with overlap."""

    def __init__(self, chunk_size: int = 450, chunk_overlap: int = 60):
        # Imported here: listing and fingerprinting the knowledge files (`tutor trials`) needs no splitter.
        from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

        self.headings = MarkdownHeaderTextSplitter(HEADERS, strip_headers=True)
        self.chars = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=["\n\n", "\n", SENTENCE_END, "; ", ", ", " ", ""],
            keep_separator="end",
            is_separator_regex=True,
        )

    def split(self, doc: Document) -> list[Chunk]:
        if doc.record is not None:
            return self._split_record(doc, doc.record)
        chunks: list[Chunk] = []
        trial = str(doc.meta.get("trial") or "")
        for part in self.headings.split_text(doc.text):
            path = [part.metadata[key] for _, key in HEADERS if key in part.metadata]
            # The document title (h1) is the same for every chunk; the section starts below it.
            if len(path) > 1 and path[0] == doc.title:
                path = path[1:]
            section = " > ".join(path)
            for piece in self.chars.split_text(part.page_content):
                piece = piece.strip()
                if not piece:
                    continue
                chunks.append(
                    Chunk(id=chunk_id(doc.id, section, piece), text=piece, document=doc.id, title=doc.title,
                          trial=trial, about=trial, section=section, index=len(chunks))
                )
        return _unique(chunks)

    def _split_record(self, doc: Document, record: TrialRecord) -> list[Chunk]:
        """One chunk per part of the page; a part longer than a chunk is split at sentences."""
        chunks: list[Chunk] = []
        for part in record_parts(record):
            text = part.text
            pieces = [text] if len(text) <= self.chars._chunk_size * 1.5 else self.chars.split_text(text)
            for piece in pieces:
                piece = piece.strip()
                if not piece:
                    continue
                # every piece of a guided-discussion item knows the question it answers: a long key response is
                # cut away from its question
                chunks.append(Chunk(id=chunk_id(doc.id, part.section, piece), text=piece, document=doc.id,
                                    title=doc.title, trial=record.name, about=part.about or record.name,
                                    kind=part.kind, role=part.role, asks=part.asks, section=part.section,
                                    index=len(chunks)))
        return _unique(chunks)


def chunk_id(document: str, section: str, text: str) -> str:
    """A chunk's id: its document, section and text, and the chunking's version, so that a store synced after the
    chunking changes replaces every chunk, with what it now knows of each (a discussion passage's question)."""
    return hashlib.sha256(f"{CHUNKING}\n{document}\n{section}\n{text}".encode()).hexdigest()[:20]


class Part(NamedTuple):
    """One part of a trial page, as the store indexes it."""

    section: str  # heading path, "Key Findings > 2: Overall Survival"
    kind: str  # bottom_line, finding, design.<field>, limitation, discussion, related, ...
    role: str  # for a guided-discussion item, the role it was written for
    about: str  # for a related-trial summary, the trial it summarises
    text: str
    asks: str = ""  # for a guided-discussion item, its question


def record_parts(record: TrialRecord) -> list[Part]:
    """Each part of a trial page, in page order. Texts are the page's own; a design field is written
    "Label: value", a related trial "Summary from the X page: ..."."""
    parts: list[Part] = []
    published = ", ".join(x for x in (record.journal, record.date) if x)
    if published or record.authors:
        text = f"{record.title}." + (f" Published in {published}." if published else "")
        parts.append(Part("Publication", "publication", "", "", text + (f" Authors: {record.authors}" if record.authors else "")))
    if record.bottom_line:
        parts.append(Part("Bottom Line", "bottom_line", "", "", record.bottom_line))
    topics = [endpoint_of(finding) for finding in record.key_findings]
    for n, (finding, topic) in enumerate(zip(record.key_findings, topics), 1):
        if topics.count(topic) > 1:  # a label two findings share tells neither apart: "Bleeding" on a bleeding trial
            topic = None
        parts.append(Part(f"Key Findings > {n}" + (f": {topic}" if topic else ""), "finding", "", "", finding))
    for label, value in record.design.items():
        if value:
            parts.append(Part(f"Study Design > {label}", f"design.{label.lower()}", "", "", f"{label}: {value}."))
    for label in ("population", "intervention", "comparator", "outcome"):
        if value := getattr(record, label):
            parts.append(Part(f"Study Design > {label.title()}", f"design.{label}", "", "", f"{label.title()}: {value}"))
    for note in record.design_notes:
        # "Harms: ..." is headed by its own label; a paragraph that opens with figures is a finding.
        label = match.group(1) if (match := _NOTE_LABEL.match(note)) else "Notes"
        kind = "finding" if len(_PERCENT.findall(re.split(SENTENCE_END, note)[0])) >= 2 else "design.notes"
        parts.append(Part(f"Study Design > {label}", kind, "", "", note))
    for n, limitation in enumerate(record.limitations, 1):
        parts.append(Part(f"Study Limitations > {n}", "limitation", "", "", limitation))
    if record.clinical_significance:
        parts.append(Part("Clinical Significance", "significance", "", "", record.clinical_significance))
    if record.historical_context:
        parts.append(Part("Historical Context", "history", "", "", record.historical_context))
    for item in record.discussion:
        text = f"Question: {item.question}" + (f"\nKey response: {item.key_response}" if item.key_response else "")
        parts.append(Part(f"Guided Discussion > {item.role_name}", "discussion", item.role, "", text, item.question))
    for related in record.related:
        facts = ", ".join(x for x in (related.year, f"n = {related.sample}" if related.sample else None,
                                      related.journal) if x)
        lines = [f"Summary from the {record.name} page: {related.name} trial" + (f" ({facts})." if facts else ".")]
        lines += [f"{label.title()}: {value}." for label in ("tested", "population", "comparator", "endpoint")
                  if (value := getattr(related, label))]
        if related.key_result:
            lines.append(f"Key result: {related.key_result}")
        heading = f"Noteworthy Related Trials > {related.name} Trial" + (f" ({related.year})" if related.year else "")
        parts.append(Part(heading, "related", "", related.name, " ".join(lines)))
    return parts


def _unique(chunks: list[Chunk]) -> list[Chunk]:
    """Identical passages in one document would share an id; keep the first."""
    first = {c.id: c for c in reversed(chunks)}
    return [c for c in chunks if first[c.id] is c]
