"""Settings for the whole test suite.

One BLAS thread per process: the machine has 2 cores, and multithreaded OpenBLAS made the
small matrix products of rnnlab about ten times slower here. Set before numpy is imported.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
