"""``python -m bot``: start GW2Optimizer."""

import sys

from .app import main

sys.exit(main())
