"""Trial Tutor: a role-tailored, grounded tutor for learning from clinical trials.

The pipeline, one module per stage:
knowledge (load + split) -> store (embed + Chroma) -> retrieve (hybrid search) ->
prompting (role prompt + numbered passages) -> models (chat model) -> grounding
(citations, numeric guard) -> tutor (the chain: Tutor.ask / stream / takeaways).
"""

from tutor.errors import ConfigError, IngestError, InputError, ModelError, StoreError, TutorError

__all__ = [
    "Answer", "Chunk", "Source", "Takeaway", "Takeaways",
    "TutorError", "InputError", "ConfigError", "StoreError", "IngestError", "ModelError",
    "Tutor",
]


_SCHEMA = ("Answer", "Chunk", "Source", "Takeaway", "Takeaways")


def __getattr__(name: str):
    # Import lazily: `tutor roles` should not pay for chromadb, onnxruntime, or pydantic's models.
    if name == "Tutor":
        from tutor.tutor import Tutor

        return Tutor
    if name in _SCHEMA:
        from tutor import schema

        return getattr(schema, name)
    raise AttributeError(name)
