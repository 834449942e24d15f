"""Set-up shared by the whole test session (tests/ and the notebooks that nbval runs).

pyproject's addopts run one pytest-xdist worker per core. Left alone, each worker and every notebook
kernel it starts would also use every core for torch's threads; more OpenMP threads than cores spin and
slow everything down (measured: the test command took as long on two workers as on one). So each worker,
and the kernels it starts, get their share of the cores, unless OMP_NUM_THREADS was set by the caller.
"""

import os


def pytest_configure(config):
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        import torch

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, cores // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)  # inherited by the notebook kernels
        torch.set_num_threads(threads)
