"""`python -m shop.seed`: see shop.seed.cli."""

import sys

from shop.seed.cli import main

sys.exit(main())
