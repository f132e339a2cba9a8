"Test-wide settings: one torch thread (the notebooks' models are small, and on a busy 2-core machine one thread is faster)."
import os

import torch

torch.set_num_threads(int(os.environ.get('REGEN_NB_TEST_THREADS', '1')))
