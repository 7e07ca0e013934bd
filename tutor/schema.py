"""Small typed objects that cross module boundaries: chunks in, answers out."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Chunk(BaseModel):
    """One passage of a knowledge document, as stored in the vector store."""

    id: str
    text: str
    document: str  # document id: its path relative to the knowledge folder
    title: str
    trial: str = ""  # the trial whose page the passage is from ("" for a document about no one trial)
    about: str = ""  # the trial the passage is about: the page's own, or a related trial it summarises
    kind: str = ""  # what part of a trial page: bottom_line, finding, design, limitation, discussion, related, ...
    role: str = ""  # for a guided-discussion passage, the role it was written for
    asks: str = ""  # for a guided-discussion passage, the question its key response answers
    section: str = ""  # heading path, "Key Findings > 2", "Study Design > Sample"
    index: int = 0  # position of the chunk inside its document


class Source(BaseModel):
    """A retrieved passage shown to the model as [n] and to the user as a source."""

    id: str
    document: str
    title: str = ""
    trial: str = ""
    about: str = ""
    kind: str = ""
    role: str = ""  # for a guided-discussion passage, the role it was written for
    asks: str = ""  # for a guided-discussion passage, the question its key response answers
    section: str
    text: str
    score: float = Field(description="cosine similarity of the passage to the question, 0..1")
    primary: bool = Field(False, description="the page's first key finding, which the layout gives as its primary result")


class Answer(BaseModel):
    answer: str
    in_scope: bool
    sources: list[Source]
    citations: list[str] = Field(description="ids of the sources the answer cites")
    role: str
    specialty: str | None = None
    trials: list[str] = Field(default_factory=list, description="the trials the retrieval was restricted to; [] = all")
    intent: str = Field("", description="what the question asks for, as the intent classifier read it")
    model: str
    unverified_numbers: list[str] = Field(
        default_factory=list, description="numbers in the answer found in no source passage"
    )
    dropped_citations: list[int] = Field(
        default_factory=list, description="citation numbers the model wrote that point at no passage; removed"
    )
    unsupported_citations: list[int] = Field(
        default_factory=list, description="passage numbers cited only by sentences that share no content with them; "
                                          "not counted in citations"
    )
    complete: bool = True
    incomplete_reason: str | None = Field(
        None, description="why the answer stopped early (the stream broke, TUTOR_MAX_TOKENS reached); None when complete"
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)


class Takeaway(BaseModel):
    text: str
    citations: list[str]


class Takeaways(BaseModel):
    takeaways: list[Takeaway]
    sources: list[Source]
    role: str
    specialty: str | None = None
    trials: list[str] = Field(default_factory=list)
    model: str
    unverified_numbers: list[str] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)


class TrialInfo(BaseModel):
    """One trial of the library, as `tutor trials` lists it."""

    name: str
    title: str
    year: str | None = None
    journal: str | None = None
    sample: str | None = None
    chunks: int = 0
    document: str = ""
