"""Speed scripts (not tests): ``python -m benchmarks`` prints the suite's figures."""
