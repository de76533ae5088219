"""Demo workspace: the shop database generator and its documents."""
