"""A clinic app that exists only for the fleet benchmark (bench_fleet.py): its migrations are a
real change to apply across every clinic. It is installed only by bench/fleet_settings.py."""
