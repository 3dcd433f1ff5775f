"""Training, evaluation and corpus tools for libya_nlp (not needed for inference)."""
