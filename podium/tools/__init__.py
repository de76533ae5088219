"""What experts act on: SQL databases and documents."""
