import sys

from imgspec.cli import main

sys.exit(main())
