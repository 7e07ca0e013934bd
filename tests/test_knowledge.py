"""The knowledge document keeps the source's facts exactly; chunks carry their provenance."""

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, SOURCE
from tutor.knowledge import Splitter, load_document
from tutor.grounding import numbers_in

DOC = ROOT / "knowledge" / "emilia-trial.md"


@pytest.mark.skipif(not SOURCE.exists(), reason="shared/source is not beside this clone")
def test_every_number_and_sentence_of_the_source_is_in_the_knowledge_document():
    source = SOURCE.read_text(encoding="utf-8")
    doc = DOC.read_text(encoding="utf-8")
    missing_numbers = [n for n in set(numbers_in(source)) if n not in set(numbers_in(doc))]
    assert not missing_numbers
    lines = [re.sub(r"^\d+\.\s+", "", line.strip()) for line in source.splitlines() if len(line.strip()) > 60]
    sentences = [s for line in lines for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line) if len(s) > 40]
    flat = " ".join(doc.split())
    page_chrome = {"Add your specialty or training stage to get role-specific takeaways and more questions."}
    missing = [s for s in sentences if " ".join(s.split()) not in flat and s not in page_chrome]
    assert len(sentences) > 50 and not missing, missing


def test_front_matter_names_the_trial():
    doc = load_document(DOC, DOC.parent)
    assert doc.meta["trial"] == "EMILIA" and doc.meta["year"] == 2012
    assert doc.meta["journal"] == "New England Journal of Medicine"


def test_chunks_keep_document_trial_section_and_stable_ids():
    doc = load_document(DOC, DOC.parent)
    first = Splitter(450, 60).split(doc)
    again = Splitter(450, 60).split(load_document(DOC, DOC.parent))
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert all(c.document == "emilia-trial.md" and c.trial == "EMILIA" for c in first)
    assert all(len(c.text) <= 450 for c in first)
    pfs = next(c for c in first if "9.6 months" in c.text)
    assert pfs.section == "Key Findings > Progression-Free Survival"
    sections = {c.section.split(" > ")[0] for c in first}
    assert {"Key Findings", "Study Design", "Study Limitations", "Guided Discussion"} <= sections
