"""Trial Tutor: a role-tailored, grounded tutor for learning from clinical trials.

The pipeline, one module per stage:
knowledge (load + split) -> store (embed + Chroma) -> retrieve (hybrid search) ->
prompting (role prompt + numbered passages) -> models (chat model) -> grounding
(citations, numeric guard) -> tutor (the chain: Tutor.ask / stream / takeaways).
"""

from tutor.errors import ConfigError, IngestError, InputError, ModelError, StoreError, TutorError
from tutor.schema import Answer, Chunk, Source, Takeaway, Takeaways

__all__ = [
    "Answer", "Chunk", "Source", "Takeaway", "Takeaways",
    "TutorError", "InputError", "ConfigError", "StoreError", "IngestError", "ModelError",
    "Tutor",
]


def __getattr__(name: str):
    # Import lazily: `tutor roles` should not pay for torch and chromadb.
    if name == "Tutor":
        from tutor.tutor import Tutor

        return Tutor
    raise AttributeError(name)
