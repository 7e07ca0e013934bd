"""The practice grader's verdicts on answers that are partly right or wrong in one place: the verdict a teacher
would give. Every answer here was written for these tests from the trial pages, never copied from a grading set."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def practice(tutor):
    return tutor.practice


def test_one_point_of_two_made_and_the_other_only_touched_is_partial(practice):
    touched = practice.grade("destiny-breast03-fellow-discussion",
                             "T-DXd is now the preferred second-line drug, so T-DM1 comes later in the sequence.", "fellow")
    assert [p.status for p in touched.points] == ["covered", "partly"]
    assert touched.verdict == "partial"
    both = practice.grade("destiny-breast03-fellow-discussion",
                          "T-DXd is now the preferred second-line drug. T-DM1 has moved to later lines, or to patients "
                          "who cannot have T-DXd, such as those with serious lung disease where interstitial lung "
                          "disease is a worry.", "fellow")
    assert both.verdict == "correct"


def test_a_point_that_is_its_figure_is_made_by_the_exact_figure(practice):
    grade = practice.grade("marianne-recall-design", "Randomised, three arms, with the T-DM1 arms blinded for "
                           "pertuzumab by placebo; 1,095 patients.", "resident")
    assert grade.verdict == "correct"
    wrong = practice.grade("marianne-recall-design", "Randomised, three arms, with the T-DM1 arms blinded for "
                           "pertuzumab by placebo; 1,195 patients.", "resident")
    assert wrong.verdict != "correct"


def test_a_denial_the_page_makes_too_is_no_opposite(practice):
    # The page: "neither T-DM1 arm beat" the control. Saying it did not beat the control agrees with it.
    grade = practice.grade("marianne-fellow-discussion", "T-DM1 didn't beat trastuzumab plus a taxane, and the "
                           "control arm lacked pertuzumab, so MARIANNE could not displace the CLEOPATRA regimen.",
                           "fellow")
    assert grade.points[0].status == "covered" and "opposite" not in grade.points[0].note


def test_properties_given_to_the_wrong_drug_are_swapped_even_beside_a_figure(practice):
    # The key point ties the microtubule payload and the non-cleavable linker to one drug in a sentence that also
    # gives a figure (drug molecules per antibody); giving them to the other drug is the arms swapped.
    swapped = practice.grade("destiny-breast03-med_student-discussion", "T-DXd carries a microtubule inhibitor on a "
                             "non-cleavable linker, so its payload stays inside the targeted cell, while T-DM1 has a "
                             "cleavable linker and a topoisomerase I inhibitor payload that kills nearby cells.",
                             "med_student")
    assert all(p.status == "incorrect" and "swapped" in p.note for p in swapped.points)
    right = practice.grade("destiny-breast03-med_student-discussion", "T-DM1 carries a microtubule inhibitor on a "
                           "non-cleavable linker, so its payload stays inside the targeted cell, while T-DXd has a "
                           "cleavable linker and a topoisomerase I inhibitor payload that kills nearby cells too.",
                           "med_student")
    assert right.verdict == "correct"


def test_roles_swapped_between_a_trial_arm_and_the_newer_drug_it_is_set_against(practice):
    # The item sets a drug that is no arm of the trial (the newer conjugate) against the trial's own drug: giving
    # each the other's place in the guidelines is the arms swapped, as for the trial's own arms.
    swapped = practice.grade("emilia-guideline_committee-discussion", "EMILIA gave T-DM1 level 1, category 1 evidence "
                             "in the second line. Since the newer guidelines, T-DM1 is the preferred second-line "
                             "choice, and T-DXd is a recommended option kept for the third line or for patients with "
                             "pulmonary fibrosis.", "guideline_committee")
    assert swapped.verdict == "incorrect"
    assert any("swapped" in p.note for p in swapped.points)
    right = practice.grade("emilia-guideline_committee-discussion", "EMILIA gave T-DM1 level 1, category 1 evidence "
                           "in the second line. Since the newer guidelines, T-DXd is the preferred second-line choice, "
                           "and T-DM1 is a recommended option kept for the third line or for patients with pulmonary "
                           "fibrosis.", "guideline_committee")
    assert right.verdict == "correct"


def test_another_findings_figures_given_after_the_claim_are_wrong_figures(practice):
    # The claim reads like the point; its figures, after a colon, are the page's progression-free survival ones.
    grade = practice.grade("emilia-recall-finding-2", "Survival overall favoured T-DM1: a median of 9.6 months "
                           "against 6.4 months with lapatinib plus capecitabine.", "resident")
    assert grade.points[0].status == "incorrect" and "not the page's figure" in grade.points[0].note
    assert grade.verdict == "incorrect"


def test_an_answer_that_denies_what_the_question_states_earns_nothing_for_it(practice):
    # The question calls the drug one built on trastuzumab; saying it is not is wrong about the trial, however
    # close the rest of the sentence reads to the key point.
    denied = practice.grade("th3resa-med_student-discussion", "T-DM1 is not built on trastuzumab at all: it carries "
                            "its payload on pertuzumab, so resistance to trastuzumab is irrelevant.", "med_student")
    assert denied.score == 0 and any("question" in f for f in denied.flags)
    # A question that only asks ("was it blinded?") takes nothing as given: "not blinded" answers it.
    design = practice.grade("emilia-recall-design", "Randomised, not blinded (open label), 991 patients.", "resident")
    assert not design.flags and design.verdict == "correct"


def test_naming_one_of_two_co_primary_endpoints_is_partial(practice):
    one = practice.grade("emilia-appraisal-endpoints", "Progression-free survival, read by independent review.",
                         "resident")
    assert one.verdict == "partial" and "overall survival" in one.points[0].note
    both = practice.grade("emilia-appraisal-endpoints", "PFS by independent review, and OS.", "resident")
    assert both.verdict == "correct"
    # What the field marks secondary is not asked for: the primary endpoint alone is the whole answer.
    primary = practice.grade("destiny-breast03-appraisal-endpoints", "Progression-free survival, assessed by "
                             "blinded independent central review.", "resident")
    assert primary.verdict == "correct"


def test_another_library_trials_results_earn_no_point_of_this_one(practice):
    # The page never names the other trial; the library does, and its figures are none of this page's.
    other = practice.grade("th3resa-fellow-discussion", "In MARIANNE, first-line T-DM1 kept quality of life for 7.7 "
                           "months versus 3.6 months with trastuzumab and a taxane, so it suits patients across "
                           "pretreated and untreated HER2-positive disease.", "fellow")
    assert other.score == 0 and other.verdict == "incorrect"


@pytest.mark.parametrize("then", [
    "In other words, OS was shorter with T-DM1.",
    "T-DM1 had no effect on survival.",
    "So overall survival did not differ between the arms.",
])
def test_a_point_made_and_then_said_the_other_way_round_is_not_made(practice, then):
    right = ("Median OS was 30.9 months with T-DM1 versus 25.1 months with lapatinib plus capecitabine, HR 0.68.")
    assert practice.grade("emilia-recall-finding-2", right, "resident").verdict == "correct"
    grade = practice.grade("emilia-recall-finding-2", f"{right} {then}", "resident")
    assert grade.points[0].status == "incorrect" and grade.verdict == "incorrect"


def test_a_number_with_a_thousands_separator_is_no_list_of_terms():
    from tutor.grading import keyword_list

    assert not keyword_list("Randomised, two arms, 2,350 patients.")
    assert keyword_list("crossover, bias, dilution, censoring, power")  # a list of bare terms still is one


def test_treatments_given_together_are_one_regimen_not_a_list_of_terms():
    from tutor.grading import keyword_list

    assert not keyword_list("Randomised phase III, three arms (alphazumab + taxane, betaxel + placebo, betaxel + "
                            "gammab), 1,095 patients, double-blind in all three arms.")
    assert keyword_list("PFS + OS + HR + crossover + bias + null + power")  # a chain of "+"s still strings terms


def test_a_terse_design_answer_with_its_sample_size_is_correct(practice):
    grade = practice.grade("marianne-recall-design", "Randomised, three arms, 1,095 patients. The two T-DM1 arms "
                           "were blinded for pertuzumab versus placebo; the trastuzumab and taxane arm was open-label.",
                           "resident")
    assert not grade.flags and grade.verdict == "correct"


def test_the_claim_a_point_turns_down_is_read_when_it_is_one_word():
    from tutor.grading import makes_rejected_claim

    point = "Patients on ALPHA-1 kept their mobility longer, but seizure control was similar rather than better."
    assert makes_rejected_claim(point, "ALPHA-1 gives clearly better seizure control than betanib.")
    assert makes_rejected_claim(point, "Mobility lasted longer on ALPHA-1, and it controls seizures better too.")
    # the page's own claim, said with a negation or its own "rather than", and a claim about something else
    assert not makes_rejected_claim(point, "ALPHA-1 did not control seizures any better, just about the same.")
    assert not makes_rejected_claim(point, "Seizure control was similar rather than better with ALPHA-1.")
    assert not makes_rejected_claim(point, "Mobility was better kept with ALPHA-1.")


def test_an_answer_that_claims_what_the_page_turns_down_is_wrong(practice):
    grade = practice.grade("marianne-attending-discussion", "On T-DM1 your quality of life lasts longer and the cancer "
                           "is controlled far better than with chemotherapy, so it wins on both.", "attending")
    assert grade.points[0].status == "incorrect" and grade.verdict == "incorrect"


def test_a_drug_of_one_arm_put_into_the_other_arms_regimen_is_read():
    from tutor.grading import Arms
    from tutor.trialpage import TrialRecord

    record = TrialRecord(name="ALPHA-Lung03", title="ALPHA-Lung03",
                         intervention="Alphazumab 5 mg/kg every 3 weeks with betanib or with placebo.",
                         comparator="Gammaxel plus deltaplatin or epsilotaxel, chosen by the investigator.")
    arms = Arms(record)
    assert arms.mixed("It compared alphazumab plus betanib against the older regimen of betanib, gammaxel and "
                      "deltaplatin.") == {"B": {"betanib"}}
    assert arms.mixed("Gammaxel plus deltaplatin plus betanib was the control.") == {"B": {"betanib"}}
    # each arm its own drugs, listed or compared: nothing put into the other arm
    for fine in ("It compared alphazumab with gammaxel plus deltaplatin.",
                 "The arms were alphazumab plus betanib, alphazumab plus placebo, and gammaxel plus deltaplatin.",
                 "Alphazumab and gammaxel plus deltaplatin were compared."):
        assert arms.mixed(fine) == {}, fine


def test_a_comparator_given_a_drug_of_the_experimental_arm_is_wrong(practice):
    grade = practice.grade("marianne-recall-arms", "T-DM1 with or without pertuzumab was tested against trastuzumab "
                           "plus docetaxel plus pertuzumab.", "resident")
    assert grade.points[1].status == "incorrect" and grade.verdict == "incorrect"
    right = practice.grade("marianne-recall-arms", "T-DM1 plus pertuzumab, or T-DM1 plus placebo, against "
                           "trastuzumab plus docetaxel or paclitaxel.", "resident")
    assert right.verdict == "correct"


def test_a_question_asking_how_a_measure_was_assessed_needs_the_assessment(practice):
    # "What was the primary endpoint, and how was it assessed?": the measure alone answers half of it.
    bare = practice.grade("destiny-breast03-appraisal-endpoints", "The primary endpoint was progression-free "
                          "survival.", "resident")
    assert bare.verdict == "partial" and "how it was assessed" in bare.points[0].note
    full = practice.grade("destiny-breast03-appraisal-endpoints", "Progression-free survival, judged by a blinded "
                          "central review that was independent of the investigators.", "resident")
    assert full.verdict == "correct"


def test_a_claim_set_in_another_line_of_therapy_is_wrong():
    from tutor.grading import other_line

    point = "ALPHA-1 became the preferred second-line option, with betanib kept for patients who cannot have it."
    question = "How should ALPHA-Lung03 change a second-line recommendation?"
    wrong = "Betanib can be an alternative first-line option for patients unfit for chemotherapy."
    assert other_line(point, wrong, wrong, question)
    right = "ALPHA-1 is the preferred 2L option; betanib is kept for those who cannot have it."
    assert not other_line(point, right, right, question)
    # a line the answer also gives the point's way, or one the item names elsewhere, is context, not the claim
    both = "First-line treatment is unchanged; in the second line ALPHA-1 is preferred."
    assert not other_line(point, both.split(";")[0], both, question)


def test_a_recommendation_moved_to_another_line_earns_nothing(practice):
    grade = practice.grade("destiny-breast03-guideline_committee-discussion", "T-DM1 should be offered as a "
                           "first-line alternative for patients who cannot take taxanes, not as the preferred choice.",
                           "guideline_committee")
    assert grade.points[0].status != "covered" and grade.verdict == "incorrect"


def test_an_arm_named_in_apposition_to_the_other_arms_role_is_swapped(practice):
    swapped = practice.grade("emilia-recall-arms", "EMILIA tested lapatinib (1,250 mg once daily) plus capecitabine "
                             "(1,000 mg/m2 twice daily, days 1-14) against the standard treatment, T-DM1 3.6 mg/kg IV "
                             "every 3 weeks.", "fellow")
    assert swapped.verdict == "incorrect" and any(p.note.startswith("arms swapped") for p in swapped.points)
    right = practice.grade("emilia-recall-arms", "EMILIA tested T-DM1 3.6 mg/kg IV every 3 weeks against the standard "
                           "treatment, lapatinib 1,250 mg once daily plus capecitabine 1,000 mg/m2 twice daily on days "
                           "1-14.", "fellow")
    assert right.verdict == "correct", [(p.status, p.note) for p in right.points]


def test_counts_with_thousands_separators_are_figures_not_a_list_to_choose_from():
    """"194/2,207 vs 203/2,201" gives two counts of patients each, not the candidates "194, 2, 207, 203"."""
    from tutor.grading import shotgun

    assert shotgun("deaths 194/2,207 vs 203/2,201", ["194", "2207"]) == []
    assert shotgun("9.6, 6.4, 0.65, 30.9, 25.1 or 0.68", ["9.6", "6.4"])  # a bare run of candidates still is one
    assert shotgun("9.6,6.4,0.65,30.9,25.1 or 0.68", ["9.6", "6.4"])  # written without spaces too


def _vaccine_arms():
    from tutor.grading import Arms
    from tutor.trialpage import TrialRecord

    return Arms(TrialRecord(
        name="ALPHA-7", title="ALPHA-7",
        intervention="Alphavac (10 µg each of A1, B2 and C3 antigens with 0.5 mg alum) 0.5 mL intramuscularly, two doses.",
        comparator="Saline placebo (0.9% sodium chloride) 0.5 mL intramuscularly on the same schedule."))


def test_a_treatment_described_in_brackets_is_named_by_its_name_alone():
    """The comma inside the brackets is the vaccine's own: its name is "alphavac", and a placebo described in more
    words is the same arm as "placebo" (one treatment, two names)."""
    arms = _vaccine_arms()
    assert {alias for alias, _ in arms._aliases} == {"alphavac", "saline placebo", "placebo"}
    assert arms.side(arms._mentions("placebo injections")[0][2]) == arms.side(arms._mentions("saline placebo")[0][2])


def test_a_comparator_field_s_description_names_no_arm():
    """"96% or higher", "with the same schedule", "with plates": words after a dose or a 'with' name no treatment."""
    from tutor.grading import Arms
    from tutor.trialpage import TrialRecord

    arms = Arms(TrialRecord(name="BETA-2", title="BETA-2",
                            intervention="Open reduction and internal fixation with plates, screws or both.",
                            comparator="Liberal oxygen targeting an SpO2 of 96% or higher; matching placebo with the same "
                                       "schedule."))
    aliases = {alias for alias, _ in arms._aliases}
    assert {"open reduction", "internal fixation", "liberal oxygen"} <= aliases
    assert not aliases & {"higher", "plates", "same schedule"}, aliases


def test_an_effect_estimate_is_no_arm_s_figure_and_a_count_s_total_goes_with_its_count():
    arms = _vaccine_arms()
    given = arms.attribute("The endpoint occurred in 38 of 1,962 infants in the alphavac group (1.08 per 100 "
                           "person-years) and 80 of 978 infants in the placebo group (4.66 per 100 person-years), giving "
                           "a vaccine efficacy (VE) of 76.8%; GMT ratio, 41.4.")
    sides = {n: arms.side(label[0]) for n, label in given.items()}
    assert sides == {"38": "A", "1962": "A", "1.08": "A", "80": "B", "978": "B", "4.66": "B"}, sides


def test_figures_of_two_groups_given_the_other_group_are_swapped():
    """A subgroup finding sets two groups side by side; an answer that moves each figure to the other group has them
    swapped, however it words the groups ("MRSA" for the page's "methicillin-resistant ... (MRSA)")."""
    from tutor.grading import contrast_swaps

    point = ("The odds ratio was 1.08 (95% CI, 0.90 to 1.29) in patients with shock at entry and 0.87 (95% CI, 0.73 to "
             "1.05) in those without shock (P = 0.10 for interaction).")
    assert contrast_swaps(point, "OR 0.87 with shock, 1.08 without shock", set()) == {"0.87", "1.08"}
    assert contrast_swaps(point, "OR 1.08 with shock, 0.87 without shock", set()) == set()
    point = ("In the 254 patients with drug-resistant strains (DRS) the risk difference was 2.6 percentage points, "
             "compared with -1.6 percentage points in patients with drug-susceptible strains (DSS).")
    assert contrast_swaps(point, "In DSS the RD was 2.6 pp, whereas in DRS it was -1.6 pp.", set()) == {"2.6", "1.6"}
    assert contrast_swaps(point, "In DRS the RD was 2.6 pp, whereas in DSS it was -1.6 pp.", set()) == set()
    # groups cut at a threshold, each with its count: "1,017" is one count, not a joint between two stretches
    point = ("The rate ratio was 0.69 in the 1,017 patients with 300 cells per microlitre or more and 0.84 in the "
             "1,401 patients with fewer than 300 cells per microlitre.")
    assert contrast_swaps(point, "RR 0.84 in the 1,017 with 300 cells per microlitre or more, 0.69 in the 1,401 with "
                                 "fewer than 300.", set()) == {"0.69", "0.84"}
    assert contrast_swaps(point, "RR 0.69 in the 1,017 with 300 cells per microlitre or more, 0.84 in the 1,401 with "
                                 "fewer than 300.", set()) == set()
    # one figure moved, the other left unnamed: no swap to tell (the sentence's subject is no group)
    lung = ("Interstitial lung disease occurred in 10.5% of patients receiving alphazumab and 1.9% of patients "
            "receiving betanib.")
    assert contrast_swaps(lung, "Lung disease was 1.9% with betanib vs 10.5% with alphazumab", {"alphazumab", "betanib"}) == set()


def test_a_group_named_by_its_denial_is_told_apart_from_it():
    """"larger in patients with marked fatigue (HR 0.31) than in those without it (HR 0.63)": the second group is the
    first one denied, "it" standing for what the first was named by. An answer that gives each figure to the other
    group has them swapped, though it keeps "the larger reduction" with the right figure."""
    from tutor.grading import contrast_swaps

    point = ("The reduction in relapse was larger in patients with marked fatigue at baseline (HR, 0.31; 95% CI, 0.19 "
             "to 0.50) than in those without it (HR, 0.63; 95% CI, 0.43 to 0.93; P for interaction = 0.03).")
    assert contrast_swaps(point, "Patients without marked fatigue had the larger reduction in relapse (HR 0.31) compared "
                                 "with those with marked fatigue (HR 0.63).", set()) == {"0.31", "0.63"}
    assert contrast_swaps(point, "Patients with marked fatigue had the larger reduction in relapse (HR 0.31) compared "
                                 "with those without it (HR 0.63).", set()) == set()
    assert contrast_swaps(point, "HR 0.31 with marked fatigue vs 0.63 without.", set()) == set()
    # "compared with placebo" names the arm a result is set against, not the group "without it" denies
    point = ("Relapse was reduced compared with placebo in patients with diabetes (HR, 0.61) but not in those without it "
             "(HR, 0.93).")
    assert contrast_swaps(point, "HR 0.93 with diabetes, 0.61 without diabetes.", set()) == {"0.61", "0.93"}


def test_a_figure_is_given_the_dose_written_beside_it_and_nothing_else_is():
    """CORRIE-4 compares 80 mg and 40 mg of one drug with placebo. A figure is given the dose written just after it, or
    just before it in its clause, or its place in a list of doses; a time point ("at 12 weeks"), an arm's size
    ("n = 167") and the figure after another figure's dose are given none."""
    from tests.conftest import ROOT
    from tutor.grading import Arms
    from tutor.trialpage import parse_trial_page

    arms = Arms(parse_trial_page((ROOT / "tests" / "fixtures" / "corrie-4-trial-summary.txt").read_text(encoding="utf-8")))
    each = {"4.9": "80 mg", "4.4": "40 mg", "4.1": "comparator"}
    assert arms.dose_of("Events occurred in 4.9% (80 mg), 4.4% (40 mg) and 4.1% (placebo).") == each
    assert arms.dose_of("Rates were 4.9%, 4.4% and 4.1% with 80 mg, 40 mg and placebo, respectively.") == each
    assert arms.dose_of("80 mg vs 40 mg vs placebo: 4.9% vs 4.4% vs 4.1%") == each
    assert arms.dose_of("Doses of 40 or 80 mg gave 4.4% and 4.9%.") == {"4.4": "40 mg", "4.9": "80 mg"}
    assert arms.dose_of("The 40 mg comparison (P = 0.11) was not significant.") == {"0.11": "40 mg"}
    assert arms.dose_of("Headache was 14.0% (80 mg) vs 18.6% (40 mg) vs 11.3%.") == {"14.0": "80 mg", "18.6": "40 mg"}
    timed = arms.dose_of("At 12 weeks on 80 mg, 4.9% responded; in the 40 mg arm (n = 167) fewer did.")
    assert timed == {"4.9": "80 mg"}
    assert arms.dose_of("80 mg 4.9% - 4.1% with placebo")["4.1"] == "comparator"


def test_groups_named_by_a_code_a_cut_off_or_a_band_are_told_apart_by_it():
    """A subgroup is named by a cut-off ("20% or more", "below 20%"), a band ("60-69 years") or a code ("N1",
    "N2-N3"): an answer that gives each figure the other group's name has them swapped, however it writes the
    cut-off, and across the item's points when each point gives one group."""
    from tutor.grading import contrast_swaps

    point = ("The benefit appeared larger with a score of 20% or more (HR, 0.70; 95% CI, 0.56 to 0.87) than with a "
             "score below 20% (HR, 0.81; 95% CI, 0.61 to 1.08).")
    assert contrast_swaps(point, "Below 20% the HR was 0.70, while at 20% or more it was 0.81.", set()) == {"0.70", "0.81"}
    assert contrast_swaps(point, "HR 0.70 with a score of at least 20% and 0.81 under 20%.", set()) == set()
    ages = "Efficacy was 79.2% at 60-69 years and 83.3% at 80 years or older."
    assert contrast_swaps(ages, "79.2% in those aged 80 or older and 83.3% in the 60 to 69 group.", set()) == \
        {"79.2", "83.3"}
    assert contrast_swaps(ages, "83.3% in those aged 80 or older and 79.2% in the 60 to 69 group.", set()) == set()
    first = "The clearest benefit was in N2-N3 disease (HR, 0.69; 95% CI, 0.57 to 0.84)."
    item = f"{first} In N1 disease the HR was 0.86 (95% CI, 0.64 to 1.16)."
    assert contrast_swaps(first, "Clearest in N1 disease (HR 0.69), whereas in N2-N3 the HR was 0.86.", set(), item) == \
        {"0.69"}
    assert contrast_swaps(first, "Clearest in N2-N3 disease (HR 0.69), whereas in N1 the HR was 0.86.", set(), item) == set()
    # a result the answer gives as a comparison ("below 45.2%") is still that result's figure, not a band
    point = "Response was 45.2% in patients with sepsis and 30.1% in those without sepsis."
    assert contrast_swaps(point, "Response was 30.1% with sepsis, below 45.2% without sepsis.", set()) == {"30.1", "45.2"}


def test_a_count_of_events_and_the_usual_arm_without_its_qualifier_go_to_their_arms():
    """"82 deaths (3.1%) with A" gives both figures to A, as "82 patients (3.1%)" does; "hormone therapy alone" names
    the arm the page calls "standard hormone therapy alone". The arm comes right after the words that lead to it: a
    condition between them ("outpatients with suspected angina to A or B") gives no arm, and "grade 4 or 5" is a
    label, not a figure."""
    sides = _sides_of(_two_arms(intervention="Alphaciclib 200 mg orally daily plus standard hormone therapy.",
                                comparator="Standard hormone therapy alone."))
    assert sides("There were 71 deaths (2.7%) with alphaciclib and 82 (3.1%) with hormone therapy alone.") == \
        {"71": "A", "2.7": "A", "82": "B", "3.1": "B"}
    assert sides("We randomised 4,112 outpatients with suspected angina to alphaciclib or hormone therapy alone.") == {}
    # the people a figure is of, then how they were treated, lead to the arm as before
    assert sides("Relapse was 12.1% in patients treated with alphaciclib and 20.4% in patients treated with hormone "
                 "therapy alone.") == {"12.1": "A", "20.4": "B"}
    assert "5" not in sides("There were no grade 4 or 5 events in the alphaciclib group.")
    # "standard of care" is not also "of care"
    from tutor.grading import Arms
    from tutor.trialpage import TrialRecord

    usual = Arms(TrialRecord(name="ALPHA-1", title="ALPHA-1", intervention="Alphaciclib 200 mg daily.",
                             comparator="Standard of care."))
    assert "of care" not in {alias for alias, _ in usual._aliases}
    # signed figures given "respectively" follow the arms' order
    assert sides("The change was +6.7 vs +7.1 letters with alphaciclib and hormone therapy alone, respectively.") == \
        {"6.7": "A", "7.1": "B"}


@pytest.mark.parametrize("answer, said_both_ways", [
    ("Crossover was allowed and not allowed.", True),
    ("The trial was open-label and also fully blinded.", True),  # "fully" is no subject of its own
    ("The benefit is large (HR 0.28) but really there's no meaningful benefit over betanib.", True),
    ("The trial was open-label, and at the same time it was fully blinded.", True),  # a marker, no subject
    ("Follow-up was complete, so the results both do and do not apply to other units.", True),
    ("It was significant and not significant.", True),
    ("Crossover was allowed but not required.", False),
    ("The trial was open-label, not blinded.", False),
    ("It held in one group, whereas in the other it was -1.6 points, so it held for A but not for B.", False),
])
def test_a_part_of_a_sentence_that_denies_the_part_before_it_is_a_contradiction(answer, said_both_ways):
    from tutor.grading import self_contradictions

    assert bool(self_contradictions([answer])) == said_both_ways


def _sides_of(arms):
    """figure -> the side ("A", "B") a text gives it, read with these arms."""
    return lambda text: {n: arms.side(label[0]) for n, label in arms.attribute(text).items()}


def _two_arms(intervention="Alphazumab 10 mg/kg intravenously every 3 weeks.", comparator="Betanib 100 mg orally once daily.",
              **fields):
    from tutor.grading import Arms
    from tutor.trialpage import TrialRecord

    return Arms(TrialRecord(name="ALPHA-1", title="ALPHA-1", intervention=intervention, comparator=comparator, **fields))


def test_figures_are_read_with_the_arm_each_sentence_gives_them():
    arms = _two_arms()

    def sides(text):
        return {n: arms.side(label[0]) for n, label in arms.attribute(text).items()}

    assert sides("Median PFS: alphazumab 9.6 months betanib 6.4 months.") == {"9.6": "A", "6.4": "B"}
    assert sides("Oral step-down 52.3% alphazumab vs 74.6% betanib.") == {"52.3": "A", "74.6": "B"}
    # a pair after both arms were named in turn follows their order; a sentence that sets an arm aside first does not
    assert sides("Clearance took 2 days with alphazumab and 3 days with betanib; step-down in 74.6% vs. 52.3%.") == \
        {"2": "A", "3": "B", "74.6": "A", "52.3": "B"}
    assert sides("Unlike betanib, alphazumab lowered relapse; rates were 12.1% vs 20.4%.") == {}
    # an "A vs B:" header is not overruled by the arm named nearest a figure
    assert sides("Alphazumab was given first; then betanib vs alphazumab: 74.6% vs 52.3%.") == {"74.6": "B", "52.3": "A"}
    # "or" is no odds ratio: "grade 3 or 4, 28.1%" is an arm's figure
    assert sides("Grade 3 or 4, 28.1% with alphazumab and 12.0% with betanib.") == {"28.1": "A", "12.0": "B"}


def test_figures_given_respectively_and_after_a_comparison_follow_the_arms_order():
    arms = _two_arms()

    def sides(text):
        return {n: arms.side(label[0]) for n, label in arms.attribute(text).items()}

    # "x vs y ... with A and B, respectively": the figures in the order of the arms that follow them
    assert sides("Relapse was 1.21 vs 1.58 events per patient-year with alphazumab and betanib, respectively.") == \
        {"1.21": "A", "1.58": "B"}
    # "A had fewer than B - x versus y": the pair follows the order its own clause named the arms in
    assert sides("Alphazumab patients had 23% fewer relapses than betanib - 1.21 versus 1.58 per patient-year.") == \
        {"23": "A", "1.21": "A", "1.58": "B"}
    # a change from one figure to another gives neither to the arm named before it
    assert sides("Alphazumab cut the rate from 1.58 to 1.21 per patient-year.") == {}


def test_an_arm_is_named_as_learners_name_it():
    """"21.8% of those taking alphazumab" gives the figure to that arm; a treatment of several words is named without
    the kind of thing it is ("the watchful arm"), or by the noun at its end as an arm ("the surgery arm"); arms given
    by different routes are named by them ("8.8% with oral"), though a drug's own name beside a figure outweighs
    its route."""
    arms = _two_arms()

    def sides(text, arms=arms):
        return {n: arms.side(label[0]) for n, label in arms.attribute(text).items()}

    assert sides("Relapse occurred in 21.8% of those taking alphazumab versus 39.7% of those taking betanib.") == \
        {"21.8": "A", "39.7": "B"}
    assert sides("Kidney injury was 8.8% with oral vs 3.6% with IV.") == {"8.8": "B", "3.6": "A"}
    assert sides("Oral step-down 52.3% alphazumab vs 74.6% betanib.") == {"52.3": "A", "74.6": "B"}
    strategies = _two_arms(intervention="Watchful-waiting strategy with analgesia as needed.",
                           comparator="Laparoscopic cholecystectomy within 72 hours.")
    assert sides("Success was 86.4% in the watchful-waiting arm and 89.0% in the cholecystectomy arm.", strategies) == \
        {"86.4": "A", "89.0": "B"}
    # alone, the noun may be an event of either arm: "needed cholecystectomy by 1 year" names no arm
    assert sides("By 1 year 44.9% needed cholecystectomy.", strategies) == {}


def test_an_assessment_said_to_be_blinded_leaves_an_open_label_design_open_label(practice):
    """"Open-Label, blinded endpoint adjudication": the trial is open-label, whoever judged its outcomes; an answer
    that calls it double-blind says the opposite of the page."""
    from tutor.grading import opposite

    point = "Design: RCT, Open-Label, noninferiority, blinded endpoint adjudication."
    assert opposite(point, "It was a randomised, double-blind noninferiority trial.")
    assert not opposite(point, "Randomised and open-label, with a blinded committee adjudicating the endpoints.")


def test_the_arms_offered_in_either_order_commit_to_neither():
    from tutor.grading import either_arm

    arms = _two_arms()
    assert either_arm("The trial compared alphazumab with betanib - or possibly betanib with alphazumab.", arms)
    assert either_arm("The trial compared alphazumab with betanib - or more likely betanib with alphazumab.", arms)
    assert not either_arm("The trial compared alphazumab with betanib, or put another way betanib was the control "
                          "for alphazumab.", arms)
    assert not either_arm("The trial compared alphazumab with betanib in patients with disease A or B.", arms)
    # a threshold's "or" ("a trough of 10 ng/mL or higher") offers no second answer, whatever order the arms come next
    assert not either_arm("Alphazumab was compared with betanib, each dosed to a trough of 10 ng/mL or higher; in the "
                          "betanib arm, patients who progressed could switch to alphazumab.", arms)


def test_a_dose_is_its_number_and_its_unit(practice):
    """"3.6 μg/kg" is not the page's "3.6 mg/kg": a dose given in another unit is wrong, however alike the rest reads."""
    right = ("T-DM1 3.6 mg/kg IV every 3 weeks, against capecitabine 1,000 mg/m2 twice daily on days 1-14 plus lapatinib "
             "1,250 mg once daily.")
    assert practice.grade("emilia-recall-arms", right, "resident").verdict == "correct"
    wrong = practice.grade("emilia-recall-arms", right.replace("3.6 mg/kg", "3.6 mcg/kg"), "resident")
    assert wrong.points[0].status == "incorrect" and "3.6 µg is not the page's 3.6 mg" in wrong.points[0].note
    assert wrong.verdict != "correct"


def test_a_sentence_that_makes_another_point_does_not_deny_this_one(make_settings):
    """"Serious adverse events were lower with the drug" makes the page's point on serious events; it does not say
    the opposite of the point that discontinuations were higher, though both speak of adverse events."""
    import shutil

    from tests.conftest import ROOT
    from tutor.tutor import Tutor

    settings = make_settings()
    for page in [*(ROOT / "knowledge").iterdir(), ROOT / "tests" / "fixtures" / "kestrel-3-trial-summary.txt"]:
        shutil.copy(page, settings.knowledge_dir)
    answer = ("Taste change (dysgeusia) is the one to warn about: 7.4% on talvoprenib against 1.2% on placebo, and it "
              "pushed stopping for adverse events up a little, 6.3% vs 4.9%. Pneumonia did not go up (4.6% vs 4.3%), "
              "reassuring on top of an inhaled steroid. Serious adverse events were numerically lower on talvoprenib, "
              "19.8% vs 22.4%.")
    grade = Tutor(settings).practice.grade("kestrel-3-resident-discussion", answer, "resident")
    assert [p.status for p in grade.points] == ["covered", "covered"], [p.note for p in grade.points]
    assert grade.verdict == "correct"


def test_a_name_cut_short_is_an_arm_but_an_english_word_is_not():
    arms = _two_arms(intervention="Methotrexate 15 mg weekly.")
    assert arms.attribute("The method gave 30.5% remission.") == {}
    assert arms.side(arms.attribute("metho 30.5% vs betanib 20.1%")["30.5"][0]) == "A"


@pytest.mark.parametrize("intervention, comparator, named", [
    ("Experimental: alphazumab 10 mg/kg every 3 weeks.", "Placebo.", {"alphazumab"}),
    ("Alphazumab (10 mg, IV", "Betanib 100 mg.", {"alphazumab", "betanib"}),  # a bracket never closed
    ("Alphazumab 10 mg/kg.", "Betanib 100 mg daily and warfarin (target INR 2 to 3).", {"betanib", "warfarin"}),
    ("Physiotherapy with cognitive behavioural therapy (CBT) weekly.", "Usual care.", {"physiotherapy", "cbt"}),
])
def test_each_treatment_a_field_names_is_an_arm_and_nothing_else_is(intervention, comparator, named):
    aliases = {alias for alias, _ in _two_arms(intervention, comparator)._aliases}
    assert named <= aliases and not any("(" in a or a in ("experimental", "higher") for a in aliases), aliases


def test_a_dose_both_arms_share_is_neither_s_only_where_the_page_gives_it_as_a_dose():
    from tutor.grading import truth_map

    arms = _two_arms("Alphazumab 100 mg daily.", "Betanib 100 mg daily.", key_findings=[
        "Relapse occurred in 100 patients (21.3%) with alphazumab and 150 patients (31.9%) with betanib."])
    assert arms.side(truth_map(arms.record, arms)["100"][0]) == "A"
    arms = _two_arms("Alphazumab 100 mg daily.", "Betanib 100 mg daily.", key_findings=[
        "With alphazumab 100 mg, relapse occurred in 21.3%, and with betanib 100 mg in 31.9%."])
    assert "100" not in truth_map(arms.record, arms)


@pytest.mark.parametrize("answer", [
    "80 mg cut the risk by 23%, while 40 mg did not cut the risk significantly.",
    "Alphazumab lowered relapse while betanib did not lower relapse.",
    "Alphazumab reduced progression events, not death events.",
])
def test_a_denial_of_another_arm_or_another_measure_is_no_contradiction(answer):
    from tutor.grading import self_contradictions

    assert not self_contradictions([answer])


def test_the_headline_figures_given_to_the_wrong_arms_make_the_answer_wrong(practice):
    """The point an item leads with, its figures swapped between the arms, is what the learner got wrong, however
    well the rest (the hazard ratio, the medians) is recalled."""
    grade = practice.grade("destiny-breast03-recall-finding-1", "At 12 months 34.1% of patients on T-DXd were alive "
                           "without progression versus 75.8% on T-DM1; HR 0.28 (95% CI 0.22 to 0.37); median PFS not "
                           "reached with T-DXd vs 6.8 months with T-DM1.", "resident")
    assert grade.points[0].status == "incorrect" and grade.verdict == "incorrect", grade.points


def test_a_figure_said_to_be_rough_is_no_wrong_figure(practice):
    """"roughly 10 months" for 9.6 claims no exact figure: it earns no figure's credit and costs none."""
    grade = practice.grade("emilia-recall-finding-1", "Median PFS was roughly 10 months with T-DM1 versus about 6 "
                           "months with lapatinib plus capecitabine.", "resident")
    assert not any(p.status == "incorrect" for p in grade.points), grade.points
    assert grade.verdict == "partial"


@pytest.mark.parametrize("point, answer, opposite", [
    ("Noninferiority was met, but superiority was not shown (P = 0.66).", "Noninferior, but not superior.", False),
    ("Superiority was shown (P = 0.01).", "It was not superior.", True),
])
def test_a_claim_denied_after_it_is_read_as_denied(point, answer, opposite):
    from tutor.grading import opposite as says_opposite

    assert says_opposite(point, answer) is opposite


def test_figures_a_measure_writes_and_terse_notes_are_no_keyword_list():
    from tutor.grading import keyword_list
    from tutor.practice import figures

    assert not keyword_list("PASI 90 71.4% drav / 3.1% pbo / 41.6% orv; sPGA 0/1 83.2 / 5.7 / 56.9%.")
    assert not keyword_list("Also beat orvanercept (+29.8 pts PASI 90, +26.3 pts sPGA).")
    assert keyword_list("Key terms: because, crossover, toward, null, not, conservative, bias.")
    # a name's number is no figure a point needs: "T helper 17 (Th17)", "interleukin-17"
    assert figures("IL-23 sustains T helper 17 (Th17) cells, which make interleukin-17 in 71.4% of plaques.") == ["71.4"]


def test_a_device_is_named_by_its_own_words_and_the_controls_by_their_role():
    """A treatment named at length ("transcatheter implantation of the LumenAtria interatrial shunt") is named by
    the words no everyday English uses ("LumenAtria") and by its noun as an arm ("the shunt arm"); "controls" is
    the control arm. (A made-up page, written for this test.)"""
    from tutor.grading import Arms
    from tutor.trialpage import parse_trial_page

    page = ("Example Device Trial\n\nBottom line\n\nThe device did not help.\n\nKey Findings\n\n1. Death occurred in "
            "6.1% of the shunt group vs 5.2% of the control group.\n\nStudy Design\n\nDesign\nRCT\nOpen-Label\n"
            "Intervention Transcatheter implantation of the LumenAtria interatrial shunt plus usual care.\n"
            "Comparator Usual care alone.\n")
    arms = Arms(parse_trial_page(page))
    given = arms.attribute("Death 5.2% in the shunt arm vs 6.1% in controls.")
    assert arms.side(given["5.2"][0]) == "A" and arms.side(given["6.1"][0]) == "B", given
    assert arms.side(arms.attribute("Death was 6.1% with LumenAtria.")["6.1"][0]) == "A"


def test_a_recommendation_against_is_the_opposite_of_a_recommendation():
    from tutor.grading import opposite

    point = "It supports a recommendation against routine use of betanib, because it did not lower mortality."
    assert opposite(point, "Recommend betanib, since it clearly lowered deaths.")
    assert not opposite(point, "Recommend against routine betanib.")


def test_a_pair_in_brackets_follows_the_two_arms_named_before_it_each_count_with_its_share():
    sides = _sides_of(_two_arms())

    # "similar with A and B (x/n [p%] vs y/m [q%])": the two arms in turn, each count with its total and its share
    assert sides("Death was similar with alphazumab and betanib (233/1,207 [19.3%] vs 221/1,209 [18.3%]).") == \
        {"233": "A", "1207": "A", "19.3": "A", "221": "B", "1209": "B", "18.3": "B"}
    # a total both arms share is neither's
    assert "1208" not in sides("Death was similar with alphazumab and betanib (233/1,208 [19.3%] vs 221/1,208 [18.3%]).")
    # "3.6% of alphazumab patients vs 1.2% of betanib patients": each figure, then its arm's people
    assert sides("Inflammation occurred in 3.6% (18 of 507) of alphazumab patients vs 1.2% (6 of 505) of betanib "
                 "patients.") == {"3.6": "A", "18": "A", "507": "A", "1.2": "B", "6": "B", "505": "B"}


def test_a_contrast_of_the_same_words_in_another_order_is_no_contradiction():
    from tutor.grading import self_contradictions

    assert not self_contradictions(["So P=0.47 is absence of evidence, not evidence of absence; report the cells."])
    assert self_contradictions(["The benefit was significant, and it was not significant."])


@pytest.mark.parametrize("unit, said_of_itself", [
    ("An ACR20 response means achieving an ACR20 response.", True),
    ("The primary endpoint of ALPHA-1 was the trial's primary endpoint, and it was assessed as planned.", True),
    ("The primary endpoint was progression-free survival by independent review.", False),
    ("An ACR20 response is a 20% improvement in tender and swollen joint counts.", False),
    ("The ICC is the intracluster correlation coefficient.", False),
])
def test_a_sentence_that_says_a_thing_is_itself_is_circular(unit, said_of_itself):
    from tutor.grading import circular

    assert circular(unit) == said_of_itself


def test_a_table_of_each_arms_figures_under_a_heading_line_is_no_keyword_list():
    from tutor.grading import screen

    answer = "wk 12, 10 mg / 20 mg / pbo:\nACR50 44.9 / 46.3 / 14.8 %\nACR70 22.1 / 24.5 / 4.9 %\nall p<0.001 vs placebo"
    kept, flags = screen(answer, "What were the ACR50 and ACR70 responses at week 12?")
    assert not flags and len(kept) == 4


def test_a_choice_the_learner_turns_down_too_is_not_taken():
    from tutor.grading import takes_rejected

    point = "The small signal argues for a conditional rather than strong recommendation."
    assert not takes_rejected(point, "Given the signal, the recommendation should be conditional rather than strong.")
    assert takes_rejected(point, "The panel should make a strong recommendation for it.")
    # turned down where the choice is said whole, though one of its words came earlier in another sense
    point = "The larger absolute difference reflects higher baseline risk rather than proven effect modification."
    assert not takes_rejected(point, "The relative effect looks consistent; the larger absolute difference reflects "
                                     "higher baseline risk, not proven effect modification.")
    assert takes_rejected(point, "The relative effect looks consistent, and the larger difference shows proven effect "
                                 "modification.")
    assert not takes_rejected(point, "Baseline risk explains the larger difference in effect, not proven effect "
                                     "modification.")


def test_both_bounds_of_a_negative_interval_are_statistics_not_an_arms_figures():
    from tutor.grading import statistics

    found = statistics("Failure: 42 of 246 (17.1%) vs 71 of 250 (28.4%) (risk difference, -11.3 percentage points; "
                       "95% CI, -18.6 to -4.0).")
    assert {"11.3", "18.6", "4.0"} <= found and not {"17.1", "28.4"} & found


def test_a_cluster_trials_arms_are_named_by_their_practices_and_a_cut_off_is_no_arms_figure():
    sides = _sides_of(_two_arms())

    assert sides("Falls: 489/2,947 (16.6%) in intervention practices vs 412/3,018 (13.7%) in control practices.") == \
        {"489": "A", "2947": "A", "16.6": "A", "412": "B", "3018": "B", "13.7": "B"}
    # "PD-L1 >=1%" is a subgroup's cut-off and "crossing 1" the null value: neither is a figure of an arm
    assert "1" not in sides("In PD-L1 >=1% disease PFS was 9.1 months with alphazumab, its interval crossing 1.")


def test_a_word_both_arms_fields_use_names_neither_arm():
    arms = _two_arms(intervention="Intensive blood-pressure lowering to a systolic target below 140 mmHg.",
                     comparator="Guideline blood-pressure management, treated only if systolic pressure exceeded "
                                "180 mmHg.")
    names = {alias for alias, _ in arms._aliases}
    assert "intensive" in names and "systolic" not in names


@pytest.mark.parametrize("unit, hedged", [
    ("Adverse events may have been higher, lower or about the same in the alphazumab group.", True),
    ("Relapse was lower, not higher, or at worst similar with alphazumab.", False),
])
def test_a_list_of_opposite_answers_hedges(unit, hedged):
    from tutor.grading import hedges_both_ways

    assert hedges_both_ways(unit) == hedged


def test_arms_a_page_names_by_their_length_of_treatment_are_told_apart():
    # "the 7-day group": a duration only one arm's field gives names that arm; the "7" of "7-day" is no figure
    sides = _sides_of(_two_arms(
        intervention="Stopping antibiotics after 7 days, counted from the first negative culture.",
        comparator="Continuing antibiotics to 14 days (standard care).",
        key_findings=["Relapse occurred in 2.5% of the 7-day group and 1.6% of the 14-day group."]))

    assert sides("Adverse events occurred in 12.1% of the 7-day group versus 19.4% of the 14-day group.") == \
        {"12.1": "A", "19.4": "B"}
    assert sides("Adverse events occurred in 19.4% of the 7-day group versus 12.1% of the 14-day group.") == \
        {"19.4": "A", "12.1": "B"}
