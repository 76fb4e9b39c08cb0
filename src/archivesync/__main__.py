"""`python -m archivesync`: the same command as the `archivesync` script."""

from archivesync.cli import main

main()
