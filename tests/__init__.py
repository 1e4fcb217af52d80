"""Test suite (a package so pytest puts the project root, not tests/, on sys.path)."""
