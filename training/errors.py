"""The error every data reader raises: one class, so that command lines catch one thing.

>>> str(DataError("train.jsonl:3: missing \\"text\\""))
'train.jsonl:3: missing "text"'
"""

from __future__ import annotations


class DataError(ValueError):
    """A data file that cannot be read; the message names the file and line and what to do."""
