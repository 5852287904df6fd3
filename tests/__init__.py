"""The test suite, as a package so worker processes can import activity modules by name."""
