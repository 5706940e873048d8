from opsbook.cli.app import main

raise SystemExit(main())
