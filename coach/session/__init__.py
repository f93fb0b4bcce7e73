"""Practice sessions: the question bank, the interview loop, its events, and the store that keeps them."""
