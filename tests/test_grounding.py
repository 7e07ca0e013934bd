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


def test_a_dose_is_no_figure_of_a_result_but_a_level_per_volume_is():
    from tutor.composer import _states_figure

    assert not _states_figure("alphazumab at 80 mg once daily reduced the risk")
    assert not _states_figure("heparin 12,500 IU twice daily")
    assert _states_figure("LDL cholesterol fell to 70 mg/dL") and _states_figure("mean hemoglobin 11.2 g/dL")
    assert _states_figure("alphazumab 80 mg daily", doses=True)  # asked for the dose, it is the figure


def test_a_dose_run_into_its_unit_is_the_page_s_dose_however_the_page_writes_it():
    from tutor.composer import _figure_in

    for page in ("the 10 mg dose", "the 10-mg dose", "the 10mg dose"):
        assert _figure_in("10mg", page), page
    assert not _figure_in("20mg", "the 10 mg dose")
