"""Load knowledge documents and split them into chunks.

A document is Markdown (optionally with YAML front matter: title, trial, year, journal) or
plain text. Chunks follow the Markdown headings and keep their heading path, so a passage
can be cited as "Key Findings > Overall Survival".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from tutor.errors import IngestError
from tutor.schema import Chunk

SUFFIXES = {".md", ".markdown", ".txt"}
HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]


@dataclass
class Document:
    id: str  # path relative to the knowledge folder (or the absolute path outside it)
    path: Path
    text: str
    meta: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.path.stem)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


def document_id(path: Path, root: Path | None) -> str:
    path = path.resolve()
    if root is not None:
        try:
            return path.relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def find_files(paths: list[Path]) -> list[Path]:
    """The knowledge files under the given files and folders, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.exists():
            found.append(path)
        else:
            raise IngestError(f"{path}: no such file or folder; check the path")
    return found


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
    return Document(id=document_id(path, root), path=path, text=body, meta=meta)


def split_front_matter(text: str, path: Path) -> tuple[dict, str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end == -1:
        raise IngestError(f"{path}: front matter opened with '---' is never closed; add a closing '---' line")
    try:
        meta = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError as exc:
        raise IngestError(f"{path}: front matter is not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(meta, dict):
        raise IngestError(f"{path}: front matter must be a mapping of key: value lines")
    return meta, text[end + 4 :].lstrip("\n")


class Splitter:
    """Markdown-aware splitting: headings first, then characters with overlap."""

    def __init__(self, chunk_size: int = 450, chunk_overlap: int = 60):
        self.headings = MarkdownHeaderTextSplitter(HEADERS, strip_headers=True)
        self.chars = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
            keep_separator="end",
        )

    def split(self, doc: Document) -> list[Chunk]:
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
                digest = hashlib.sha256(f"{doc.id}\n{section}\n{piece}".encode()).hexdigest()[:20]
                chunks.append(
                    Chunk(id=digest, text=piece, document=doc.id, title=doc.title, trial=trial,
                          section=section, index=len(chunks))
                )
        # Identical passages in one document would share an id; keep the first.
        unique = {c.id: c for c in reversed(chunks)}
        return [c for c in chunks if unique[c.id] is c]
