"""Taking submissions in: collecting them from an LMS export or folders (ids made safe by
autograder.ids), safe zip extraction."""
