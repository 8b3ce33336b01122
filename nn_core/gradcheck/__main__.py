"""``python -m nn_core.gradcheck``: the table of every layer's, loss's and penalty's check.

A package's ``__main__`` (not ``gradcheck.py`` run as a script), so that running it does
not re-execute a module ``nn_core`` has already imported (runpy's RuntimeWarning).
"""

from .._gradcheck_report import main

raise SystemExit(main())
