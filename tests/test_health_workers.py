import pytest
from django.core.cache import cache

from clinic_loyalty.health import WORKERS_KEY


@pytest.fixture
def workers_unknown():
    """No worker count kept from an earlier test's probe."""
    cache.delete(WORKERS_KEY)
    yield
    cache.delete(WORKERS_KEY)


def test_health_counts_the_running_worker(workers_unknown, celery_worker_process, anon_client):
    response = anon_client.get("/health/")

    assert response.status_code == 200
    assert response.json()["checks"]["workers"] == {"ok": True, "workers": 1}


def test_health_pings_the_workers_once_in_a_while_not_on_every_probe(workers_unknown, anon_client, monkeypatch):
    from clinic_loyalty import health

    pings = []
    real_ping = health._ping_workers
    monkeypatch.setattr(health, "_ping_workers", lambda: pings.append(1) or real_ping())

    first = anon_client.get("/health/").json()["checks"]["workers"]
    for _probe in range(5):
        assert anon_client.get("/health/").json()["checks"]["workers"] == first
    assert len(pings) == 1
    # once the count is no longer fresh, the next probe pings again
    cache.delete(WORKERS_KEY)
    anon_client.get("/health/")
    assert len(pings) == 2
