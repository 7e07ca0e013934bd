"""The tutoring chain: one turn, read top to bottom.

validate -> retrieve (hybrid, intent, trial filter, scope) -> prompt (role + specialty lens +
passages + history) -> model (streamed) -> grounding (citations, numeric guard) -> Answer
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from langchain_core.language_models import BaseChatModel

from tutor import guard, library
from tutor.errors import ModelError, TutorError
from tutor.grounding import CITATION, check
from tutor.models import NOT_COVERED, make_model, model_label
from tutor.prompting import history_turns, load_system_template, question_messages, takeaway_messages
from tutor.retrieve import HybridRetriever, Retrieval, is_follow_up
from tutor.roles import Role, clean_specialty, get_role, load_roles
from tutor.schema import Answer, Source, Takeaway, Takeaways, TrialInfo
from tutor.settings import Settings, get_settings
from tutor.specialty import Lens
from tutor.starters import starter_questions
from tutor.store import Store, knowledge_fingerprint
from tutor.trialpage import TrialRecord

MAX_QUESTION = guard.MAX_QUESTION
ADVICE = ("I cannot advise on anyone's own treatment: that decision belongs to their oncology team, who know "
          "their whole history. This tutor is for learning, not medical advice.")


def clean_question(question: str) -> str:
    return guard.clean_question(question)  # the one rule for every field (tutor/guard.py)


class Tutor:
    def __init__(self, settings: Settings | None = None, model: BaseChatModel | None = None,
                 store: Store | None = None, retriever: HybridRetriever | None = None):
        self.settings = settings or get_settings()
        self.roles: dict[str, Role] = load_roles(self.settings.prompts_dir)
        self.template = load_system_template(self.settings.prompts_dir)
        self.store = store or Store(self.settings)
        self.model = model or make_model(self.settings, self.store.sentences)
        self.ensure_fresh()
        self.retriever = retriever or HybridRetriever(
            self.store, self.settings.top_k, self.settings.relevance_floor
        )
        self.lens = Lens(self.store.embeddings)
        self._records: tuple[str | None, dict[str, TrialRecord]] = ("", {})  # (store revision, records)
        self.save_library()

    # -- knowledge -------------------------------------------------------------------------

    def ensure_fresh(self) -> None:
        """Build the store on first use, and rebuild it when the knowledge folder changed."""
        if self.store.count() == 0 or self.store.fingerprint() != knowledge_fingerprint(self.settings):
            report = self.store.ingest()
            if report.total == 0:
                raise TutorError(
                    f"the knowledge base is empty: {'; '.join(report.errors) or 'no documents found'} "
                    f"(TUTOR_KNOWLEDGE_DIR={self.settings.knowledge_dir})"
                )

    def ingest(self, paths=None, progress=None):
        report = self.store.ingest(paths, progress)
        self.retriever.refresh()
        self.save_library()
        return report

    # -- the library -----------------------------------------------------------------------

    def records(self) -> dict[str, TrialRecord]:
        """The parsed trial pages of the knowledge folder, by trial name, read again only when the store
        changed (an ingest bumps its revision): starters and scope replies ask for them on every turn."""
        revision = self.retriever.version
        if self._records[0] == revision:
            return self._records[1]
        records = library.read_records(self.settings.knowledge_dir)
        self._records = (revision, records)
        return records

    def trials(self) -> list[TrialInfo]:
        """The trials of the library: those with a page in the store, with their chunk counts."""
        self.retriever.sync()
        return library.trial_infos(self.retriever.chunks, self.records())

    def save_library(self) -> None:
        """Save the library's manifest (what `tutor trials` reads) when it does not describe the store."""
        if not library.is_current(self.store, self.retriever.version):
            library.save(self.store, self.retriever.chunks, self.retriever.version, self.records())

    def trial_names(self) -> list[str]:
        return [t.name for t in self.trials()]

    def starters(self, role: str, trial: str | None = None) -> list[str]:
        """Starter questions for a role and a trial: the page's discussion question for that role, then
        questions from its findings and design; for all trials, one per trial."""
        learner = self.role(role)
        name = self.retriever.resolve_trial(trial)
        records = self.records()
        if name is None:
            return [q for record in records.values() for q in starter_questions(record, learner, 1)][:4] \
                or [q.format(trial="the trial") for q in learner.starter_questions[:4]]
        if name not in records:
            return [q.format(trial=name) for q in learner.starter_questions[:4]]
        return starter_questions(records[name], learner, 4)

    def role(self, role: str) -> Role:
        return get_role(self.roles, role)

    def covered(self) -> str:
        """What the sources cover, for the out-of-scope reply: the trials, and the parts of their pages."""
        trials = self.retriever.trial_pages
        others = sorted({c.title for c in self.retriever.chunks if not c.trial})
        parts = []
        if trials:
            names = ", ".join(trials[:-1]) + f" and {trials[-1]}" if len(trials) > 1 else trials[0]
            parts.append(f"the {'trial' if len(trials) == 1 else 'trials'} {names} (bottom line, key findings, "
                         "study design, limitations, significance, history, guided discussion and related trials)")
        parts += others[:5]
        return "They cover " + "; ".join(parts) + "." if parts else ""

    # -- one turn --------------------------------------------------------------------------

    def retrieve(self, question: str, history: Iterable = (), trial: str | None = None,
                 specialty: str | None = None) -> Retrieval:
        """The passages for a question, from the chosen trial (None: the trials it names, else all); a
        follow-up ("and the hazard ratio?") is searched together with the question before it, and so is
        a short question the sources cannot place alone. A specialty adds the passage that matters to it."""
        trials = [name] if (name := self.retriever.resolve_trial(trial)) else None
        lens = self.lens.concerns(specialty)
        previous = [c for r, c in history_turns(history) if r == "user"]
        if previous and is_follow_up(question):
            return self.retriever.search(f"{previous[-1]} {question}", trials=trials, lens=lens)
        retrieval = self.retriever.search(question, trials=trials, lens=lens)
        if not retrieval.in_scope and retrieval.why == "no_match" and previous and len(question.split()) <= 8:
            follow_up = self.retriever.search(f"{previous[-1]} {question}", trials=trials, lens=lens)
            if follow_up.in_scope:
                return follow_up
        return retrieval

    def read(self, question: str) -> str:
        """The question as search and model read it: cleaned, a misspelt word of the library ("maintanance") read
        as the library's word, a word run into its number ("Hb7") set apart."""
        return self.retriever.speller.correct(clean_question(question))

    def stream(self, question: str, role: str, specialty: str | None = None,
               history: Iterable = (), trial: str | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is written, then the finished `Answer`."""
        started = time.perf_counter()
        question = self.read(question)  # by search and model alike
        learner = self.role(role)
        specialty = clean_specialty(specialty)
        trial = guard.clean_name("trial", trial, optional=True)
        history = self.bounded_history(history)
        retrieval = self.retrieve(question, history, trial, specialty)
        timings = dict(retrieval.timings_ms)
        intent = retrieval.reading.name if retrieval.reading else ""

        if not retrieval.in_scope:
            text = self.out_of_scope(learner, question, retrieval)
            yield text
            timings["total"] = (time.perf_counter() - started) * 1000
            yield Answer(answer=text, in_scope=False, sources=[], citations=[], role=learner.id,
                         specialty=specialty, trials=retrieval.trials, intent=intent,
                         model=model_label(self.model), timings_ms=_round(timings))
            return

        messages = question_messages(self.template, learner, specialty, retrieval.sources, question,
                                     history, self.settings.history_tokens, intent=intent,
                                     kinds=retrieval.reading.kinds if retrieval.reading else (),
                                     trials=retrieval.trials, lens=self.lens.concerns(specialty),
                                     arms=sorted(set().union(*(self.retriever.arm_words.get(s.trial, ())
                                                               for s in retrieval.sources))),
                                     primary=retrieval.primary, unnamed=retrieval.unnamed)
        t0 = time.perf_counter()
        parts: list[str] = []
        cut: str | None = None  # why the answer stopped early, when it did
        limit, written = self.settings.max_answer_chars, 0
        try:
            for chunk in self.model.stream(messages):
                delta = chunk.text if isinstance(chunk.text, str) else str(chunk.content)
                if delta and written + len(delta) > limit:  # a model that ignores its token limit stops here
                    parts.append(delta[: limit - written])
                    yield parts[-1]
                    cut = f"the answer passed TUTOR_MAX_ANSWER_CHARS={limit} characters"
                    break
                if delta:
                    written += len(delta)
                    parts.append(delta)
                    yield delta
        except TutorError as exc:
            if not "".join(parts).strip():
                raise
            cut = str(exc)
        except Exception as exc:
            if not "".join(parts).strip():
                raise ModelError(f"the model failed: {exc}") from exc
            cut = f"the model failed: {exc}"
        if not "".join(parts).strip():  # any backend: nothing to check, cite or show is not an answer
            raise ModelError(f"the model returned an empty answer ({model_label(self.model)}); ask again, and if it "
                             "keeps happening check TUTOR_MODEL and TUTOR_OPENAI_MODEL")
        timings["generate"] = (time.perf_counter() - t0) * 1000
        yield self._finish("".join(parts), retrieval, learner, specialty, timings, started, cut)

    def bounded_history(self, history: Iterable) -> list[dict]:
        """The conversation so far as {"role", "content"} turns, refused (InputError naming the limit) past
        TUTOR_MAX_HISTORY_TURNS turns or TUTOR_MAX_HISTORY_CHARS characters, before any turn is read."""
        turns, chars = self.settings.max_history_turns, self.settings.max_history_chars
        history = list(history or ())
        if len(history) > turns:
            return guard.clean_history(history, turns, chars)  # raises, naming the limit
        return guard.clean_history([{"role": r, "content": c} for r, c in history_turns(history)], turns, chars)

    def ask(self, question: str, role: str, specialty: str | None = None, history: Iterable = (),
            trial: str | None = None) -> Answer:
        *_, answer = self.stream(question, role, specialty, history, trial)
        return answer

    def _finish(self, text, retrieval, learner, specialty, timings, started, cut: str | None = None) -> Answer:
        """Check the model's text against the passages; `cut` says why it stopped early, if it did."""
        t0 = time.perf_counter()
        checked = check(text, retrieval.sources)
        timings["guard"] = (time.perf_counter() - t0) * 1000
        in_scope = not checked.text.startswith(NOT_COVERED)
        if cut:
            checked.text += f"\n\n[The answer was cut off: {cut.rstrip('.')}.]"
        timings["total"] = (time.perf_counter() - started) * 1000
        return Answer(
            answer=checked.text, in_scope=in_scope, sources=retrieval.sources, citations=checked.citations,
            role=learner.id, specialty=specialty, trials=retrieval.trials,
            intent=retrieval.reading.name if retrieval.reading else "", model=model_label(self.model),
            unverified_numbers=checked.unverified_numbers, dropped_citations=checked.dropped_citations,
            unsupported_citations=checked.unsupported_citations,
            complete=cut is None, incomplete_reason=cut, timings_ms=_round(timings),
        )

    def out_of_scope(self, learner: Role, question: str = "", retrieval: Retrieval | None = None) -> str:
        trials = retrieval.trials if retrieval else []
        examples = " or ".join(f"“{q}”" for q in self.starters(learner.id, trials[0] if len(trials) == 1 else None)[:2])
        if retrieval is not None and retrieval.why == "advice":
            which = " and ".join(trials) if trials else "each trial"
            return (f"{ADVICE} The trial sources can teach what {which} found and for whom; you could ask, "
                    f"for example, {examples}")
        return f"{NOT_COVERED} {self.covered()} You could ask, for example, {examples}"

    # -- takeaways -------------------------------------------------------------------------

    def takeaways(self, role: str, specialty: str | None = None, trial: str | None = None) -> Takeaways:
        started = time.perf_counter()
        learner = self.role(role)
        specialty = clean_specialty(specialty)
        name = self.retriever.resolve_trial(guard.clean_name("trial", trial, optional=True))
        trials = [name] if name else None
        focus = list(learner.takeaway_focus)
        lens = self.lens.concerns(specialty)
        sources: list[Source] = []
        for query in focus + ([self.lens.query(specialty)] if specialty else []):
            for source in self.retriever.search(query, top_k=2, trials=trials, compare=False).sources:
                if source.id not in {s.id for s in sources}:
                    sources.append(source)
        t0 = time.perf_counter()
        messages = takeaway_messages(self.template, learner, specialty, sources, focus, lens)
        try:
            text = str(self.model.invoke(messages).content)[: self.settings.max_answer_chars]
        except TutorError:
            raise
        except Exception as exc:
            raise ModelError(f"the model failed: {exc}") from exc
        generate = (time.perf_counter() - t0) * 1000
        checked = check(text, sources)
        items = []
        for line in checked.text.splitlines():
            line = line.strip()
            if not line.startswith(("- ", "* ")) and not line[:2].rstrip(".").isdigit():
                continue
            body = line.lstrip("-*0123456789. ").strip()
            ids = []
            for match in CITATION.finditer(body):
                for n in match.group(1).split(","):
                    ids.append(sources[int(n) - 1].id)
            items.append(Takeaway(text=body, citations=list(dict.fromkeys(ids))))
        return Takeaways(
            takeaways=items[:5], sources=sources, role=learner.id, specialty=specialty, trials=trials or [],
            model=model_label(self.model),
            unverified_numbers=checked.unverified_numbers,
            timings_ms=_round({"generate": generate, "total": (time.perf_counter() - started) * 1000}),
        )


    # -- practice --------------------------------------------------------------------------

    @property
    def practice(self):
        """Practice items and grading on this tutor's library (`tutor.practice`)."""
        if getattr(self, "_practice", None) is None:
            from tutor.practice import Practice

            self._practice = Practice(self)
        return self._practice


def _round(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in timings.items()}
