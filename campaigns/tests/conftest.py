from messaging.tests.conftest import make_member  # noqa: F401
