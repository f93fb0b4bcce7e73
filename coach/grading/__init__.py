"""Grading: an answer against a rubric, scored in code from grounded signals; the card and its feedback."""
