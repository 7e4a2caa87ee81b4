from samerun.cli import main

main()
