"""One module per `neurocosim` subcommand, each with `register(subparsers)`."""
