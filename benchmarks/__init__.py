"""Side-by-side benchmarks of minigrad against its peers (run ``python -m benchmarks --help``)."""
