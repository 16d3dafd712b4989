"""The notes' first character task: read "hello", output "ohlol" (``book/03_rnn_cell``)."""

from ..encoding import Vocab

def hello_ohlol():
    """The notes' task: read "hello", output "ohlol", one character per step.

    returns : vocab (the notes' dictionary e, h, l, o at indices 0..3, no unknown slot),
        x_idx ndarray (5,) int64 for "hello", y_idx ndarray (5,) int64 for "ohlol"
    """
    # Distinct characters each seen once sort alphabetically, as in the notes.
    vocab = Vocab(sorted(set("hello")), unk=None)
    return vocab, vocab.encode("hello"), vocab.encode("ohlol")
