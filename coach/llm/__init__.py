"""Language models: the chat Protocol and its llama.cpp and OpenAI-compatible backends, the yes/no judge, the packaged GGUF."""
