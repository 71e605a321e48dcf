from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("fleet_app", "0001_initial")]
    operations = [
        migrations.AddField(model_name="fleetprobe", name="flagged",
                            field=models.BooleanField(default=False)),
    ]
