"""healthcheck_mock: drive mock-executor from Python tests.

    from healthcheck_mock import MockExecutor
    with MockExecutor.start("--status", "foo=NOT_SERVING") as mock:
        channel = grpc.insecure_channel(mock.grpc_target)
        ...
        mock.set_status("foo", "SERVING")

As a pytest plugin (fixtures `mock_executor` and `mock_executor_factory`):
put python/ on sys.path and add `pytest_plugins = ["healthcheck_mock.plugin"]`
to the top-level conftest.py, or run `pytest -p healthcheck_mock.plugin`.
"""

from .mock import MockExecutor, MockExecutorError, Unsupported, find_binary

__all__ = ["MockExecutor", "MockExecutorError", "Unsupported", "find_binary"]
