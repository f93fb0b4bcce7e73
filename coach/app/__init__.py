"""The Gradio app: the page, its callbacks, and what the chat shows."""
