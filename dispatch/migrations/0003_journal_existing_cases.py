"""Every case that exists before the change journal gets one record, so a client's first sync
(from no cursor) receives every case."""

from django.db import migrations


def journal_existing(apps, schema_editor):
    Event = apps.get_model("dispatch", "Event")
    ChangeRecord = apps.get_model("governance", "ChangeRecord")
    rows = Event.objects.order_by("pk").values_list("pk", "unit_path", "owner_path", "department_id")
    batch = []
    for pk, unit_path, owner_path, department_id in rows.iterator(chunk_size=5000):
        batch.append(ChangeRecord(model="dispatch.event", object_id=pk, op="upsert", unit_path=unit_path,
                                  owner_path=owner_path, department_id=department_id))
        if len(batch) >= 5000:
            ChangeRecord.objects.bulk_create(batch)
            batch = []
    ChangeRecord.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0002_default_catalogue"),
        ("governance", "0007_api_clients_sync_webhooks"),
    ]

    operations = [migrations.RunPython(journal_existing, migrations.RunPython.noop)]
