from django.db import models


class FleetProbe(models.Model):
    label = models.CharField(max_length=50)
    # Each added by a migration with a default, applied across the fleet (0002, 0003).
    flagged = models.BooleanField(default=False)
    note = models.CharField(max_length=50, default="")
