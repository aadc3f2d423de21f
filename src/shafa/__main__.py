"""`python -m shafa` is the `shafa` command."""

from shafa.cli import main

main()
