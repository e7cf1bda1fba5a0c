"""Benchmarks; a package so that worker processes can import `bench.bus_throughput:module`."""
