"""Taking submissions in: collecting them from an LMS export or folders, safe student ids,
safe zip extraction."""
