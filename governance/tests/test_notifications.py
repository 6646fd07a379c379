"""Notifications: the inbox rows, the email and webhook copies (with retries), and the inbox pages."""

import hashlib
import hmac
import json
import smtplib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from governance.models import AuditEntry, Notification, NotificationWebhook
from governance.notifications import notify, unread_count
from governance.roles import Role
from governance.tasks import notification_email, notification_webhook
from governance.tests.factories import UserFactory
from governance.views import INBOX_PAGE_SIZE

pytestmark = pytest.mark.django_db


# --- notify ---------------------------------------------------------------------------------------


def test_it_writes_one_inbox_row_per_active_person(db):
    alice, bob, gone = UserFactory(), UserFactory(), UserFactory(is_active=False)
    rows = notify([alice, bob, alice, None, gone], title="案件已派遣", body="详情", url="/dispatch/cases/1/",
                  kind="dispatch.event.dispatch")
    assert sorted(r.recipient_id for r in rows) == sorted([alice.pk, bob.pk])
    assert all(r.pk for r in rows)
    assert Notification.objects.filter(recipient=gone).count() == 0
    assert unread_count(alice) == 1 and unread_count(gone) == 0


def test_nobody_to_tell_writes_nothing(db):
    assert notify([], title="x") == []
    assert not Notification.objects.exists()


# --- email ----------------------------------------------------------------------------------------


def test_it_emails_a_copy_after_commit_to_those_with_an_address(db, mailoutbox, settings,
                                                                 django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://gov.example.cn"
    with_address, without = UserFactory(email="li@example.cn"), UserFactory(email="")
    with django_capture_on_commit_callbacks(execute=True):
        notify([with_address, without], title="案件超期", body="请尽快处理", url="/dispatch/cases/7/")
        assert mailoutbox == []  # nothing leaves before the rows are committed
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["li@example.cn"] and mail.subject == "案件超期"
    assert "请尽快处理" in mail.body and "https://gov.example.cn/dispatch/cases/7/" in mail.body
    assert mail.from_email == settings.DEFAULT_FROM_EMAIL


def test_an_email_is_retried_when_the_mail_server_fails(db, mailoutbox, monkeypatch):
    from django.core.mail import send_mail as real_send

    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
        return real_send(*args, **kwargs)

    monkeypatch.setattr("governance.tasks.send_mail", flaky)
    row = notify([UserFactory(email="wang@example.cn")], title="督办")[0]
    notification_email.apply(args=[row.pk])
    assert len(calls) == 3 and len(mailoutbox) == 1


def test_an_email_for_a_vanished_row_or_a_person_who_left_is_skipped(db, mailoutbox):
    person = UserFactory(email="zhao@example.cn")
    row = notify([person], title="x")[0]
    person.is_active = False
    person.save(update_fields=["is_active"])
    assert notification_email(row.pk) == "skipped"
    assert notification_email(10**9) == "skipped"
    assert mailoutbox == []


# --- webhooks -------------------------------------------------------------------------------------


class Receiver:
    """A tiny HTTP server in a thread that answers with the given statuses, in turn, and records
    what it was sent."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_webhook_receives_the_message_signed_with_its_secret(db, django_capture_on_commit_callbacks):
    person = UserFactory(full_name="李四")
    with Receiver([200]) as receiver:
        hook = NotificationWebhook.objects.create(name="指挥大屏", url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            notify([person], title="案件超期", body="请处理", url="/dispatch/cases/3/", kind="dispatch.event.overdue")
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    expected = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-gridgov-signature"], expected)
    payload = json.loads(body)
    assert payload["kind"] == "dispatch.event.overdue" and payload["title"] == "案件超期"
    assert payload["recipients"] == [{"username": person.username, "name": "李四"}]
    assert headers["content-type"].startswith("application/json")


def test_a_webhook_is_retried_on_a_server_error_with_the_same_body(db):
    row = notify([UserFactory()], title="x", kind="dispatch.event.dispatch")[0]
    with Receiver([500, 503, 200]) as receiver:
        hook = NotificationWebhook.objects.create(name="h", url=receiver.url)
        notification_webhook.apply(args=[hook.pk, [row.pk]])
    assert len(receiver.received) == 3
    bodies = {body for _, body in receiver.received}
    assert len(bodies) == 1  # a retry sends the same delivery, so the receiver can drop repeats


def test_a_webhook_that_refuses_with_4xx_is_not_retried(db):
    row = notify([UserFactory()], title="x")[0]
    with Receiver([410]) as receiver:
        hook = NotificationWebhook.objects.create(name="h", url=receiver.url)
        result = notification_webhook.apply(args=[hook.pk, [row.pk]])
    assert len(receiver.received) == 1
    assert result.get() == "refused 410"


def test_a_webhook_that_cannot_be_reached_is_retried_then_given_up(db):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    row = notify([UserFactory()], title="x")[0]
    hook = NotificationWebhook.objects.create(name="h", url=f"http://127.0.0.1:{port}/hook")
    result = notification_webhook.apply(args=[hook.pk, [row.pk]])
    assert result.failed()


def test_a_department_webhook_only_hears_of_its_own_people_and_chosen_kinds(db, tree, persona,
                                                                            django_capture_on_commit_callbacks):
    handler, operator = persona(Role.DEPARTMENT_HANDLER), persona(Role.STREET_OPERATOR)
    with Receiver([]) as receiver:
        NotificationWebhook.objects.create(name="城管局系统", url=receiver.url, department=tree.bureau,
                                           kinds="dispatch.event.dispatch, dispatch.event.overdue")
        NotificationWebhook.objects.create(name="停用", url=receiver.url, is_active=False)
        with django_capture_on_commit_callbacks(execute=True):
            notify([handler, operator], title="派遣", kind="dispatch.event.dispatch")
            notify([operator], title="只给街道", kind="dispatch.event.dispatch")
            notify([handler], title="其他类别", kind="dispatch.event.return")
    assert len(receiver.received) == 1
    payload = json.loads(receiver.received[0][1])
    assert payload["title"] == "派遣" and [r["username"] for r in payload["recipients"]] == [handler.username]


def test_a_unit_webhook_hears_of_people_in_the_unit_and_below(db, tree, persona, django_capture_on_commit_callbacks):
    inside, below, elsewhere = (persona(Role.STREET_OPERATOR, unit=tree.street_a),
                                persona(Role.COMMUNITY_STAFF, unit=tree.community_a),
                                persona(Role.STREET_OPERATOR, unit=tree.street_b))
    with Receiver([]) as receiver:
        NotificationWebhook.objects.create(name="甲街道", url=receiver.url, unit=tree.street_a, kinds="dispatch.")
        with django_capture_on_commit_callbacks(execute=True):
            notify([inside, below, elsewhere], title="派遣", kind="dispatch.event.dispatch")
    payload = json.loads(receiver.received[0][1])
    assert sorted(r["username"] for r in payload["recipients"]) == sorted([inside.username, below.username])


def test_webhook_kinds_match_exactly_or_by_prefix():
    hook = NotificationWebhook(kinds="dispatch.event.overdue, petitions.")
    assert hook.wants("dispatch.event.overdue") and hook.wants("petitions.case.filed")
    assert not hook.wants("dispatch.event.overdue_extra") and not hook.wants("dispatch.event.dispatch")
    assert NotificationWebhook(kinds="").wants("anything")


def test_the_admin_audits_a_webhook_without_its_secret(admin_client):
    response = admin_client.post("/admin/governance/notificationwebhook/add/", {
        "name": "大屏", "url": "https://screen.example.cn/hook", "secret": "s3cret-value-123", "kinds": "",
        "is_active": "on", "created_at_0": "2026-11-01", "created_at_1": "08:00:00"})
    assert response.status_code == 302, response.content
    entry = AuditEntry.objects.get(action="governance.notificationwebhook.created")
    assert "s3cret-value-123" not in json.dumps([entry.changes, entry.data])
    assert "secret" in entry.changes


# --- the inbox pages ------------------------------------------------------------------------------


@pytest.fixture
def alice(db):
    return UserFactory()


def test_the_inbox_shows_only_my_own_notifications_unread_first(client, alice):
    someone = UserFactory()
    notify([alice], title="已读的消息")
    Notification.objects.filter(recipient=alice).update(read_at=timezone.now())
    notify([alice], title="未读的消息")
    notify([someone], title="别人的消息")
    client.force_login(alice)
    body = client.get("/inbox/").content.decode()
    assert "别人的消息" not in body
    assert body.index("未读的消息") < body.index("已读的消息")


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, alice):
    row = notify([alice], title="案件", url="/departments/")[0]
    client.force_login(alice)
    response = client.get(f"/inbox/{row.pk}/")
    assert response.status_code == 302 and response["Location"] == "/departments/"
    row.refresh_from_db()
    assert row.read_at is not None


def test_a_link_off_the_site_is_not_followed(client, alice):
    row = notify([alice], title="x", url="https://evil.example.com/")[0]
    client.force_login(alice)
    assert client.get(f"/inbox/{row.pk}/")["Location"] == "/inbox/"


def test_someone_elses_notification_is_404_and_stays_unread(client, alice):
    other = notify([UserFactory()], title="别人的消息", url="/departments/")[0]
    client.force_login(alice)
    assert client.get(f"/inbox/{other.pk}/").status_code == 404
    assert client.post(f"/inbox/{other.pk}/read/").status_code == 404
    client.post("/inbox/read-all/")
    other.refresh_from_db()
    assert other.read_at is None


def test_marking_one_and_all_read(client, alice):
    first, second, third = (notify([alice], title=t)[0] for t in ("一", "二", "三"))
    client.force_login(alice)
    assert client.get(f"/inbox/{first.pk}/read/").status_code == 405  # a change needs a POST
    assert client.post(f"/inbox/{first.pk}/read/").status_code == 302
    assert unread_count(alice) == 2
    assert client.post("/inbox/read-all/").status_code == 302
    assert unread_count(alice) == 0


def test_the_top_bar_shows_the_unread_count(client, alice):
    client.force_login(alice)
    assert '<span class="badge">' not in client.get("/departments/").content.decode()
    notify([alice], title="一")
    notify([alice], title="二")
    body = client.get("/departments/", headers={"accept-language": "en"}).content.decode()
    assert 'href="/inbox/"' in body and '<span class="badge">2</span>' in body
    assert "Inbox, 2 unread" in body


def test_the_inbox_needs_a_login(client):
    response = client.get("/inbox/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_inbox_page_costs_the_same_queries_for_few_or_many(client, alice, django_assert_max_num_queries):
    notify([alice], title="一")
    client.force_login(alice)
    client.get("/inbox/")  # warm the session and the calendar of caches
    with django_assert_max_num_queries(12) as few:
        client.get("/inbox/")
    for n in range(60):
        notify([alice], title=f"消息{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/inbox/")
    assert response.content.decode().count("/read/") == INBOX_PAGE_SIZE  # one page, the rest on the next
