import datetime

from django.db import migrations


def default_working_periods(apps, schema_editor):
    WorkingPeriod = apps.get_model("governance", "WorkingPeriod")
    if not WorkingPeriod.objects.exists():
        WorkingPeriod.objects.bulk_create(
            [
                WorkingPeriod(start=datetime.time(8, 30), end=datetime.time(12, 0)),
                WorkingPeriod(start=datetime.time(14, 0), end=datetime.time(17, 30)),
            ]
        )


# On PostgreSQL the audit table refuses UPDATE and DELETE at the database itself, so that no code
# path (raw SQL, a careless bulk update) can rewrite history.
AUDIT_GUARD = """
CREATE OR REPLACE FUNCTION governance_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'governance_auditentry is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_auditentry_append_only
    BEFORE UPDATE OR DELETE ON governance_auditentry
    FOR EACH ROW EXECUTE FUNCTION governance_audit_append_only();
"""
AUDIT_GUARD_REVERSE = """
DROP TRIGGER IF EXISTS governance_auditentry_append_only ON governance_auditentry;
DROP FUNCTION IF EXISTS governance_audit_append_only();
"""


def audit_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(AUDIT_GUARD)


def audit_guard_reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(AUDIT_GUARD_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]

    operations = [
        migrations.RunPython(default_working_periods, migrations.RunPython.noop),
        migrations.RunPython(audit_guard, audit_guard_reverse),
    ]
