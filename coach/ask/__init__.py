"""`coach ask`: grounded explanations from the roadmap with section citations, or a decline."""
