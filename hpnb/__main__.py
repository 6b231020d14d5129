from hpnb.cli import main

raise SystemExit(main())
