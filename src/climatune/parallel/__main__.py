"""python -m climatune.parallel: see climatune.parallel.launch."""

from .launch import main

raise SystemExit(main())
