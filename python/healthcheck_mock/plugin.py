"""pytest plugin: fixtures that start mock-executor for a test.

    pytest_plugins = ["healthcheck_mock.plugin"]     # top-level conftest.py

    def test_my_client_retries(mock_executor):
        mock_executor.set_status("", "NOT_SERVING")
        ...

    def test_flapping(mock_executor_factory):
        mock = mock_executor_factory("--timeline", "SERVING:1s,NOT_SERVING:1s", "--repeat")

The binary: $HC_MOCK_EXECUTOR, $HC_BUILD/mock_executor/mock-executor, the
repository's build/, or mock-executor on PATH. Each mock listens on free
127.0.0.1 ports and is stopped by its pid at teardown; a mock that had to be
killed, or exited non-zero, fails the test.
"""

import pytest

from .mock import MockExecutor


@pytest.fixture
def mock_executor_factory():
    """mock_executor_factory(*flags, grpc=True, http=False, admin=True) -> MockExecutor."""
    started = []

    def start(*flags, **kw):
        mock = MockExecutor.start(*flags, **kw)
        started.append(mock)
        return mock

    yield start
    problems = []
    for mock in started:
        code = mock.stop()
        if code != 0:
            problems.append(f"mock-executor (pid {mock.pid}) exited {code}: "
                            f"{mock.stderr()[-2000:]}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def mock_executor(mock_executor_factory):
    """A mock-executor with a gRPC listener and the control API; "" SERVING."""
    return mock_executor_factory()
