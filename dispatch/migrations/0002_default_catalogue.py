"""Load the default event catalogue (dispatch/data/catalogue.csv) into a new database.

Classes already present are left alone, so running it on a database an administrator has already
filled changes nothing. Reversing keeps the catalogue (cases point at its classes).
"""

from django.db import migrations


def load_default_catalogue(apps, schema_editor):
    from dispatch.catalogue import DEFAULT_PATH, catalogue_apply, catalogue_read

    catalogue_apply(
        catalogue_read(DEFAULT_PATH),
        major_model=apps.get_model("dispatch", "MajorClass"),
        minor_model=apps.get_model("dispatch", "MinorClass"),
    )


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0001_initial")]

    operations = [migrations.RunPython(load_default_catalogue, migrations.RunPython.noop)]
