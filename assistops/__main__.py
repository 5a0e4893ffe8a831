"""``python -m assistops`` runs the CLI."""

from assistops.cli.main import main

if __name__ == "__main__":
    main()
