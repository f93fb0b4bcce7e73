"""Section resolution by id, by name, and the error for an unknown one."""

import pytest

from coach.corpus.sections import in_section, nearest, resolve_section
from coach.errors import UnknownSectionError, UsageError
from coach.types import Section

SECTIONS = [Section("3", "Networking"), Section("3.1", "TCP/IP Deep Dive", "3"), Section("3.3", "DNS", "3"),
            Section("3.17", "Interview Questions — Networking", "3"), Section("6", "Kubernetes"),
            Section("6.4", "Networking — CNI Deep Dive", "6"), Section("6.12", "Interview Questions — Kubernetes", "6"),
            Section("10", "Monitoring and Observability"), Section("23.4", "Expert Observability", "23"),
            Section("23", "Expert Level Mastery")]


@pytest.mark.parametrize("text, want", [
    ("6.4", "6.4"), ("6.4.", "6.4"), ("Section 6", "6"), ("  3.17 ", "3.17"),
    ("kubernetes networking", "6.4"), ("Kubernets Networking", "6.4"), ("k8s networking", "6.4"),
    ("dns", "3.3"), ("tcp", "3.1"), ("networking", "3"), ("observability", "10"),
    ("kubernetes interview questions", "6.12"),
])
def test_resolves_ids_and_names(text, want):
    assert resolve_section(text, SECTIONS).id == want


def test_heading_text_is_a_fallback_for_names():
    assert resolve_section("coredns", SECTIONS, {"6.4": ["CoreDNS"]}).id == "6.4"


@pytest.mark.parametrize("text", ["6.99", "cooking recipes", "", "99"])
def test_unknown_section_lists_the_nearest_first(text):
    with pytest.raises(UnknownSectionError) as e:
        resolve_section(text, SECTIONS)
    assert isinstance(e.value, UsageError) and e.value.exit_code == 2
    msg = str(e.value)
    assert "6 Kubernetes" in msg and "3 Networking" in msg  # the valid top-level sections are listed


def test_nearest_orders_ids_by_closeness():
    assert [s.id for s in nearest("6.5", SECTIONS, 2)] == ["6.4", "6"]


def test_interview_question_subsections_belong_to_their_parent():
    assert in_section("6.12", "6") and in_section("6.4", "6") and not in_section("16.1", "6")
    assert not in_section("6", "6.4")
