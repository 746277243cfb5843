"""Root of the test suite: registers the server fixtures once for every test folder."""

pytest_plugins = ["tests.servers.fixtures"]
