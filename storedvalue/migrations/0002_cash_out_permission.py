from django.db import migrations


def grant(apps, schema_editor):
    """Clinics provisioned before stored value get the cash-out permission for owners and managers
    (new clinics get it from accounts.roles at provisioning)."""
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    group_model = apps.get_model("auth", "Group")
    content_type, _created = content_type_model.objects.get_or_create(app_label="storedvalue",
                                                                      model="storedvaluesettings")
    permission, _created = permission_model.objects.get_or_create(
        content_type=content_type, codename="cash_out_card",
        defaults={"name": "Can cash out a member's stored-value card"})
    for group in group_model.objects.filter(name__in=["owner", "manager"]):
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("storedvalue", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
