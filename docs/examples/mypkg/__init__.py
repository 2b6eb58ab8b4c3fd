"""An application's own checks, as a team writes them (the docs include these files)."""
