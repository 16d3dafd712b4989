"""rnnlab: numpy reference implementations for the recurrent neural networks course.

Notation, used in every docstring, the book and the assignments:

    T  time steps          N  batch size         D  input features
    H  hidden units        V  vocabulary size    E  embedding width
    K  output classes

Sequences are time-major, ``(T, N, D)``, as PyTorch's default layout. Weights keep
PyTorch's names and shapes (``W_ih (H, D)``, ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)``),
so :mod:`rnnlab.torch_bridge` copies them without a transpose. Arrays are float64.

The public API is listed in ``docs/architecture.md``.
"""

__version__ = "0.1.0"
