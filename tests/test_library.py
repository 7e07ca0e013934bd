"""The trial library: four published pages, a trial filter, comparisons, a fifth page with no code change,
and no trial or drug of the knowledge named in the code."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

FIXTURES = ROOT / "tests" / "fixtures"


def test_tutor_trials_lists_the_four_trials():
    result = run_cli("trials", "--json")
    assert result.returncode == 0, result.stderr
    library = {t["name"]: t for t in json.loads(result.stdout)}
    assert set(library) == {"EMILIA", "DESTINY-Breast03", "TH3RESA", "MARIANNE"}
    assert library["EMILIA"]["sample"] == "991" and library["EMILIA"]["year"] == "2012"
    assert library["MARIANNE"]["journal"] == "Journal of Clinical Oncology" and library["MARIANNE"]["sample"] == "1,095"
    assert all(t["chunks"] > 10 for t in library.values())


def test_tutor_trials_lists_the_saved_library_until_the_store_changes(make_settings):
    """`tutor trials` reads the library the last build saved beside the store, and never a stale one: a
    changed knowledge folder, or an ingest of one more file, sends it to the store itself."""
    from tutor.library import saved_trials
    from tutor.store import Store
    from tutor.tutor import Tutor

    settings = make_settings()
    shutil.copy(FIXTURES / "larkspur-5-trial-summary.txt", settings.knowledge_dir)
    tutor = Tutor(settings)
    assert [t.name for t in saved_trials(settings)] == ["LARKSPUR-5"]
    env = {"TUTOR_DATA_DIR": str(settings.data_dir), "TUTOR_KNOWLEDGE_DIR": str(settings.knowledge_dir)}
    listed = run_cli("trials", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [t.model_dump() for t in tutor.trials()]

    # A page outside the knowledge folder, ingested on its own: the saved list is dropped.
    extra = settings.knowledge_dir.parent / "extra"
    extra.mkdir()
    shutil.copy(ROOT / "knowledge" / "emilia-trial-summary.txt", extra)
    Store(settings).ingest([extra])
    assert saved_trials(settings) is None
    listed = run_cli("trials", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)] == ["EMILIA", "LARKSPUR-5"]
    assert [t.name for t in saved_trials(settings)] == ["EMILIA", "LARKSPUR-5"]  # saved again by that run

    # The knowledge folder changed: the list saved for the old folder is not used.
    (settings.knowledge_dir / "larkspur-5-trial-summary.txt").unlink()
    assert saved_trials(settings) is None


def test_a_chosen_trial_answers_from_its_own_page(tutor):
    answer = tutor.ask("What was the 12-month progression-free survival rate with T-DXd?", "resident",
                       trial="DESTINY-Breast03")
    assert answer.in_scope and "75.8%" in answer.answer and "34.1%" in answer.answer
    assert answer.citations and all(s.trial == "DESTINY-Breast03" for s in answer.sources)
    # the time point asked for opens the answer, not the median of the same endpoint
    first = answer.answer.splitlines()[0]
    assert "12 months" in first and "75.8%" in first, answer.answer


def test_a_comparison_cites_each_trial_from_its_own_page(tutor):
    answer = tutor.ask("Compare the median PFS in EMILIA and TH3RESA", "fellow")
    assert answer.in_scope and "9.6" in answer.answer and "6.2" in answer.answer, answer.answer
    cited = {s.trial for s in answer.sources if s.id in answer.citations}
    assert cited == {"EMILIA", "TH3RESA"}
    for line in answer.answer.splitlines():  # each figure is cited to its own trial's passage
        for number, trial in (("9.6", "EMILIA"), ("6.2", "TH3RESA")):
            if number in line:
                n = int(re.findall(r"\[(\d+)\]", line)[-1])
                assert answer.sources[n - 1].trial == trial


def test_shorthand_is_read_through_to_the_field_a_page_gives_it_under(tutor):
    # "f/u" is "follow-up", which a page gives as its "Duration": each trial's own field, side by side
    answer = tutor.ask("median f/u EMILIA vs DB03?", "resident")
    assert answer.in_scope and "20 mo" in answer.answer and "16.2 mo" in answer.answer, answer.answer
    cited = {(s.trial, s.section) for s in answer.sources if s.id in answer.citations}
    assert {("EMILIA", "Study Design > Duration"), ("DESTINY-Breast03", "Study Design > Duration")} <= cited


def test_a_figure_written_in_shorthand_is_not_called_unreported(tutor):
    # "grade 3-4" is the page's "grade 3 or 4", "T-DM1" a name: neither is a figure the sources lack
    answer = tutor.ask("Drug-related grade 3-4 toxicity rates in each arm, and is T-DM1 worse?", "resident",
                       trial="DESTINY-Breast03")
    assert "45.1%" in answer.answer and "do not report" not in answer.answer, answer.answer
    # a time point the page never gives still is
    answer = tutor.ask("What was the 5-year overall survival?", "resident", trial="EMILIA")
    assert "do not report the figure or time point you name" in answer.answer, answer.answer


def test_a_question_across_the_trials_is_not_narrowed_to_one(tutor):
    # words only one page uses name that trial, unless the question asks across the trials
    for question in ("Which trial had more nausea?", "Compare nausea across the trials"):
        assert len(tutor.retriever.search(question).trials) == 4, question


def test_an_unknown_trial_is_a_clear_error(tutor):
    from tutor.errors import InputError

    with pytest.raises(InputError, match="unknown trial 'NOPE'; choose one of: .*EMILIA"):
        tutor.ask("What was the median PFS?", "resident", trial="NOPE")


def test_starters_follow_the_trial_and_the_role(tutor):
    starters = tutor.starters("resident", "MARIANNE")
    assert starters[0].startswith("How did the toxicity of first-")  # the page's own question for residents
    assert len(starters) == 4 and all("EMILIA" not in q for q in starters[1:])
    assert tutor.starters("phd", "TH3RESA")[0].startswith("TH3RESA allowed crossover")


def _tutor_with(make_settings, page: str | list[str]):
    """A tutor on the four trials' library plus fixture pages copied in as a user would."""
    from tutor.tutor import Tutor

    settings = make_settings()
    for known in (ROOT / "knowledge").iterdir():
        shutil.copy(known, settings.knowledge_dir)
    for one in [page] if isinstance(page, str) else page:
        shutil.copy(FIXTURES / one, settings.knowledge_dir)
    return Tutor(settings)


def _library_with(make_settings, page: str | list[str], trial: str | list[str], cases: str):
    """The four trials' library plus pages copied in as a user would, and the cases scored."""
    from tutor import evaluate as ev

    tutor = _tutor_with(make_settings, page)
    assert set([trial] if isinstance(trial, str) else trial) <= set(tutor.trial_names())
    _, summary = ev.evaluate(tutor, ev.load_cases([FIXTURES / c for c in cases.split()]))
    return tutor, summary


def test_a_fifth_trial_page_is_taught_with_no_code_change(make_settings):
    """A made-up trial in another disease, never seen by the rules: facts, citations and scope."""
    tutor, summary = _library_with(make_settings, "larkspur-5-trial-summary.txt", "LARKSPUR-5", "fifth-trial.jsonl")
    overall = summary["overall"]
    # The four trials' held-out figures: fact coverage 0.77-0.89, scope 0.91-1.00 (README, "Evals").
    assert overall["fact_coverage"] >= 0.8 and overall["scope_accuracy"] >= 0.9, summary["failing_cases"]
    # Nothing it could answer is refused: "does the warfarin arm's time in therapeutic range undermine the
    # bleeding result?" nearly restates a passage, though the intent bank reads it as another subject.
    assert overall["false_refusal"] == 0.0 and overall["false_answer"] == 0.0, summary["failing_cases"]
    assert overall["numeric_faithfulness"] == 1.0 and overall["citation_validity"] == 1.0
    answer = tutor.ask("What was the primary efficacy result?", "resident", trial="LARKSPUR-5")
    assert answer.in_scope and all(s.trial == "LARKSPUR-5" for s in answer.sources)


@pytest.mark.parametrize("page, trial, cases, facts, scope, lay", [
    # TIDEWELL-3, a made-up psychiatry trial with a randomized-withdrawal design, was written with its 35
    # questions from the page layout alone (first run 0.638 fact coverage and 0.886 scope). Its failures
    # were read in a later round, so it now tunes (0.828 and 0.971).
    ("tidewell-3-trial-summary.txt", "TIDEWELL-3", "sixth-trial.jsonl", 0.8, 0.95, None),
    # SALTMARSH-2, a made-up infectious-disease noninferiority trial, was written with its 35 questions
    # from the page layout alone by someone who never saw the code; its failures are never read, so it
    # measures a page the tutor has never seen (first run 0.667 fact coverage, 0.829 scope; README,
    # "Generalisation").
    # (0.839 and 0.914 after the scope model was fitted across fields, two rounds later)
    ("saltmarsh-2-trial-summary.txt", "SALTMARSH-2", "seventh-trial.jsonl", 0.8, 0.9, None),
    # Two more written the same way in a later round. MARLSTONE-2, an obstetric care bundle (no drug,
    # cluster-randomised), is never read: first run 0.673 fact coverage, 0.857 scope (0.735 after the changes
    # QUILLBY-3 led to; SALTMARSH-2 0.736 -> 0.770). QUILLBY-3, a migraine
    # drug against an active comparator, was read after its first run (0.722 and 0.971), so it tunes.
    # Fitted across fields a round later: 0.803 and 0.943.
    ("marlstone-2-trial-summary.txt", "MARLSTONE-2", "marlstone-2-cases.jsonl", 0.78, 0.92, None),
    # HOLLOWAY-2, operative against non-operative care of ankle fractures in older adults (no drug, assessor-blinded
    # noninferiority), written the same way with FENWICK-4 in a later round: first run 0.648 fact coverage and 0.914
    # scope (3 of 29 refused); 0.722 and 0.971 after the changes FENWICK-4 led to, unread. Read a round later (it
    # tunes now): a bottom line naming "a shorter hospital stay" beside "aged 60 years" gives no figure of what is
    # asked, so the finding that does leads.
    ("holloway-2-trial-summary.txt", "HOLLOWAY-2", "holloway-2-cases.jsonl", 0.75, 0.97,
     [("how common was skin breakdown w/ the cast vs surgery?", ["7.2%", "2.7%"]),
      # a reader given two points: when neither gives a figure of what is asked, the next sentence that does is one
      ("In HOLLOWAY-2, how long did people stay in hospital after ORIF compared with casting?", ["3 vs. 1 day"])]),
    # KESTREL-3, an inhaled add-on against placebo for COPD exacerbations (a rate ratio, not a hazard ratio), written
    # the same way as PELLOW-2 and never read: the unseen page of its round. First run 0.648 fact coverage and
    # 0.943 scope (2 of 29 refused); the changes PELLOW-2 and HOLLOWAY-2 led to changed none of its answers, and
    # 0.685 once an answer asked for a figure holds one of what is asked (a change read on HOLLOWAY-2); 0.722 with
    # the primary result answering a question that names no outcome (a change read on CORRIE-4, a round later).
    ("kestrel-3-trial-summary.txt", "KESTREL-3", "kestrel-3-cases.jsonl", 0.7, 0.92, None),
    # PELLOW-2, a 2x2 factorial trial (a haemostatic drug against placebo, and two transfusion thresholds) in upper
    # GI bleeding, written the same way in a later round and read after its first run (0.454 fact coverage, 5 of
    # 29 refused): "Hb7" is "Hb 7" (a short form the lexicon reads), "rebleeds" a form of the pages' "rebleeding",
    # "tradeoff" two everyday words, "veltaclamide" a treatment (it begins the intervention field), and
    # "restrictive vs liberal" sets arms side by side, not trials. Its two mortality findings both name bleeding,
    # the trial's own condition: a label both share is no label (0.577 -> 0.614).
    ("pellow-2-trial-summary.txt", "PELLOW-2", "pellow-2-cases.jsonl", 0.65, 0.94,
     [# who was excluded is asked of the population field: its entry criteria
      ("were people with a previous DVT/PE excluded from the trial?", ["previous 12 months"]),
      ("the mortality CI for the Hb7 vs Hb9 comparison only just excludes 1 right?? whats the upper limit and the p",
       ["0.99", "0.036"]),
      ("if a pt asks me about veltaclamide, how do i put the fewer-rebleeds vs more-clots tradeoff into absolute "
       "numbers, like per 1000 treated?", ["22 fewer", "12 more"])]),
    # CORRIE-4, a three-arm heart-failure trial (two doses of a made-up drug against placebo, tested in a fixed
    # sequence), written the same way in a later round and read after its first run (0.549 fact coverage, 2 of 29
    # refused; 0.722 now). "80mg" is the page's "80 mg"; a question naming no outcome ("HR vs pbo?") asks for the primary
    # result, the page's first key finding; "SGLT2i" is the page's "SGLT2 inhibitor"; "worsening", which the
    # lexicon reads as progression elsewhere, is the page's own word here.
    ("corrie-4-trial-summary.txt", "CORRIE-4", "corrie-4-cases.jsonl", 0.7, 0.94,
     [("zelmitrapine 80mg vs pbo - hazard ratio and CI?", ["0.77", "0.65 to 0.92"]),
      ("how many were on an SGLT2i when they joined?", ["41.3%"]),
      # naming the primary outcome and asking its rates asks for the primary result, whatever else it says
      ("What were the primary outcome rates in each of the three groups?", ["18.4%", "23.1%"])]),
    # A learner's everyday words find the page's terms: kidney stones (nephrolithiasis), tingling (paresthesia);
    # a rare word ("stratified") finds the one passage that uses it, however its drug names pull elsewhere.
    ("quillby-3-trial-summary.txt", "QUILLBY-3", "quillby-3-cases.jsonl", 0.8, 0.95,
     [("Kidney stones and tingling in each arm?", ["0.9%", "27.8%"]),
      ("Which factors was the tarnogepant versus topiramate randomisation stratified on?", ["region"])]),
    # Two more in a later round, read after their first run, so they tune (the scope model too, through
    # evals/scope-pages.json). TARNHOLM-2, an ICU oxygen-target strategy trial (no drug): first run 0.679 fact
    # coverage, 0.886 scope (3 of 29 refused). ASHCOMBE-2, an infant vaccine: first run 0.611 and 0.771
    # (8 of 29 refused). A parent's and a family's words find the page's terms.
    ("tarnholm-2-trial-summary.txt", "TARNHOLM-2", "tarnholm-2-cases.jsonl", 0.8, 0.97,
     [("Did fewer people on the lower oxygen target need the kidney machine?", ["11.0%", "13.3%"]),
      # no trial chosen or named: words only its page uses ("oxygen") name it
      ("Was the benefit of conservative oxygen the same across subgroups?", ["1.08", "0.87"], None)]),
    ("ashcombe-2-trial-summary.txt", "ASHCOMBE-2", "ashcombe-2-cases.jsonl", 0.85, 0.97,
     [("How many babies ran a temperature after the jab, compared with the dummy jab?", ["22.4%", "14.8%"]),
      # a subgroup question in other words finds the subgroup finding
      ("Did efficacy differ by region?", ["67.5%"])]),
    # FENWICK-4, a psoriasis biologic against placebo and an active comparator, written the same way in a later
    # round and read after its first run (0.651 fact coverage, 6 of 29 refused: "PASI90" and "IL-17" read as names
    # the library lacks, "wk16" and "pbo" as words foreign to it). A word run into its number is read as the page
    # writes it, a short form before a number as its long form ("interleukin-17").
    ("fenwick-4-trial-summary.txt", "FENWICK-4", "fenwick-4-cases.jsonl", 0.8, 0.94,
     [("PASI90 diff vs pbo w/ 95% CI?", ["68.3", "63.9 to 72.7"]),
      ("Does beating orvanercept tell us dravokizumab is better than the IL-17 drugs people use now?",
       ["interleukin-17"])]),
    # FERNCLIFF-2, antibiotics-first against appendicectomy (surgery, open-label noninferiority), written the same
    # way with HAWTHORN-3 in a later round and read after its first run (0.685 fact coverage, 4 of 30 refused, every
    # one with the trial chosen): a question that asks what happened asks of the trial chosen, and "the main
    # result" asks for the primary result, however the question frames it; surgical shorthand is read (0.796).
    ("ferncliff-2-trial-summary.txt", "FERNCLIFF-2", "ferncliff-2-cases.jsonl", 0.78, 0.99,
     [("Can you put the main result into simple language for the patient representative on our panel?",
       ["86.4%", "89.0%"]),
      ("SSI rates?", ["1.4%", "4.2%"]),
      ("when the abx pts failed and went to theatre how many had complicated appy on histo", ["8.0%"])]),
    # STAITHES-2, a stepped-wedge cluster trial of a nurse-led care bundle in emergency departments (no drug, no
    # placebo, periods rather than arms), written the same way with GREYWETHER-2 and read after its first run (0.685
    # fact coverage): a summary gives the primary result, a clinical topic the page names elsewhere is brought in
    # rather than called unreported, and "the total number of patients" is the sample (0.759).
    ("staithes-2-trial-summary.txt", "STAITHES-2", "staithes-2-cases.jsonl", 0.75, 0.99,
     [("Summarise the trial for me.", ["21.9%", "24.6%"]),
      ("Were more patients readmitted with heart failure after the bundle came in?", ["3.3%", "3.0%"])]),
    # OXENHOPE-2, an eye injection every 16 weeks against one every 8 (noninferiority, sham-masked), written the same
    # way with RAVENSCAR-3 in a later round and read after its first run (0.753 fact coverage, 3 of 30 refused):
    # the first letters of a drug's name are that drug ("renza"), "q16w" is every 16 weeks, "thru" through, sight
    # is visual acuity, and explaining to a patient whether a drug worked is a question about it, not a story (0.784,
    # 1 of 30 refused).
    ("oxenhope-2-trial-summary.txt", "OXENHOPE-2", "oxenhope-2-cases.jsonl", 0.78, 0.97,
     [("% of the renza pts who stayed on q16w all the way thru wk 48?", ["77.3%"])]),
    # THORNLEY-2, a cluster-randomised trial of pharmacist-led deprescribing in general practice (84 practices, no
    # drug, a neutral primary outcome beside a significant secondary one), written with SCARTH-3 in a later round and
    # read after its first run (0.673 fact coverage, lead 0.500, 1 of 30 refused, none of 3 unreported questions said
    # so): "EQ5D" is the page's "EQ-5D-5L", "control practices" its comparator, "out of hospital" its admissions, "at
    # 2 or 3 yrs" a time point it lacks, a drug class it never names unreported (0.747, 0 refused, 2 of 3 said so).
    ("thornley-2-trial-summary.txt", "THORNLEY-2", "thornley-2-cases.jsonl", 0.74, 0.99,
     [("EQ5D difference at 1 yr between groups?", ["0.012"]),
      ("What did the control practices actually provide - was it just nothing?", ["annual medication review"])]),
    # MOSSDALE-2, a noninferiority trial of an oral anticoagulant against apixaban in atrial fibrillation, written with
    # HOLMBRIDGE-3 and read after its first run (0.747 fact coverage, 1 of 30 refused, 1 of 3 unreported questions
    # said so): "ICH" and a bleed "in the brain" are intracranial haemorrhage, "MI" a myocardial infarction the page
    # never reports, "cost-effectiveness" is asked whole, and a page's title is no point of an answer (0.784, none
    # refused, 3 of 3 said so).
    ("mossdale-2-trial-summary.txt", "MOSSDALE-2", "mossdale-2-cases.jsonl", 0.85, 0.99,
     [("ICH rates?", ["0.3%", "0.6%"]),
      # a plain-words question about a result reads as one (the intent bank's lay examples), not as a mechanism
      ("can you explain simply whether it causes fewer bleeds in the brain", ["0.3%", "0.6%"]),
      # "works as well as" asks whether it was noninferior: the primary result, not the history of the comparator
      ("did the new blood thinner work as well as apixaban at stopping strokes?", ["2.7%", "2.5%"])]),
    # RYLSTONE-2, a cluster-randomised trial of collaborative care for depression in general practice (a continuous
    # primary outcome, an intracluster correlation, a cost per QALY), written with FELLBECK-2 in a later round and
    # read after its first run (0.630 fact coverage, lead 0.654, 1 of 30 refused, 1 of 5 outside answered): its
    # page has two paragraphs after the design fields (how practices were randomised; the harms) that the parser
    # dropped, "worth the money" asks for cost-effectiveness, "my PHQ-9 came out at 16" is one's own score (0.815,
    # lead 0.815, every scope decision right). 0.796 since a question that asks what the page's guided discussion asks
    # the learner's role is taught that item's key response: "What are the main weaknesses of RYLSTONE-2?" now gives the
    # journal editor's "recruitment bias ... reporting bias" in place of a limitation's "recruitment (identification)
    # bias" that the case expects.
    ("rylstone-2-trial-summary.txt", "RYLSTONE-2", "rylstone-2-cases.jsonl", 0.79, 0.99,
     [("any self-harm with collab care?", ["1.5%", "2.0%"]),
      ("was it worth the money?", ["£19,620"])]),
    # CONISTONE-2, conservative against liberal oxygen in ventilated adults (intensive care, open label,
    # noninferiority on an absolute risk difference), written with HEBDEN-3 in a later round and read after its first
    # run (0.667 fact coverage, lead 0.480, 3 of 30 refused): "TBI" and "ICU" are shorthand the lexicon spells out,
    # "sats" and "O2" are oxygen saturation and oxygen, "the low 90s" is a band and no figure the sources lack, the
    # page's "hypoxaemic" is the learner's "hypoxemic", "what were the two approaches compared?" asks for both arms
    # (0.759, lead 0.556, none refused).
    ("conistone-2-trial-summary.txt", "CONISTONE-2", "conistone-2-cases.jsonl", 0.75, 0.99,
     [("can we extrapolate this to TBI / neuro ICU pts?", ["acute brain injury"]),
      ("Why doesn't pushing sats above the low 90s add much O2 to the tissues?", ["oxyhaemoglobin dissociation curve"]),
      ("in plain words, what were the two approaches the researchers compared?", ["88% to 92%", "96% or above"]),
      ("how often did hypoxemic episodes happen in each arm?", ["18.4%", "9.8%"])]),
    # TARNWICK-3 (gastroenterology: two doses of an oral drug against placebo in a 12-week induction, then a
    # randomised-withdrawal maintenance year among responders), written the same way with TARNBROOK-2 and read after
    # its first run (0.691 fact coverage, lead 0.462, 2 of 30 refused, none of 3 unreported said so): "week 12" is the
    # time point "12-week" is, so a week-12 question leads with the induction figures, not the week-52 ones (0.691, lead
    # 0.500). Still open: "at one year" and "in the first 3 months" are the page's week 52 and week 12; a question
    # about each maintenance arm's size finds the design's limitations, not the finding that gives them.
    ("tarnwick-3-trial-summary.txt", "TARNWICK-3", "tarnwick-3-cases.jsonl", 0.69, 0.94,
     [("What was the week 12 clinical remission rate in each arm?", ["29.4%", "22.3%", "7.9%"])]),
])
def test_a_trial_page_of_another_field_is_answered_from_its_own_page(make_settings, page, trial, cases, facts, scope,
                                                                      lay):
    tutor, summary = _library_with(make_settings, page, trial, cases)
    overall = summary["overall"]
    assert overall["fact_coverage"] >= facts and overall["scope_accuracy"] >= scope, summary["failing_cases"]
    assert overall["false_answer"] == 0.0
    assert overall["numeric_faithfulness"] == 1.0 and overall["citation_validity"] == 1.0
    for question, figures, *chosen in lay or []:  # asked of the chosen trial, or of "all trials" (None)
        answer = tutor.ask(question, "med_student", trial=chosen[0] if chosen else trial)
        assert all(f in answer.answer for f in figures), answer.answer


@pytest.mark.parametrize("page, trial, cases, facts, scope, false_answer, false_refusal", [
    # BRINDLE-2, a neonatal trial of a strategy (no drug), written with its 35 questions from the page layout alone in
    # the round of CORRIE-4 and never read. First run: 0.741 fact coverage, 0.914 scope, and 2 of its 6 questions
    # outside the sources answered (README, "Generalisation"): held where it stands, never tuned on.
    ("brindle-2-trial-summary.txt", "BRINDLE-2", "brindle-2-cases.jsonl", 0.72, 0.9, 0.34, 0.04),
    # HAWTHORN-3, an add-on drug against placebo in treatment-resistant depression, written the same way in the
    # round of FERNCLIFF-2 and never read. First run: 0.796 fact coverage, 0.914 scope, 2 of 30 refused and 1 of its
    # 5 questions outside the sources answered (README, "A surgery page, ...").
    ("hawthorn-3-trial-summary.txt", "HAWTHORN-3", "hawthorn-3-cases.jsonl", 0.79, 0.91, 0.2, 0.07),
    # GREYWETHER-2, a short antibiotic course against a standard one in an infection, written the same way in the
    # round of STAITHES-2 and never read. First run: 0.747 fact coverage, 0.971 scope, 1 of 30 refused and none of
    # its 5 questions outside the sources answered (README, "An infection page and a cluster trial").
    ("greywether-2-trial-summary.txt", "GREYWETHER-2", "greywether-2-cases.jsonl", 0.74, 0.97, 0.0, 0.04),
    # WHINMOOR-2, a 2x2 factorial trial of a drug and a blood-pressure strategy in intracerebral haemorrhage, written
    # the same way with SKELWITH-3 in a later round and never read. First run: 0.667 fact coverage, 0.943 scope, 2
    # of 30 refused and none of its 5 questions outside the sources answered (README, "A factorial page and a
    # device page").
    ("whinmoor-2-trial-summary.txt", "WHINMOOR-2", "whinmoor-2-cases.jsonl", 0.66, 0.94, 0.0, 0.07),
    # RAVENSCAR-3, two doses of an oral drug against placebo in rheumatoid arthritis, written the same way with
    # OXENHOPE-2 a round later and never read. First run: 0.778 fact coverage, 0.886 scope, 4 of 30 refused and
    # none of its 5 questions outside the sources answered.
    ("ravenscar-3-trial-summary.txt", "RAVENSCAR-3", "ravenscar-3-cases.jsonl", 0.77, 0.88, 0.0, 0.14),
    # SCARTH-3, first-line lung cancer immunotherapy with chemotherapy against placebo with chemotherapy (dual
    # primary endpoints, PD-L1 subgroups), written the same way with THORNLEY-2 a round later and never read. First
    # run: 0.840 fact coverage, lead 0.667, every scope decision right, none of its 3 unreported questions said so.
    ("scarth-3-trial-summary.txt", "SCARTH-3", "scarth-3-cases.jsonl", 0.83, 0.99, 0.0, 0.0),
    # LINTHWAITE-2 (obesity: a weekly injection at two doses against placebo, co-primary endpoints, two estimands) and
    # CRAGSIDE-3 (anaesthesia: spinal against general anaesthesia for hip fracture, a neutral superiority trial),
    # written the same way after that round's first changes had landed, and never read. First runs: LINTHWAITE-2
    # 0.846 fact coverage, lead 0.778, every scope decision right; CRAGSIDE-3 0.861, lead 0.778, every scope decision
    # right and all 3 of its unreported questions said so.
    ("linthwaite-2-trial-summary.txt", "LINTHWAITE-2", "linthwaite-2-cases.jsonl", 0.84, 0.99, 0.0, 0.0),
    ("cragside-3-trial-summary.txt", "CRAGSIDE-3", "cragside-3-cases.jsonl", 0.86, 0.99, 0.0, 0.0),
    # HOLMBRIDGE-3 (paediatrics: early high-flow oxygen against standard oxygen in bronchiolitis, open label, rescue
    # crossover), written the same way with MOSSDALE-2 a round later and never read. First run: 0.722 fact coverage,
    # lead 0.593, none of 30 refused, 1 of its 5 questions outside the sources answered, 1 of 3 unreported said so.
    ("holmbridge-3-trial-summary.txt", "HOLMBRIDGE-3", "holmbridge-3-cases.jsonl", 0.72, 0.97, 0.2, 0.0),
    # ELSECAR-2 (adjuvant breast cancer: an oral drug added to endocrine therapy, open label) and KILNSEY-3 (a
    # diagnostic strategy: CT coronary angiography first against functional testing first), written the same way later
    # in that round, and never read; first runs on the round's first commit. ELSECAR-2: 0.802 fact coverage, lead
    # 0.880, 2 of 30 refused, none of 5 outside answered, 1 of 3 unreported said so; KILNSEY-3: 0.741, lead 0.667,
    # every scope decision right, 2 of 3 unreported said so.
    ("elsecar-2-trial-summary.txt", "ELSECAR-2", "elsecar-2-cases.jsonl", 0.8, 0.94, 0.0, 0.07),
    ("kilnsey-3-trial-summary.txt", "KILNSEY-3", "kilnsey-3-cases.jsonl", 0.74, 0.99, 0.0, 0.0),
    # FELLBECK-2 (an RSV vaccine against placebo in adults of 60 and over, observer-blind, event-driven, two
    # seasons), written the same way with RYLSTONE-2 in a later round and never read; first run on that round's
    # starting commit: 0.802 fact coverage, lead 0.889, every scope decision right, 2 of 3 unreported said so.
    ("fellbeck-2-trial-summary.txt", "FELLBECK-2", "fellbeck-2-cases.jsonl", 0.8, 0.99, 0.0, 0.0),
    # HEBDEN-3 (paediatric pneumonia: three arms, two short courses against a standard one, double-blind, a
    # noninferiority margin), written the same way with CONISTONE-2 in a later round and never read; first run on that
    # round's starting commit: 0.667 fact coverage, lead 0.560, 2 of 30 refused, 1 of its 5 questions outside the
    # sources answered, 1 of 3 unreported said so.
    ("hebden-3-trial-summary.txt", "HEBDEN-3", "hebden-3-cases.jsonl", 0.66, 0.91, 0.2, 0.07),
    # MALHAM-2 (rheumatology: a 2x2 factorial trial, four groups, two main comparisons and their interaction), written
    # the same way at the start of a later round and never read; first run on that round's starting commit: 0.722
    # fact coverage, lead 0.654, 1 of 30 refused, none of its 5 questions outside the sources answered, 1 of 3
    # unreported said so.
    ("malham-2-trial-summary.txt", "MALHAM-2", "malham-2-cases.jsonl", 0.72, 0.97, 0.0, 0.04),
    # ROSEDALE-3 (obstetrics: three arms, two doses of a drug against a control), written the same way at the start of
    # a later round and never read; first run on that round's starting commit: 0.796 fact coverage, lead 0.593, every
    # scope decision right, none of its 3 unreported questions said so.
    ("rosedale-3-trial-summary.txt", "ROSEDALE-3", "rosedale-3-cases.jsonl", 0.79, 0.99, 0.0, 0.0),
    # GUNNERSIDE-2 (ophthalmology: a long-acting injection at extended intervals against a standard one, noninferiority),
    # written the same way at the start of a later round and never read; one of its 35 cases had no expected facts and
    # was dropped unread. First run on that round's starting commit: 0.808 fact coverage, lead 0.76, 2 of 29 answerable
    # questions refused, none of its 5 questions outside the sources answered, 2 of 3 unreported said so.
    ("gunnerside-2-trial-summary.txt", "GUNNERSIDE-2", "gunnerside-2-cases.jsonl", 0.80, 0.94, 0.0, 0.07),
    # TARNBROOK-2 (urology: a procedure against surgery, noninferiority on a continuous symptom score), written the same
    # way with TARNWICK-3 at the start of a later round and never read. First run on that round's starting commit:
    # 0.815 fact coverage, lead 0.72, 3 of 30 answerable questions refused, 1 of its 5 questions outside the sources
    # answered, 1 of 3 unreported said so.
    ("tarnbrook-2-trial-summary.txt", "TARNBROOK-2", "tarnbrook-2-cases.jsonl", 0.81, 0.88, 0.2, 0.1),
])
def test_a_page_nobody_has_read_keeps_its_first_figures(make_settings, page, trial, cases, facts, scope, false_answer,
                                                         false_refusal):
    _, summary = _library_with(make_settings, page, trial, cases)
    overall = summary["overall"]
    assert overall["fact_coverage"] >= facts and overall["scope_accuracy"] >= scope, summary["failing_cases"]
    assert overall["false_answer"] <= false_answer and overall["false_refusal"] <= false_refusal
    assert overall["numeric_faithfulness"] == 1.0 and overall["citation_validity"] == 1.0


def test_a_time_point_written_after_its_unit_is_asked_for_as_one(make_settings):
    """"The week 12 remission rate" asks for week 12 as "the 12-week rate" does: TARNWICK-3 reports remission at week 12
    (induction) and at week 52 (maintenance), and the answer leads with week 12's. "12-wk" is that time point too, which
    the sources do report. A lead that names no time point of its own stays: FENWICK-4's "complete clearance (PASI 100)
    was reached by 44.1%" answers "PASI 100 at wk 16", though its sentence does not repeat the week."""
    tutor = _tutor_with(make_settings, ["tarnwick-3-trial-summary.txt", "fenwick-4-trial-summary.txt"])
    week12 = tutor.ask("What was the week 12 clinical remission rate for each arm in induction, and the difference vs "
                       "placebo w/ 95% CI?", "resident",
                       trial="TARNWICK-3")
    lead = week12.answer.split("\n")[0]
    assert "29.4%" in lead and "51.5%" not in lead, week12.answer
    response = tutor.ask("What proportion achieved clinical response after the 12-wk induction in each group?", "fellow",
                         trial="TARNWICK-3")
    assert "time point you name" not in response.answer, response.answer
    clear = tutor.ask("how many pts got completely clear skin (PASI 100) at wk 16 in each arm?", "resident",
                      trial="FENWICK-4")
    assert "44.1%" in clear.answer.split("\n")[0], clear.answer


def test_a_question_is_answered_from_the_trial_it_is_about_and_what_its_page_discusses(make_settings):
    """A learner who names no trial, no treatment and no word only one page uses ("breathing machine", "less
    oxygen") asks about the trial whose page is by far the closest in meaning: the answer comes from that page alone,
    not from another trial's survival figures. A question as close to several trials stays open to all of them."""
    tutor = _tutor_with(make_settings, "conistone-2-trial-summary.txt")
    answer = tutor.ask("My dad is on a breathing machine and the nurses say they keep his oxygen a bit lower these days. "
                       "In plain words, did this research find that giving less oxygen meant more people died?",
                       "guideline_committee")
    assert answer.in_scope and {s.trial for s in answer.sources} == {"CONISTONE-2"}, answer.answer
    # "more people died" asks who died, not how many took part: the mortality figures, not the sample
    assert "30.0%" in answer.answer and "30.7%" in answer.answer, answer.answer
    survival = tutor.ask("What was the median overall survival?", "resident")
    assert len({s.trial for s in survival.sources}) > 1, survival.answer
    # "ventilating" is named among the design fields of the passages found, but the page's own discussion asks about
    # "a ventilated patient with septic shock": the page discusses it, and does not "not report" it
    sepsis = tutor.ask("Using the subgroup data, would you aim for the lower saturation band when ventilating someone in "
                       "septic shock?", "fellow", trial="CONISTONE-2")
    assert "do not report" not in sepsis.answer and "septic shock" in sepsis.answer.splitlines()[0], sepsis.answer


def test_a_device_trial_page_read_after_its_first_run(make_settings):
    """SKELWITH-3, a shunt device against medical therapy analysed by the win ratio, written with WHINMOOR-2 and
    read after its first run (0.679 fact coverage, lead 0.630, 2 of its 5 questions outside the sources answered;
    0.790 and 0.778 now). "afib" and "a fake procedure" are the page's atrial fibrillation and sham, a "cut-point" its
    threshold, "did the implant work" its device success, "lived longer" its deaths; "2,406" is one figure, so the
    "2" of "at 2 yrs" finds no sentence by it; "my own mother" is a relative. One question outside the sources is
    still answered: how to size a stepped-wedge trial in general reads as asking this trial's sample size."""
    tutor, summary = _library_with(make_settings, "skelwith-3-trial-summary.txt", "SKELWITH-3", "skelwith-3-cases.jsonl")
    overall = summary["overall"]
    assert overall["fact_coverage"] >= 0.78 and overall["lead_accuracy"] >= 0.77, summary["failing_cases"]
    assert overall["scope_accuracy"] >= 0.97 and overall["false_answer"] <= 0.2 and overall["false_refusal"] == 0.0
    assert overall["numeric_faithfulness"] == 1.0 and overall["citation_validity"] == 1.0
    answer = tutor.ask("did more people get new afib with the device?", "med_student", trial="SKELWITH-3")
    assert "9.0%" in answer.answer and "6.4%" in answer.answer, answer.answer
    answer = tutor.ask("how often did the implant work?", "resident", trial="SKELWITH-3")
    assert "98.2%" in answer.answer, answer.answer


def test_a_summary_of_a_trial_gives_its_primary_result(tutor):
    """"Summarise the trial" is answered with the bottom line and the primary result's figures, not the bottom line
    alone; a page whose primary finding opens by counting who took part gives the sentence with the estimate."""
    answer = tutor.ask("Summarise the trial for me.", "resident", trial="TH3RESA")
    assert "6.2" in answer.answer and "3.3" in answer.answer, answer.answer
    answer = tutor.ask("Summarise the trial for me.", "resident", trial="MARIANNE")
    assert "14.1" in answer.answer, answer.answer


def test_a_question_that_names_its_topic_is_no_summary(make_settings):
    """Read as a summary by meaning, a question that names a clinical topic ("dialysis") asks for that result:
    the primary result does not take its place, and the sentence with the result's figures leads."""
    answer = _tutor_with(make_settings, "tarnholm-2-trial-summary.txt").ask(
        "did the lower oxygen group end up needing the kidney machine (dialysis) less often?", "med_student",
        trial="TARNHOLM-2")
    lead = answer.answer.splitlines()[0]
    assert "11.0%" in lead and "13.3%" in lead, answer.answer


def test_a_result_asked_in_words_that_ask_no_figure_leads_with_its_figures(make_settings):
    """"were wound infections more of a problem with surgery?", "did it do better in C. glabrata?" ask for a result
    without asking for a figure: the sentence that gives the subject's figures leads, not the bottom line or
    another result's figures."""
    tutor = _tutor_with(make_settings, ["holloway-2-trial-summary.txt", "weirgate-3-trial-summary.txt"])
    for question, role, trial, figures in [
        ("Simply put, were infections in the wound more of a problem for the people who had surgery?", "attending",
         "HOLLOWAY-2", ["8.6%", "1.0%"]),
        ("did mirevafungin do beter than caspo in C. glabrata?", "fellow", "WEIRGATE-3", ["70.2%", "56.4%"]),
    ]:
        answer = tutor.ask(question, role, trial=trial)
        lead = answer.answer.splitlines()[0]
        assert all(f in lead for f in figures), answer.answer


def test_whether_a_treatment_worked_is_answered_first_by_its_result(make_settings):
    """"Did it work as well as apixaban at stopping strokes?" leads with the key finding and its figures, not with a
    summary in words (the history of the comparator, the significance of the result)."""
    answer = _tutor_with(make_settings, "mossdale-2-trial-summary.txt").ask(
        "did the new blood thinner work as well as apixaban at stopping strokes?", "med_student", trial="MOSSDALE-2")
    first = answer.answer.splitlines()[0]
    assert "2.7%" in first and "2.5%" in first, answer.answer
    # asked after a clause that frames it ("In simple words, did ...?"), and with a summary first whose figure is of
    # another result ("1 in 21 ... avoided a cardiovascular death or worsening heart-failure event"): the finding
    # with the figures of what is asked (worsening heart failure) leads
    answer = _tutor_with(make_settings, "corrie-4-trial-summary.txt").ask(
        "In simple words, did the new heart tablet keep people with stiff hearts out of hospital with heart failure?",
        "med_student", trial="CORRIE-4")
    first = answer.answer.splitlines()[0]
    assert "13.0%" in first and "17.2%" in first, answer.answer


def test_a_question_that_asks_what_the_learners_own_discussion_item_asks_is_taught_its_key_response(make_settings):
    """Asked in other words what the page's guided discussion asks the learner's own role ("how do I counsel my
    patients about ketoacidosis?" beside the fellow's "how should a fellow counsel patients to reduce this risk?"), the
    answer carries that item's key response (sick-day rules, ketones checked when glucose is near normal) after the
    sentence that answers best, not more adverse-event rates, even when the key response is long enough to be cut away
    from its question; a question for a figure is answered as before."""
    tutor = _tutor_with(make_settings, ["bracken-2-trial-summary.txt", "weirgate-3-trial-summary.txt"])
    for question in ("How do I counsel my patients on corvagliflozin about ketoacidosis?",
                     "What should patients starting corvagliflozin be told to keep their ketoacidosis risk down?"):
        answer = tutor.ask(question, "fellow", trial="BRACKEN-2")
        assert "sick-day rules" in answer.answer and "Ketones should be measured" in answer.answer, answer.answer
        assert "0.5%" in answer.answer.splitlines()[0], answer.answer
    rates = tutor.ask("What were the genital mycotic infection rates in each arm?", "fellow", trial="BRACKEN-2")
    first = rates.answer.splitlines()[0]
    assert "3.8%" in first and "0.9%" in first and "sick-day" not in rates.answer, rates.answer
    # a key response too long to share a passage with its question is still known by it: WEIRGATE-3's medical student
    # item ("why is this a good antifungal target, and why are echinocandins normally given only intravenously?")
    answer = tutor.ask("What makes glucan synthase a sensible drug target, and why can't most echinocandins be swallowed "
                       "as tablets?", "med_student", trial="WEIRGATE-3")
    assert "no cell wall" in answer.answer and "hardly absorbed from the gut" in answer.answer, answer.answer


def test_an_age_the_page_gives_no_mean_or_median_of_is_not_reported(make_settings):
    """"Adults aged 18 to 65" says who could enrol, not how old they were: asked the mean age of a page that gives
    none, the answer says so; a page that gives one ("mean age 71.6 years") answers with it."""
    tutor = _tutor_with(make_settings, ["quillby-3-trial-summary.txt", "mossdale-2-trial-summary.txt"])
    answer = tutor.ask("What was the mean age of the patients enrolled?", "resident", trial="QUILLBY-3")
    assert 'do not give a figure for "age"' in answer.answer, answer.answer
    answer = tutor.ask("What was the mean age of the patients enrolled?", "resident", trial="MOSSDALE-2")
    assert "71.6" in answer.answer and "do not give" not in answer.answer, answer.answer


def test_the_number_of_patients_is_the_sample(tutor):
    """"total number of patients" asks what "how many patients" asks: the Sample field leads, not a finding that
    counts patients with an event ("41% of patients")."""
    answer = tutor.ask("total number of patients in EMILIA?", "resident")
    assert "991" in answer.answer.splitlines()[0], answer.answer


def test_a_clinical_topic_the_page_names_is_sought_on_the_pages_searched(make_settings):
    """The page reports heart-failure readmissions in a safety finding the search did not rank first: that passage
    is brought in, and the answer does not say the sources lack "heart"."""
    answer = _tutor_with(make_settings, "staithes-2-trial-summary.txt").ask(
        "If ED nurses stop ACE inhibitors and diuretics in AKI patients, do more of them get readmitted with heart "
        "failure? What did the STAITHES-2 data show?", "guideline_committee")
    assert "do not report" not in answer.answer, answer.answer
    assert any("readmission for heart failure" in s.text for s in answer.sources)
    answer = _tutor_with(make_settings, "staithes-2-trial-summary.txt").ask(
        "Summarise the trial for me.", "resident", trial="STAITHES-2")
    assert "21.9%" in answer.answer and "24.6%" in answer.answer, answer.answer


def test_the_level_of_an_interval_asked_for_quotes_no_result(make_settings):
    """"+ 95% CI?" asks for the interval, it quotes no figure the answer should be built around: a question naming
    the primary outcome and its interval is answered first by the primary result."""
    answer = _tutor_with(make_settings, "holloway-2-trial-summary.txt").ask(
        "adj mean diff for the primary outcome + 95% CI?", "resident", trial="HOLLOWAY-2")
    assert "-5.2 to 2.0" in answer.answer.split("\n")[0], answer.answer


def test_a_figure_the_question_writes_is_sought_on_the_pages_searched(make_settings):
    """"the 2x2 ... trial": the page gives "2x2" in a passage the search did not rank first. That passage is brought
    in, and the answer does not say the sources lack the figure."""
    answer = _tutor_with(make_settings, "pellow-2-trial-summary.txt").ask(
        "how many patients were randomized overall in the 2x2 upper GI bleeding trial (hemostatic drug + restrictive "
        "vs liberal transfusion)?", "med_student")
    assert "do not report the figure" not in answer.answer, answer.answer
    assert any("2x2" in s.text for s in answer.sources)


def test_a_question_in_the_page_s_own_words_is_not_read_through_the_lexicon(make_settings):
    """"Worsening" is read as progression on a cancer page; on a page that writes "worsening heart-failure events"
    it is the page's own word, and its figures are no unreported progression-free survival."""
    tutor, _ = _library_with(make_settings, "corrie-4-trial-summary.txt", "CORRIE-4", "corrie-4-cases.jsonl")
    answer = tutor.ask("HR for worsening HF events on the 40mg dose?", "resident", trial="CORRIE-4")
    assert answer.in_scope and "progression" not in answer.answer.lower(), answer.answer
    lead = tutor.ask("hr for 80mg vs pbo w CI?", "resident", trial="CORRIE-4")
    assert lead.answer.split("\n")[0].count("0.65 to 0.92") == 1, lead.answer  # the primary result answers first
    # a dose the question writes names an arm: the summary that gives only doses gives way to the figure asked for
    dosed = tutor.ask("What HR did the 40 mg dose get on the primary outcome, and was it significant?", "phd",
                      trial="CORRIE-4")
    assert "0.87" in dosed.answer.split("\n")[0], dosed.answer
    # a dose the question names that is not the primary result's is answered by its own finding
    low = tutor.ask("hr for 40mg vs pbo w CI?", "resident", trial="CORRIE-4")
    assert "0.87" in low.answer.split("\n")[0] and "0.77" not in low.answer.split("\n")[0], low.answer
    # naming the primary outcome of a subgroup asks for the subgroup, not the primary result
    subgroup = tutor.ask("What was the primary outcome HR in the subgroup with an SGLT2 inhibitor?", "phd", trial="CORRIE-4")
    assert "0.80" in subgroup.answer.split("\n")[0], subgroup.answer
    # what the page names only as an entry criterion is no result it reports; a design field's own name is asked of it
    baseline = tutor.ask("In CORRIE-4, what share of patients had atrial fibrillation when they were enrolled?", "fellow",
                         trial="CORRIE-4")
    assert 'do not report a result for "atrial fibrillation"' in baseline.answer, baseline.answer
    assert "do not report" not in tutor.ask("How many patients were randomised, and in what ratio?", "fellow",
                                            trial="CORRIE-4").answer
    # "SGLT2i" is the page's "SGLT2 inhibitor"; "mini" is no short form of a "min ... inhibitor" the page never writes
    assert tutor.retriever._inhibitor_short("SGLT2i") and not tutor.retriever._inhibitor_short("mini")
    # the format a learner asks for ("for our patient handout") and lay words for a dose are no foreign subject
    assert tutor.ask("For our patient handout: was the half-strength pill as good as the full-strength pill?",
                     "guideline_committee", trial="CORRIE-4").in_scope


def test_pages_of_other_fields_are_read_in_their_own_shorthand(make_settings):
    """An antifungal and a kidney-outcomes trial (made up) join the library: their learners write "pts",
    "IV to PO", "LFTs" and "sugar pill", and name a treatment rather than the trial."""
    tutor, summary = _library_with(make_settings, ["weirgate-3-trial-summary.txt", "bracken-2-trial-summary.txt"],
                                   ["WEIRGATE-3", "BRACKEN-2"], "weirgate-3-cases.jsonl bracken-2-cases.jsonl")
    overall = summary["overall"]
    assert overall["fact_coverage"] >= 0.8 and overall["scope_accuracy"] >= 0.9, summary["failing_cases"]
    assert overall["numeric_faithfulness"] == 1.0 and overall["citation_validity"] == 1.0
    stepdown = tutor.ask("What % of pts got IV to PO step-down in each arm?", "resident", trial="WEIRGATE-3")
    assert stepdown.in_scope and "74.6%" in stepdown.answer and "52.3%" in stepdown.answer, stepdown.answer
    # it reads like a comparison ("comparator"), but of the one trial that gives the drug, not the library
    dose = tutor.ask("corvagliflozin dose, and what was the comparator?", "resident")
    assert dose.in_scope and {s.trial for s in dose.sources} == {"BRACKEN-2"}, dose.answer
    advice = tutor.ask("I'm diabetic and my kidneys are failing. Should I stop my insulin and take corvagliflozin?",
                       "resident")
    assert not advice.in_scope and not advice.sources


def _cited_trial(answer, line: str) -> str:
    return answer.sources[int(re.findall(r"\[(\d+)\]", line)[-1]) - 1].trial


def test_a_comparison_with_the_fifth_trial_sets_each_trial_s_own_field_side_by_side(make_settings):
    """Compared on a topic ("more patients", "the bigger study", "the control arms"), each trial's answer is
    the part of its own page on that topic, cited to it, however the comparison is worded; a trial chosen
    in the picker ("here") joins the trial the question names."""
    tutor = _tutor_with(make_settings, "larkspur-5-trial-summary.txt")
    cases = [
        ("Which trial had more patients, LARKSPUR-5 or MARIANNE?", None,
         {"14,260": "LARKSPUR-5", "1,095": "MARIANNE"}),
        ("Which was the bigger study, EMILIA or LARKSPUR-5?", None, {"14,260": "LARKSPUR-5", "991": "EMILIA"}),
        ("What were the control arms in LARKSPUR-5 and EMILIA?", None,
         {"Warfarin adjusted": "LARKSPUR-5", "Capecitabine (1,000 mg/m2": "EMILIA"}),
        ("How many patients took part here compared with TH3RESA?", "LARKSPUR-5",
         {"14,260": "LARKSPUR-5", "602": "TH3RESA"}),
    ]
    for question, chosen, figures in cases:
        answer = tutor.ask(question, "resident", trial=chosen)
        assert answer.in_scope, question
        for figure, trial in figures.items():
            lines = [line for line in answer.answer.splitlines() if figure in line]
            assert lines, (question, figure, answer.answer)
            assert all(_cited_trial(answer, line) == trial for line in lines), (question, figure, answer.answer)


def test_a_library_of_one_page_in_another_field_is_taught(make_settings):
    """On a page the rules were never tuned on, alone in the library. Words alone tie the new drug's line
    and the control's ("arm"); the lead is the one that means what was asked."""
    from tutor.tutor import Tutor

    settings = make_settings()
    shutil.copy(FIXTURES / "larkspur-5-trial-summary.txt", settings.knowledge_dir)
    tutor = Tutor(settings)
    answer = tutor.ask("What was the comparator arm?", "resident")
    lead = answer.answer.split("\n")[0]
    assert "Comparator: Warfarin adjusted to a target international normalized ratio" in lead, lead
    assert "Milvarixan 45 mg" not in lead
    # A library of this one page, in another field: what learners ask of any trial is still a trial question,
    # though the page never says "dose" or "followed" (the lexicon's expansions of them are not the asker's words).
    assert "45 mg" in tutor.ask("What dose of milvarixan was given?", "resident").answer
    assert "2.3 yr" in tutor.ask("How long were patients followed?", "resident").answer


def _knowledge_names() -> set[str]:
    """Trial and drug names of the knowledge: trial names, related trials, and the drugs and their
    abbreviations each page names in its intervention and comparator."""
    from tutor.knowledge import load_document
    from tutor.lexicon import drug_pattern, learn_abbreviations

    names: set[str] = set()
    for path in (ROOT / "knowledge").iterdir():
        record = load_document(path, path.parent).record
        names |= {record.name} | {r.name for r in record.related}
        arms = " ".join(x or "" for x in (record.intervention, record.comparator, record.bottom_line))
        names |= set(drug_pattern()[1].findall(arms))
        names |= {short for short in learn_abbreviations([arms]) if re.search(r"\d|[A-Z]{2}", short)}
    return {n for n in names if len(n) >= 4}


def test_no_trial_or_drug_of_the_knowledge_is_named_in_the_code():
    names = _knowledge_names()
    assert {"EMILIA", "DESTINY-Breast03", "lapatinib", "T-DM1"} <= names | {"T-DM1"}
    found = []
    for path in sorted((ROOT / "tutor").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {name}" for name in names if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.I)]
    assert not found, f"knowledge belongs in data, not code: {found}"
