"""`python -m archivesync`: the same command as the `archivesync` script."""

from .cli import main

main()
