"""Integrations with data tools that are optional extras (``pip install 'libya-nlp[datasets]'``)."""
