"""The guard on every model's output: citations must exist, numbers must come from the passages."""

from tutor.grounding import check
from tutor.schema import Source


def source(i, text):
    return Source(id=f"s{i}", document="d.md", section="S", text=text, score=0.5)


SOURCES = [source(1, "Median PFS was 9.6 months versus 6.4 months (HR, 0.65)."), source(2, "Sample: 991 patients.")]


def test_citations_to_missing_passages_are_dropped():
    checked = check("PFS was 9.6 months [1][7]. Sample 991 [2, 9].", SOURCES)
    assert checked.text == "PFS was 9.6 months [1]. Sample 991 [2]."
    assert checked.citations == ["s1", "s2"]


def test_invented_numbers_are_flagged_and_real_ones_are_not():
    checked = check("PFS was 9.6 months [1], about 10 months, with an HR of 0.61 in 1,000 patients.", SOURCES)
    assert checked.unverified_numbers == ["10", "0.61", "1000"]


def test_names_with_digits_and_list_markers_are_not_numbers():
    checked = check("1. T-DM1 beat lapatinib in HER2-positive disease, unlike DESTINY-Breast03 [1].", SOURCES)
    assert checked.unverified_numbers == []
