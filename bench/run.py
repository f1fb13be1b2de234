"""Run every benchmark in ``bench/`` (``make bench``)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import layer_call  # noqa: E402
import training  # noqa: E402
import workloads  # noqa: E402

if __name__ == "__main__":
    layer_call.main()
    print()
    training.main()
    print()
    workloads.main([])
