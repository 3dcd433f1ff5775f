"""Doctest collection of the package: an optional extra's module is skipped when the extra is not installed."""

import importlib.util

collect_ignore = [path for path, extra in (("libya_nlp/integrations/ray.py", "ray"),
                                           ("libya_nlp/integrations/datasets.py", "datasets"))
                  if importlib.util.find_spec(extra) is None]
