"""``python -m autoencoders``: the command-line tool of ``autoencoders.cli``.

With no command it trains the classic MNIST autoencoder and writes results/classic/.
"""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
