"""The practice grader on pages of other fields: a double-dummy trial, two doses against placebo, a procedure against
another, a trial stopped early. Every answer here was written for these tests from the trial pages, never copied
from a grading set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tutor.grading import Arms, _STATISTIC, _claims, truth_map
from tutor.trialpage import parse_trial_page

FIXTURES = ROOT / "tests" / "fixtures"
PAGES = ["mossdale-2", "linthwaite-2", "cragside-3", "bracken-2"]


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    from tutor.settings import Settings
    from tutor.tutor import Tutor

    root = tmp_path_factory.mktemp("pages")
    knowledge = root / "knowledge"
    knowledge.mkdir()
    for page in [*(ROOT / "knowledge").iterdir(), *(FIXTURES / f"{p}-trial-summary.txt" for p in PAGES)]:
        shutil.copy(page, knowledge)
    return Tutor(Settings(data_dir=root / "chroma", knowledge_dir=knowledge, _env_file=None)).practice


def _notes(grade) -> str:
    return " | ".join(f"{p.status}: {p.note}" for p in grade.points)


def test_a_double_dummy_names_neither_arm_so_swapped_bleeding_rates_are_seen(practice):
    # Each arm takes a placebo matching the other arm's drug ("apixaban-matching placebo"): that placebo is no name
    # of its arm, and a rate in the same brackets as its share ("(8.6%; 4.12 per 100 patient-years)") is that arm's.
    right = practice.grade("mossdale-2-recall-finding-2", "Major or clinically relevant non-major bleeding: 232 patients "
                           "(5.1%; 2.46 per 100 patient-years) with velnoxaban against 389 (8.6%; 4.12) with apixaban, "
                           "HR 0.60 (95% CI 0.51-0.70). Major bleeding alone was 1.04 vs 1.60 per 100 patient-years, "
                           "HR 0.65 (0.50-0.84).", "resident")
    assert right.verdict == "correct", _notes(right)
    swapped = practice.grade("mossdale-2-recall-finding-2", "Major or clinically relevant non-major bleeding: 389 "
                             "patients (8.6%; 4.12 per 100 patient-years) with velnoxaban against 232 (5.1%; 2.46) with "
                             "apixaban, HR 0.60 (95% CI 0.51-0.70).", "resident")
    assert swapped.points[0].status == "incorrect" and "arms swapped" in swapped.points[0].note, _notes(swapped)


def test_two_outcomes_whose_figures_changed_places_are_not_both_credited(practice):
    traded = practice.grade("mossdale-2-recall-finding-4", "Ischaemic stroke happened in 301 patients (6.7%) on "
                            "velnoxaban and 318 (7.0%) on apixaban, HR 0.95. Death from any cause: 104 (2.3%) against "
                            "86 (1.9%), HR 1.21.", "fellow")
    assert traded.verdict != "correct"
    assert any("swapped between outcomes" in p.note for p in traded.points), _notes(traded)


def test_figures_of_two_doses_given_to_the_other_dose_are_swapped(practice):
    swapped = practice.grade("linthwaite-2-recall-finding-1", "At week 68 weight fell by 18.4% on the 5 mg dose and "
                             "13.8% on 10 mg, against 2.6% on placebo.", "resident")
    assert swapped.verdict == "incorrect" and "groups swapped" in _notes(swapped), _notes(swapped)


def test_a_procedure_arm_is_named_after_its_figure_with_after(practice):
    swapped = practice.grade("cragside-3-recall-finding-2", "Delirium on days 1 to 3 (3D-CAM): 21.8% (165/758) after "
                             "spinal and 20.7% (158/762) after general anaesthesia, RR 0.95.", "resident")
    assert swapped.verdict == "incorrect" and "arms swapped" in _notes(swapped), _notes(swapped)


def test_who_converted_from_one_arm_to_the_other_belongs_to_the_first():
    record = parse_trial_page((FIXTURES / "cragside-3-trial-summary.txt").read_text())
    truth = truth_map(record, Arms(record))
    # "Conversion from spinal to general anaesthesia occurred in 66/795 patients (8.3%)"
    assert truth["8.3"][0] == frozenset({"spinal anaesthesia"}) and truth["66"][0] == frozenset({"spinal anaesthesia"})


def test_a_terse_answer_to_each_part_of_a_design_question_is_no_keyword_list(practice):
    grade = practice.grade("linthwaite-2-recall-design", "Randomised, double-blind; 2068 patients.", "med_student")
    assert grade.verdict == "correct" and not grade.flags, (grade.flags, _notes(grade))


def test_an_arm_named_with_a_word_inside_its_name_and_its_allocation_ratio_is_given(practice):
    grade = practice.grade("linthwaite-2-recall-arms", "Torvaglutide 5 mg or 10 mg under the skin once weekly with "
                           "lifestyle advice, randomised 2:2:1 against a matching once-weekly placebo injection with "
                           "the same advice.", "resident")
    assert grade.verdict == "correct", _notes(grade)


def test_a_unit_and_a_rounded_figure_of_another_point_are_no_wrong_figures(practice):
    # "mL/min/1.73 m2" is a unit, not a figure of either arm; "about 2.5" rounds the page's difference of 2.45
    grade = practice.grade("bracken-2-recall-finding-4", "After a dip of 3.4 mL/min/1.73 m2, eGFR fell by 1.82 "
                           "mL/min/1.73 m2 per year with corvagliflozin and 4.27 with placebo, about 2.5 a year slower.",
                           "resident")
    assert grade.points[0].status == "covered", _notes(grade)


def test_what_a_negation_or_an_exclusion_denies():
    # "not" before "better" is that word's, not the next claim's ("with fewer bleeds")
    assert _claims("about the same protection, not better, with fewer bleeds")[1] == {"better": True, "more": True}
    # an exclusion denied allows what follows: "does not exclude an increase"
    assert _claims("its interval does not exclude a meaningful increase")[1] == {"more": False}
    assert _claims("it did not increase relapse")[1] == {"more": True}
    assert _STATISTIC.search("so the NNT was ")  # a number needed to treat is no arm's figure
