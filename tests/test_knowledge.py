"""The knowledge document keeps the source's facts exactly; chunks carry their provenance."""

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, SOURCE
from tutor.knowledge import Splitter, load_document
from tutor.trialpage import HEADINGS
from tutor.grounding import numbers_in

DOC = ROOT / "knowledge" / "emilia-trial-summary.txt"


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


def test_the_published_page_is_parsed_into_a_trial_record():
    doc = load_document(DOC, DOC.parent)
    record = doc.record
    assert record.name == "EMILIA" and record.year == "2012" and record.journal == "New England Journal of Medicine"
    assert record.authors.startswith("Verma S") and len(record.key_findings) == 4 and record.sample == "991"
    assert record.blinding == "Open-Label" and record.design["Duration"] == "20 mo, median"
    assert record.intervention.startswith("Trastuzumab emtansine (T-DM1) 3.6 mg/kg")
    assert [d.role for d in record.discussion] == ["med_student", "resident", "fellow", "attending", "phd",
                                                   "journal_editor", "guideline_committee"]
    assert all(d.question and d.key_response for d in record.discussion)
    assert [r.name for r in record.related] == ["CLEOPATRA", "TH3RESA", "MARIANNE"]
    assert record.related[0].sample == "808" and record.related[0].key_result.startswith("The addition of pertuzumab")


def test_a_page_that_lacks_a_part_still_loads_and_markdown_keeps_working(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    cut = text.replace(text[text.index("Study Limitations"):text.index("Guided Discussion")], "")
    (tmp_path / "cut.txt").write_text(cut, encoding="utf-8")
    record = load_document(tmp_path / "cut.txt", tmp_path).record
    assert record.name == "EMILIA" and record.limitations == [] and record.clinical_significance == ""
    assert len(record.key_findings) == 4 and len(record.discussion) == 7
    (tmp_path / "notes.md").write_text("---\ntitle: Notes\ntrial: NOTES\n---\n# Notes\n\n## Part\n\nSome text here.\n")
    notes = load_document(tmp_path / "notes.md", tmp_path)
    assert notes.record is None and notes.meta["trial"] == "NOTES"
    assert Splitter(450, 60).split(notes)[0].section == "Part"


def test_chunks_keep_document_trial_section_and_stable_ids():
    doc = load_document(DOC, DOC.parent)
    first = Splitter(450, 60).split(doc)
    again = Splitter(450, 60).split(load_document(DOC, DOC.parent))
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert all(c.document == "emilia-trial-summary.txt" and c.trial == "EMILIA" for c in first)
    assert all(len(c.text) <= 450 * 1.5 for c in first)
    pfs = next(c for c in first if "9.6 months" in c.text)
    assert pfs.section == "Key Findings > 1: Progression-Free Survival" and pfs.kind == "finding"
    sections = {c.section.split(" > ")[0] for c in first}
    assert {"Key Findings", "Study Design", "Study Limitations", "Guided Discussion"} <= sections
    # no page label is taken for text; each discussion passage knows its role
    assert not any(c.text.startswith(("Med Student", "Key Response")) for c in first)
    assert {c.role for c in first if c.kind == "discussion"} >= {"med_student", "phd"}
    stub = next(c for c in first if c.kind == "related" and c.about == "TH3RESA")
    assert stub.trial == "EMILIA" and stub.text.startswith("Summary from the EMILIA page: TH3RESA trial")


def test_a_label_word_after_a_value_qualifies_it_and_a_label_with_a_value_is_a_field(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    (tmp_path / "qualified.txt").write_text(text.replace("20 mo\nMedian\n", "60 days\nFollow-up\n"), encoding="utf-8")
    design = load_document(tmp_path / "qualified.txt", tmp_path).record.design
    assert design["Duration"] == "60 days, follow-up" and "Follow-up" not in design
    (tmp_path / "field.txt").write_text(text.replace("Setting\n", "Follow-up\n24 mo\nSetting\n"), encoding="utf-8")
    design = load_document(tmp_path / "field.txt", tmp_path).record.design
    assert design["Follow-up"] == "24 mo" and design["Duration"] == "20 mo, median"


def test_a_long_part_is_cut_at_sentence_ends_not_inside_a_comparison(tmp_path):
    sentence = "Global response was 72.5% vs. 67.9% at day 14, and step-down came after 4 days vs. 5 days. "
    pieces = Splitter(120, 0).chars.split_text(sentence * 4)
    assert len(pieces) > 1 and all(p.strip().endswith("days.") for p in pieces)


def test_a_finding_is_labelled_by_its_endpoint_only_when_no_other_finding_shares_it():
    # PELLOW-2's first two findings (death with each factor) both name "bleeding", the trial's own condition:
    # labelled "Bleeding", a question naming the condition found them before the field that answers it
    page = ROOT / "tests" / "fixtures" / "pellow-2-trial-summary.txt"
    doc = load_document(page, page.parent)
    findings = [c.section for c in Splitter(450, 60).split(doc) if c.kind == "finding"]
    assert "Key Findings > 1" in findings and "Key Findings > 2" in findings
    assert not any(s.endswith("Bleeding") for s in findings)
    # a label only one finding carries stays ("Stroke" names the thrombotic-events finding alone)
    assert any(s.startswith("Key Findings > 4:") for s in findings)


def test_no_number_of_any_trial_page_is_lost_between_the_page_and_its_chunks():
    # Paragraphs after the design fields ("Harms: ...") and a related entry for two trials ("VIEW 1 and
    # VIEW 2 Trials") were once dropped by the parser: the learner could not ask about them.
    pages = sorted((ROOT / "knowledge").glob("*.txt")) + sorted((ROOT / "tests" / "fixtures").glob("*-trial-summary.txt"))
    assert len(pages) > 30
    for page in pages:
        chunks = Splitter(450, 60).split(load_document(page, page.parent))
        kept = {n for c in chunks for n in numbers_in(c.text)}
        assert not set(numbers_in(page.read_text(encoding="utf-8"))) - kept, page.name


def test_a_paragraph_after_the_design_fields_is_a_passage_of_its_own(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    outcome = next(line for line in text.splitlines() if line.startswith("Outcome "))
    notes = ("Patients were randomised centrally, stratified by region. Crossover was not allowed.\n\n"
             "Harms: febrile neutropenia occurred in 8 patients (1.6%) and 15 patients (3.1%).")
    (tmp_path / "notes.txt").write_text(text.replace(outcome, f"{outcome}\n\n{notes}"), encoding="utf-8")
    doc = load_document(tmp_path / "notes.txt", tmp_path)
    assert doc.record.outcome == outcome.removeprefix("Outcome ") and len(doc.record.design_notes) == 2
    parts = {c.section: c for c in Splitter(450, 60).split(doc)}
    assert parts["Study Design > Notes"].kind == "design.notes"  # how it was done: a design passage
    assert parts["Study Design > Harms"].kind == "finding" and "3.1%" in parts["Study Design > Harms"].text


@pytest.mark.parametrize("copy", [
    lambda t: "\n".join(line.upper() if line.strip() in HEADINGS else line for line in t.split("\n")),
    lambda t: "\n".join(f"## {line}:" if line.strip() in HEADINGS else line for line in t.split("\n")),
    lambda t: re.sub(r"^(Population|Intervention|Comparator|Outcome) ", r"\1: ", t, flags=re.M),
    lambda t: re.sub(r"^(Design|Sample|Duration|Setting)\n(.+)$", r"\1: \2", t, flags=re.M),
    lambda t: re.sub(r"^\d+\. ", "• ", t, flags=re.M).replace("Key Response\n", "Key Response:\n"),
    lambda t: t.replace("\n", "\r\n"),
], ids=["capitals", "markdown-headings-with-colons", "pico-colons", "design-label-and-value", "bullets", "crlf"])
def test_a_page_copied_with_other_capitals_colons_or_bullets_reads_the_same(tmp_path, copy):
    # a programme pastes a page from a browser or a word processor: its labels change case, gain colons or "##",
    # its numbered findings become bullets; the record must not change (before, such a page lost every section)
    text = DOC.read_text(encoding="utf-8")
    (tmp_path / "copied.txt").write_text(copy(text), encoding="utf-8")
    copied = load_document(tmp_path / "copied.txt", tmp_path).record
    assert copied is not None and copied.model_dump() == load_document(DOC, DOC.parent).record.model_dump()
