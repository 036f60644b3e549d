"""Other projects' dashboard backends, driven by the same harness as ours (``bench/stream_bench.py --cases peers``)."""
