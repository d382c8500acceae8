import sys

from voxlite.cli import main

sys.exit(main())
