"""The load test: the example site under gunicorn on PostgreSQL and Redis (bench/load/run.sh)."""
