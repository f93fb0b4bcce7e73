"""Offline evaluation suites (retrieval, grading, RAGAS) and the regression gate."""
