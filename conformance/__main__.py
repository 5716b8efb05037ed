"""``python -m conformance`` is the ``b24-conformance`` command."""

from conformance.cli import main

main(prog_name="b24-conformance")
