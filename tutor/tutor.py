"""The tutoring chain: one turn, read top to bottom.

validate -> retrieve (hybrid) -> scope check -> prompt (role + passages + history) ->
model (streamed) -> grounding (citations, numeric guard) -> Answer
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from langchain_core.language_models import BaseChatModel

from tutor.errors import InputError, ModelError, TutorError
from tutor.grounding import CITATION, check
from tutor.models import NOT_COVERED, make_model, model_label
from tutor.prompting import history_turns, load_system_template, question_messages, takeaway_messages
from tutor.retrieve import HybridRetriever, Retrieval, asks_for_advice, is_follow_up
from tutor.roles import Role, clean_specialty, get_role, load_roles, specialty_focus
from tutor.schema import Answer, Source, Takeaway, Takeaways
from tutor.settings import Settings, get_settings
from tutor.store import Store, knowledge_fingerprint

MAX_QUESTION = 2000
ADVICE = ("I cannot advise on anyone's own treatment: that decision belongs to their oncology team, who know "
          "their whole history. This tutor is for learning, not medical advice.")


def clean_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; type a question about the trial")
    if len(question) > MAX_QUESTION:
        raise InputError(f"the question is {len(question)} characters; keep it to {MAX_QUESTION} or fewer")
    return question.strip()


class Tutor:
    def __init__(self, settings: Settings | None = None, model: BaseChatModel | None = None,
                 store: Store | None = None, retriever: HybridRetriever | None = None):
        self.settings = settings or get_settings()
        self.roles: dict[str, Role] = load_roles(self.settings.prompts_dir)
        self.template = load_system_template(self.settings.prompts_dir)
        self.model = model or make_model(self.settings)
        self.store = store or Store(self.settings)
        self.ensure_fresh()
        self.retriever = retriever or HybridRetriever(
            self.store, self.settings.top_k, self.settings.relevance_floor
        )

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
        return report

    def role(self, role: str) -> Role:
        return get_role(self.roles, role)

    def covered(self) -> str:
        """What the sources cover, for the out-of-scope reply: each document and its main sections."""
        documents: dict[str, list[str]] = {}
        for chunk in self.retriever.chunks:
            top = chunk.section.split(" > ")[0].split(":")[-1].strip()
            sections = documents.setdefault(chunk.title, [])
            if top and top != chunk.title and top.lower() not in sections:
                sections.append(top.lower())
        parts = []
        for title, sections in documents.items():
            shown = sections[:10]
            listed = ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else "".join(shown)
            parts.append(f"{title}" + (f" ({listed})" if listed else ""))
        return "They cover " + "; ".join(parts) + "."

    # -- one turn --------------------------------------------------------------------------

    def retrieve(self, question: str, history: Iterable = ()) -> Retrieval:
        """The passages for a question; a follow-up ("and the hazard ratio?") is searched together
        with the question before it, and so is a short question the sources cannot place alone."""
        previous = [c for r, c in history_turns(history) if r == "user"]
        if previous and is_follow_up(question):
            return self.retriever.search(f"{previous[-1]} {question}")
        retrieval = self.retriever.search(question)
        if not retrieval.in_scope and previous and len(question.split()) <= 8:
            follow_up = self.retriever.search(f"{previous[-1]} {question}")
            if follow_up.in_scope:
                return follow_up
        return retrieval

    def stream(self, question: str, role: str, specialty: str | None = None,
               history: Iterable = ()) -> Iterator[str | Answer]:
        """Yield the answer's text as it is written, then the finished `Answer`."""
        started = time.perf_counter()
        question = clean_question(question)
        learner = self.role(role)
        specialty = clean_specialty(specialty)
        history = list(history or ())
        retrieval = self.retrieve(question, history)
        timings = dict(retrieval.timings_ms)

        if not retrieval.in_scope:
            text = self.out_of_scope(learner, question)
            yield text
            timings["total"] = (time.perf_counter() - started) * 1000
            yield Answer(answer=text, in_scope=False, sources=[], citations=[], role=learner.id,
                         specialty=specialty, model=model_label(self.model), timings_ms=_round(timings))
            return

        messages = question_messages(self.template, learner, specialty, retrieval.sources, question,
                                     history, self.settings.history_tokens)
        t0 = time.perf_counter()
        parts: list[str] = []
        cut: str | None = None  # why the answer stopped early, when it did
        try:
            for chunk in self.model.stream(messages):
                delta = chunk.text if isinstance(chunk.text, str) else str(chunk.content)
                if delta:
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

    def ask(self, question: str, role: str, specialty: str | None = None, history: Iterable = ()) -> Answer:
        *_, answer = self.stream(question, role, specialty, history)
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
            role=learner.id, specialty=specialty, model=model_label(self.model),
            unverified_numbers=checked.unverified_numbers, dropped_citations=checked.dropped_citations,
            complete=cut is None, incomplete_reason=cut, timings_ms=_round(timings),
        )

    def out_of_scope(self, learner: Role, question: str = "") -> str:
        examples = " or ".join(f"“{q}”" for q in learner.starter_questions[:2])
        if asks_for_advice(question):
            return (f"{ADVICE} The trial sources can teach what EMILIA found and for whom; you could ask, "
                    f"for example, {examples}")
        return f"{NOT_COVERED} {self.covered()} You could ask, for example, {examples}"

    # -- takeaways -------------------------------------------------------------------------

    def takeaways(self, role: str, specialty: str | None = None) -> Takeaways:
        started = time.perf_counter()
        learner = self.role(role)
        specialty = clean_specialty(specialty)
        focus = list(learner.takeaway_focus)
        sources: list[Source] = []
        for query in focus + ([specialty_focus(specialty)] if specialty else []):
            for source in self.retriever.search(query, top_k=2).sources:
                if source.id not in {s.id for s in sources}:
                    sources.append(source)
        t0 = time.perf_counter()
        messages = takeaway_messages(self.template, learner, specialty, sources, focus)
        try:
            text = str(self.model.invoke(messages).content)
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
            takeaways=items[:5], sources=sources, role=learner.id, specialty=specialty, model=model_label(self.model),
            unverified_numbers=checked.unverified_numbers,
            timings_ms=_round({"generate": generate, "total": (time.perf_counter() - started) * 1000}),
        )


def _round(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in timings.items()}
