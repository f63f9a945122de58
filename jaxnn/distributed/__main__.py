"""``python -m jaxnn.distributed --local-processes K -- PROGRAM ARGS...``: the local
launcher (:func:`jaxnn.distributed.main`).

A module of its own, so that ``python -m`` runs a module that ``import jaxnn`` has
not imported already (runpy warns about those with a ``RuntimeWarning``).
"""

import sys

from jaxnn.distributed import main

if __name__ == "__main__":
    sys.exit(main())
