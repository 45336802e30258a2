"""``python -m dupopt`` runs the command line."""

from dupopt.cli import main

main()
