"""Hostile input: every mistake a user can make gets exit 2 and one line
naming the input, no traceback, and no file of theirs changed (issue 18)."""
