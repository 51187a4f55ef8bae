from butfor.cli import main

main()
