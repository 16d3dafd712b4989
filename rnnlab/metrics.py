"""Entity-level scores for BIO tagging (slot filling), as the CoNLL ``conlleval`` script counts.

Taught in the book's chapter on bidirectional RNNs (``book/06_bidirectional``) and in the
capstone. Per-word accuracy flatters a tagger (most words are ``O``), so slot filling is
scored on whole spans: a predicted span counts only when its label and both boundaries
equal a true span.

BIO: ``B-X`` begins a span of label ``X``, ``I-X`` continues it, ``O`` is outside. As in
``conlleval``, an ``I-X`` that does not follow ``B-X`` or ``I-X`` starts a new span.
"""

__all__ = ["entity_spans", "entity_f1"]


def _split(tag, position):
    """``(prefix, label)`` of a BIO tag; ``("O", None)`` for ``O``."""
    if tag == "O":
        return "O", None
    if not isinstance(tag, str) or len(tag) < 3 or tag[:2] not in ("B-", "I-"):
        raise ValueError(f"tags[{position}] must be 'O', 'B-<label>' or 'I-<label>', got {tag!r}")
    return tag[0], tag[2:]


def entity_spans(tags):
    """Spans of a BIO tag sequence.

    tags : sequence of L str
    returns : set of ``(label, start, end)`` with ``end`` exclusive, so the span's words are
        ``tokens[start:end]``
    """
    if isinstance(tags, str):
        raise ValueError(f"tags must be a sequence of tag strings, got the string {tags!r}")
    spans = set()
    label, start = None, None
    for t, tag in enumerate(list(tags) + ["O"]):  # a final O closes an open span
        prefix, lab = _split(tag, t)
        continues = prefix == "I" and lab == label
        if label is not None and not continues:
            spans.add((label, start, t))
            label = None
        if prefix == "B" or (prefix == "I" and not continues):
            label, start = lab, t
    return spans


def entity_f1(true_tags, pred_tags):
    """Micro-averaged entity precision, recall and F1 over a corpus.

    true_tags, pred_tags : lists of S tag sequences; sentence ``s`` has the same length L_s
        in both
    returns : dict with ``precision``, ``recall``, ``f1`` (floats; 0.0 when undefined) and the
        counts ``n_true``, ``n_pred``, ``n_correct``
    """
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"true_tags and pred_tags must hold the same number of sentences, "
                         f"got {len(true_tags)} and {len(pred_tags)}")
    n_true = n_pred = n_correct = 0
    for s, (true, pred) in enumerate(zip(true_tags, pred_tags)):
        if isinstance(true, str) or isinstance(pred, str):
            raise ValueError(f"true_tags[{s}] and pred_tags[{s}] must be tag sequences, "
                             f"not strings (pass a list of sentences)")
        if len(true) != len(pred):
            raise ValueError(f"true_tags[{s}] has {len(true)} tags but pred_tags[{s}] has "
                             f"{len(pred)}: every sentence needs one tag per word in both")
        t_spans, p_spans = entity_spans(true), entity_spans(pred)
        n_true += len(t_spans)
        n_pred += len(p_spans)
        n_correct += len(t_spans & p_spans)
    precision = n_correct / n_pred if n_pred else 0.0
    recall = n_correct / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "n_true": n_true, "n_pred": n_pred, "n_correct": n_correct}
