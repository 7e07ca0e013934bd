"""Chat models behind one interface (langchain's BaseChatModel), so the chain never asks which.

- `offline`: a deterministic, grounded model (`tutor.composer`). It reads the same messages an
  LLM would, picks the passage sentences that answer the question, frames them for the learner's
  role and specialty and cites them. It copies sentences verbatim, so every number it writes is
  in a passage. No network, no GPU: the default, and the eval model.
- `mock`: the simplest grounded baseline: the first passage, verbatim, cited as [1].
- `openai`: OpenAI or any OpenAI-compatible server (see `make_model`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from tutor.composer import NOT_COVERED, Composer, Prompt, parse_prompt
from tutor.errors import ConfigError
from tutor.settings import Settings

__all__ = ["NOT_COVERED", "OfflineTutorModel", "MockTutorModel", "make_model", "model_label"]


class OfflineTutorModel(BaseChatModel):
    """Deterministic, grounded, extractive answers (`tutor.composer`): see the module docstring."""

    model_name: str = "offline"
    meaning: Any = Field(default=None, exclude=True)  # embeddings.SentenceVectors: which chosen sentence leads

    @property
    def _llm_type(self) -> str:
        return "trial-tutor-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def compose(self, prompt: Prompt) -> str:
        return Composer(self.meaning).compose(prompt)

    # -- BaseChatModel -------------------------------------------------------------------

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        text = self.compose(parse_prompt(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop=None, run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        text = self.compose(parse_prompt(messages))
        for token in re.findall(r"\S+\s*|\s+", text):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk


class MockTutorModel(OfflineTutorModel):
    """Baseline for evals: the top passage verbatim, cited. Grounded, but not role-framed."""

    model_name: str = "mock"

    @property
    def _llm_type(self) -> str:
        return "trial-tutor-mock"

    def compose(self, prompt: Prompt) -> str:
        if not prompt.passages:
            return NOT_COVERED
        first = prompt.passages[0]
        if prompt.focus is not None:
            return "\n".join(f"- {p.text} [{p.n}]" for p in prompt.passages[: max(3, min(5, prompt.task_count))])
        return f"{first.text} [{first.n}]"


def make_model(settings: Settings, meaning=None) -> BaseChatModel:
    """The chat model the settings ask for; the offline model reads meaning with `meaning` (an
    `embeddings.SentenceVectors`, the store's: it holds the vectors retrieval made), if given."""
    if settings.model == "offline":
        return OfflineTutorModel(meaning=meaning)
    if settings.model == "mock":
        return MockTutorModel()
    if settings.model == "openai":
        from tutor.openai_backend import chat_model  # imported only when asked for

        return chat_model(settings)
    raise ConfigError(f"TUTOR_MODEL={settings.model!r} is unknown; use offline, mock or openai")


def model_label(model: BaseChatModel) -> str:
    return str(getattr(model, "model_name", None) or getattr(model, "model", None) or model._llm_type)
