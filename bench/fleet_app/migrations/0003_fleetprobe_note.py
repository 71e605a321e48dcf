from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("fleet_app", "0002_fleetprobe_flagged")]
    operations = [
        migrations.AddField(model_name="fleetprobe", name="note",
                            field=models.CharField(max_length=50, default="")),
    ]
