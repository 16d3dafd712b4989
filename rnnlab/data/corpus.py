"""Text for character models, from this Python's own docstrings; nothing is downloaded."""

import importlib
import inspect
import platform
import re
import warnings
from dataclasses import dataclass, field

from .._validate import check_positive_int

STDLIB_MODULES = (
    "argparse", "base64", "bisect", "calendar", "collections", "contextlib", "copy", "csv",
    "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools", "heapq",
    "inspect", "itertools", "json", "logging", "pathlib", "pprint", "random", "re", "shlex",
    "statistics", "string", "textwrap", "typing", "unittest", "uuid", "zipfile",
)


@dataclass
class Corpus:
    """A text corpus and where it came from.

    text : str, lower-case ASCII, one docstring per line
    sources : list of str, the modules whose docstrings are in ``text``
    n_chars : int, ``len(text)``
    n_words : int, whitespace-separated words
    """

    text: str
    sources: list
    n_chars: int
    n_words: int
    python_version: str = field(default_factory=platform.python_version)

    def describe(self):
        """One sentence giving the size and the source of the corpus."""
        return (f"{self.n_chars:,} characters ({self.n_words:,} words) from the docstrings of "
                f"{len(self.sources)} standard-library modules of Python {self.python_version} "
                f"({', '.join(self.sources)}), lower-cased ASCII.")


def _docstrings(module):
    """The module's docstring, then those of its public classes (with their methods) and
    functions defined in it, in alphabetical order."""
    docs = [module.__doc__]
    with warnings.catch_warnings():  # typing.io and typing.re warn when touched
        warnings.simplefilter("ignore")
        for name, obj in sorted(vars(module).items()):
            if name.startswith("_"):
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)):
                continue
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            docs.append(obj.__doc__)
            if inspect.isclass(obj):
                for m_name, member in sorted(vars(obj).items()):
                    if not m_name.startswith("_") and (
                            callable(member) or isinstance(member, (staticmethod, classmethod, property))):
                        docs.append(getattr(member, "__doc__", None))
    return [d for d in docs if isinstance(d, str)]


def _normalise(doc):
    """Lower-case, drop non-ASCII characters, collapse every run of whitespace to one space."""
    doc = doc.lower().encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", doc).strip()


def stdlib_corpus(max_chars=200_000):
    """Text for character-level models: docstrings of ``STDLIB_MODULES`` of this Python.

    Nothing is downloaded; the same Python version always gives the same text. Docstrings
    are normalised (:func:`_normalise`), repeated ones kept once, joined by newlines, and the
    text is cut at ``max_chars``.

    max_chars : int
    returns : :class:`Corpus`
    """
    max_chars = check_positive_int("max_chars", max_chars)
    lines, sources, seen, size = [], [], set(), 0
    for name in STDLIB_MODULES:
        if size >= max_chars:
            break
        module = importlib.import_module(name)
        for doc in _docstrings(module):
            doc = _normalise(doc)
            if not doc or doc in seen:
                continue
            seen.add(doc)
            lines.append(doc)
            size += len(doc) + 1
            if not sources or sources[-1] != name:
                sources.append(name)
            if size >= max_chars:
                break
    text = "\n".join(lines)[:max_chars]
    return Corpus(text=text, sources=sources, n_chars=len(text), n_words=len(text.split()))
