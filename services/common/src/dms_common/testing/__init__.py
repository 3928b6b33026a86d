"""In-memory fakes of the shared ports, for services' unit tests."""
