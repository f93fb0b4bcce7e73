from coach.corpus.loader import load_corpus
from coach.corpus.markdown import pack_blocks, parse_heading, parse_markdown, split_blocks


def test_section_ids_on_tricky_headings():
    assert parse_heading("Section 3 — Networking") == ("3", "Networking")
    assert parse_heading("Section 12 - Databases") == ("12", "Databases")
    assert parse_heading("3.10 VPN") == ("3.10", "VPN")
    assert parse_heading("23.10 Expert Interview Questions") == ("23.10", "Expert Interview Questions")
    assert parse_heading("Level 2 — Advanced (Kubernetes Packet Flow)")[0] is None
    assert parse_heading("AWS Global Infrastructure")[0] is None


def test_chunks_carry_section_title_and_heading_path(corpus_dir):
    doc = parse_markdown((corpus_dir / "roadmap.md").read_text(), "roadmap.md", 120)
    by_text = {c.text.splitlines()[0]: c for c in doc.chunks}
    teardown = next(c for c in doc.chunks if "4-way teardown" in c.text)
    assert teardown.section == "1.1"
    assert teardown.title == "TCP Deep Dive"
    assert teardown.heading_path == ("Section 1 — Networking", "1.1 TCP Deep Dive", "Level 1 — Intermediate")
    assert teardown.level == 1
    intro = by_text["Networking is how machines talk."]
    assert intro.section == "1" and intro.title == "Networking"
    assert teardown.contextual_text.startswith("Section 1 — Networking > 1.1 TCP Deep Dive > Level 1")


def test_bullets_never_split_from_sub_bullets(corpus_dir):
    doc = parse_markdown((corpus_dir / "roadmap.md").read_text(), "roadmap.md", 20)
    for c in doc.chunks:
        lines = c.text.splitlines()
        # a chunk never starts with a sub-bullet: its parent line comes first
        assert not lines[0].startswith("  "), c.text
    parts = [c for c in doc.chunks if "TIME_WAIT` purpose" in c.text or "CLOSE_WAIT" in c.text]
    assert parts and all(c.text.startswith("- **4-way teardown**:") for c in parts)


def test_split_blocks_keeps_code_and_blank_lines_inside_items():
    lines = ["- **S3 backend**:", "  ```", "  bucket = \"x\"", "", "  ```", "- next item", "", "A paragraph", "line two"]
    blocks = split_blocks(lines)
    assert blocks == [["- **S3 backend**:", "  ```", "  bucket = \"x\"", "", "  ```"], ["- next item"],
                      ["A paragraph", "line two"]]


def test_pack_blocks_respects_the_bound_and_order():
    blocks = [[f"- item {i} " + "word " * 8] for i in range(10)]
    texts = pack_blocks(blocks, 25)
    assert all(len(t.split()) <= 25 for t in texts)
    assert "\n".join(texts).count("- item") == 10
    assert texts[0].startswith("- item 0")


def test_oversized_item_is_cut_between_sub_bullets_and_repeats_its_parent():
    block = ["- **Parent**:"] + [f"  - sub {i} " + "w " * 10 for i in range(6)]
    texts = pack_blocks([block], 30)
    assert len(texts) > 1
    assert all(t.startswith("- **Parent**:") for t in texts)
    assert sum(t.count("  - sub") for t in texts) == 6


def test_headings_inside_code_fences_are_not_headings():
    md = "## Section 1 — A\n### 1.1 B\n```\n# not a heading\n```\n- x\n"
    doc = parse_markdown(md, "r.md", 100)
    assert [s.id for s in doc.sections] == ["1", "1.1"]
    assert "# not a heading" in doc.chunks[0].text


def test_questions_and_labs_are_extracted_with_numbers(corpus_dir):
    doc = parse_markdown((corpus_dir / "roadmap.md").read_text(), "roadmap.md", 120)
    assert [(q.id, q.section, q.topic) for q in doc.questions] == [("1.3#1", "1.3", "1"), ("1.3#2", "1.3", "1")]
    assert doc.questions[0].text == "Explain the TCP 3-way handshake."
    assert [lab.id for lab in doc.labs] == ["2.2#1", "2.2#2"]
    assert doc.labs[1].text == "Tune kernel parameters for 10K connections"


def test_other_markdown_files_are_indexed_and_ids_stay_unique(corpus_dir):
    (corpus_dir / "extra.md").write_text("# Extra\n## Section 1 — Clash\n- **x**: y\n")
    corpus = load_corpus(corpus_dir, 120)
    ids = [s.id for s in corpus.sections]
    assert len(ids) == len(set(ids))
    assert "extra:1" in ids
    assert any(c.source == "notes.md" and "Consumer groups" in c.text for c in corpus.chunks)
    assert corpus.chunks[0].source == "roadmap.md"  # the roadmap comes first


def test_chunk_ids_are_stable_and_content_addressed(corpus_dir):
    a = load_corpus(corpus_dir, 120)
    b = load_corpus(corpus_dir, 120)
    assert [c.id for c in a.chunks] == [c.id for c in b.chunks]
    assert len({c.id for c in a.chunks}) == len(a.chunks)


def test_real_roadmap_counts():
    from pathlib import Path

    from coach.config import ChunkingConfig
    from coach.corpus.markdown import estimate_tokens

    bound = ChunkingConfig().max_tokens
    corpus = load_corpus(Path(__file__).parent.parent / "corpus", bound)
    top = [s for s in corpus.sections if s.parent is None and s.source == "roadmap.md"]
    assert len(top) == 23
    assert len(corpus.questions) >= 300
    assert len(corpus.labs) >= 190
    assert max(estimate_tokens(c.text) for c in corpus.chunks if c.kind == "roadmap") <= bound
    keys = [c for c in corpus.chunks if c.kind == "key"]  # one per answer key, under its subsection
    assert len(keys) == len(corpus.keys) == len(corpus.questions)
    assert {c.section for c in keys} <= {s.id for s in corpus.sections}
