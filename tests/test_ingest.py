"""`tutor ingest`: idempotent, replaces edited documents, drops deleted ones, survives bad files."""

import os

import pytest

from tests.conftest import ROOT, run_cli
from tutor.errors import StoreError
from tutor.store import Store

TEXT = (ROOT / "knowledge" / "emilia-trial-summary.txt").read_text(encoding="utf-8")


def ids_of(store, document):
    chunks, _ = store.chunks()
    return {c.id for c in chunks if c.document == document}


def test_ingest_twice_changes_nothing(make_settings):
    settings = make_settings()
    (settings.knowledge_dir / "emilia.md").write_text(TEXT, encoding="utf-8")
    store = Store(settings)
    first = store.ingest()
    second = store.ingest()
    assert first.added == first.total > 20
    assert (second.added, second.removed, second.total) == (0, 0, first.total)


def test_a_new_way_of_chunking_replaces_every_chunk_with_what_it_now_knows(make_settings, monkeypatch):
    """A release that changes how pages are cut (or what a chunk knows of itself) raises the chunking's version: a store
    synced under it replaces every chunk, so no chunk keeps what the old chunking knew; a chunk's id is no longer the
    same text only. Every piece of a guided-discussion item knows the question it answers, the key response cut away
    from its question too."""
    import tutor.knowledge
    import tutor.knowledge_files

    settings = make_settings()
    (settings.knowledge_dir / "emilia-trial-summary.txt").write_text(TEXT, encoding="utf-8")
    store = Store(settings)
    first = store.ingest()
    before = ids_of(store, "emilia-trial-summary.txt")
    discussion = [c for c in store.chunks()[0] if c.kind == "discussion"]
    assert discussion and all(c.asks and c.role for c in discussion)
    assert any(not c.text.startswith("Question:") for c in discussion)  # a key response cut from its question
    monkeypatch.setattr(tutor.knowledge_files, "CHUNKING", tutor.knowledge_files.CHUNKING + 1)
    monkeypatch.setattr(tutor.knowledge, "CHUNKING", tutor.knowledge_files.CHUNKING)
    report = store.ingest()
    assert report.added == report.removed == first.total
    assert not before & ids_of(store, "emilia-trial-summary.txt")


def test_edited_document_replaces_its_chunks_and_deleted_document_goes(make_settings):
    settings = make_settings()
    kb = settings.knowledge_dir
    (kb / "emilia.md").write_text(TEXT, encoding="utf-8")
    (kb / "extra.md").write_text("# Extra\n\nThe CLEOPATRA note says pertuzumab helped.\n", encoding="utf-8")
    store = Store(settings)
    store.ingest()
    before = ids_of(store, "extra.md")
    (kb / "extra.md").write_text("# Extra\n\nA rewritten note about MARIANNE.\n", encoding="utf-8")
    report = store.ingest()
    after = ids_of(store, "extra.md")
    assert after and not (before & after) and report.removed == len(before)
    chunks, _ = store.chunks()
    assert not any("CLEOPATRA note" in c.text for c in chunks)
    (kb / "extra.md").unlink()
    store.ingest()
    assert ids_of(store, "extra.md") == set()
    assert ids_of(store, "emilia.md")


def test_bad_files_are_named_and_the_rest_still_ingests(make_settings):
    settings = make_settings()
    kb = settings.knowledge_dir
    (kb / "emilia.md").write_text(TEXT, encoding="utf-8")
    store = Store(settings)
    store.ingest()
    kept = store.count()
    (kb / "empty.md").write_text("   \n", encoding="utf-8")
    (kb / "binary.md").write_bytes(b"\x00\x01\x02 PNG")
    (kb / "latin1.txt").write_bytes("Caf\xe9 au lait".encode("latin-1"))
    locked = kb / "locked.md"
    locked.write_text("secret", encoding="utf-8")
    os.chmod(locked, 0)
    (kb / "good.md").write_text("# Good\n\nA readable note on TH3RESA.\n", encoding="utf-8")
    report = store.ingest()
    joined = "\n".join(report.errors)
    assert "empty.md" in joined and "is empty" in joined
    assert "binary.md" in joined and "binary" in joined
    assert "latin1.txt" in joined and "UTF-8" in joined
    if os.geteuid() != 0:  # root reads any file
        assert "locked.md" in joined
    assert ids_of(store, "good.md")
    assert store.count() >= kept + 1  # nothing it had was lost


def test_a_broken_edit_keeps_the_documents_old_chunks(make_settings):
    settings = make_settings()
    kb = settings.knowledge_dir
    (kb / "note.md").write_text("# Note\n\nTH3RESA enrolled pretreated patients.\n", encoding="utf-8")
    store = Store(settings)
    store.ingest()
    before = ids_of(store, "note.md")
    (kb / "note.md").write_bytes(b"\xff\xfe broken")
    report = store.ingest()
    assert report.errors and ids_of(store, "note.md") == before


def test_collection_refuses_vectors_of_another_embedding_model(make_settings):
    settings = make_settings()
    store = Store(settings)
    store.collection.modify(metadata={"embedding_model": "some-other-model"})
    with pytest.raises(StoreError, match="some-other-model"):
        Store(settings)


def test_cli_ingest_reports_counts_and_names_bad_files(make_settings):
    settings = make_settings()
    kb = settings.knowledge_dir
    (kb / "emilia.md").write_text(TEXT, encoding="utf-8")
    (kb / "empty.md").write_text("", encoding="utf-8")
    env = {"TUTOR_DATA_DIR": str(settings.data_dir), "TUTOR_KNOWLEDGE_DIR": str(kb)}
    first = run_cli("ingest", env=env)
    assert first.returncode == 2
    assert "empty.md" in first.stderr and "Traceback" not in first.stderr
    (kb / "empty.md").unlink()
    second = run_cli("ingest", env=env)
    assert second.returncode == 0, second.stderr
    assert "0 chunk(s) added, 0 removed" in second.stdout


def test_the_store_builds_itself_and_follows_an_edited_knowledge_folder(make_settings):
    from tutor.tutor import Tutor

    settings = make_settings()
    kb = settings.knowledge_dir
    (kb / "emilia.md").write_text(TEXT, encoding="utf-8")
    first = Tutor(settings)  # empty store: built on first use
    assert first.store.count() > 20
    question = "How many patients did TUTORTEST enrol?"  # a made-up trial the knowledge does not hold
    assert first.ask(question, "fellow").in_scope is False
    (kb / "tutortest.md").write_text(
        "---\ntitle: TUTORTEST notes\ntrial: TUTORTEST\n---\n# TUTORTEST notes\n\nTUTORTEST enrolled 602 patients.\n",
        encoding="utf-8",
    )
    second = Tutor(settings)  # knowledge changed: rebuilt before the first question
    answer = second.ask(question, "fellow")
    assert "602" in answer.answer
    assert any(s.document == "tutortest.md" for s in answer.sources if s.id in answer.citations)



def test_a_write_through_any_store_on_the_folder_changes_the_revision_others_read(make_settings, tmp_path):
    # The embedded store's revision is read again only when its database file changed: a write through
    # another Store on the same folder (a second tutor, the bench's rebuild) must still be seen at once.
    settings = make_settings()
    (settings.knowledge_dir / "emilia.md").write_text(TEXT, encoding="utf-8")
    reader, writer = Store(settings), Store(settings)
    writer.ingest()
    seen = reader.revision()
    assert seen is not None and reader.revision() == seen == writer.revision()
    for n in (1, 2):
        (settings.knowledge_dir / "extra.md").write_text(f"# Extra\n\nNote {n} about MARIANNE.\n", encoding="utf-8")
        writer.ingest()
        assert reader.revision() != seen
        seen = reader.revision()
        assert seen == writer.revision()
