"""Keep torch on one thread: the machine's two cores are shared by several test runs."""

import torch

torch.set_num_threads(1)
