"""The rows of benchmarks/explorer_speed.py: ``driver`` (the offscreen window, its mouse events, the
points, timing helpers), one module per row (``click``, ``drag``, ``grid``, ``scatter`` with pan/zoom,
``startup``, ``snapshots``, ``load``), and ``cli`` (the command line and the table). Each row module has
``run(...)`` (the measurement, a dict) and ``rows(args, env, results)`` (its lines of the table)."""
