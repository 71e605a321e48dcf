from django.db import models


class FleetProbe(models.Model):
    label = models.CharField(max_length=50)
    # Added by migration 0002: a column with a default, applied across the fleet.
    flagged = models.BooleanField(default=False)
