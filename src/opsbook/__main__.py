from opsbook.cli.quick import main

raise SystemExit(main())
