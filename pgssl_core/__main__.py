"""Entry point for ``python -m pgssl_core``."""

import sys

from pgssl_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
