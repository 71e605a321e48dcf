def test_health_counts_the_running_worker(celery_worker_process, anon_client):
    response = anon_client.get("/health/")

    assert response.status_code == 200
    assert response.json()["checks"]["workers"] == {"ok": True, "workers": 1}
