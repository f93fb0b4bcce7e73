"""The corpus: the roadmap read into sections, chunks, interview questions and labs; the answer keys; the tokenizer."""
