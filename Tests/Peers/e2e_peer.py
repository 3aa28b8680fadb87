"""People with encrypting clients (matrix-nio on vodozemac) who talk to the bot in encrypted rooms.

Run by MatrixEncryptionTests with the test venv's Python:
    e2e_peer.py HOMESERVER SHARED_SECRET BOT_USER_ID TAG WORKDIR [BOT_COMMAND_JSON]
With BOT_COMMAND_JSON ({"argv": [...], "env": {...}, "log": path, "say": [[person, text], ...]}) it runs
the crash scenario instead (`crash` below): it starts the bot itself, to SIGKILL it after each line alice
and bob say, at moments of its choosing. With
`BOT_COMMAND_JSON restart` it runs `restart_and_report` below: reports as encrypted files, read back by a
person, and a device added while the bot is stopped. With `send` there, it runs `send` below: a
facilitator's `!send` in an encrypted room, each member answering their own run.
It registers alice and bob, has alice open an encrypted group room (with bob and the bot) and an
encrypted direct chat with the bot, and checks that `!help` and a dialogue step are answered there and
that every answer decrypts for each member; that carol, who joins later, and alice's second device read
the bot's new messages; that once bob leaves, the bot writes with a new session bob never gets; and that a
message whose room key reaches the bot late is answered once the key arrives, and one whose key never
comes is pointed out to its sender after the grace period (the bot runs with a short one). It prints `ok: ...` lines as it goes, then one
`RESULT {json}` line (room and event ids, for the Swift test's own checks), and exits 0; on any
failure it prints `FAIL: ...` and exits 1.
"""

import asyncio
import csv
import hashlib
import io
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from nio.crypto.attachments import decrypt_attachment
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomSendResponse,
)

TIMEOUT = 90


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def register(homeserver, secret, localpart):
    """Registers a user through Synapse's shared-secret admin API; returns (user id, password)."""
    url = f"{homeserver}/_synapse/admin/v1/register"
    nonce = json.load(urllib.request.urlopen(url))["nonce"]
    password = f"pw-{localpart}"
    mac = hmac.new(secret.encode(), "\0".join([nonce, localpart, password, "notadmin"]).encode(), hashlib.sha1).hexdigest()
    body = json.dumps({"nonce": nonce, "username": localpart, "password": password, "admin": False, "mac": mac}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    user_id = json.load(urllib.request.urlopen(request))["user_id"]
    return user_id, password


class Person:
    def __init__(self, homeserver, user_id, password, workdir, name):
        store = os.path.join(workdir, f"nio-{name}")
        os.makedirs(store, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
        self.client = AsyncClient(homeserver, user_id, store_path=store, config=config)
        self.password = password
        self.name = name
        # room id -> events seen from the bot: (event id, decrypted or None, raw source)
        self.bot_events = {}

    async def start(self):
        response = await self.client.login(self.password, device_name=f"nio {self.name}")
        if not getattr(response, "access_token", None):
            fail(f"{self.name} could not log in: {response}")
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self.sync(full_state=True)

    async def sync(self, full_state=False, bot=None):
        response = await self.client.sync(timeout=500, full_state=full_state)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())
        await self.client.send_to_device_messages()
        rooms = getattr(response, "rooms", None)
        if bot and rooms:
            for room_id, room in rooms.join.items():
                for event in room.timeline.events:
                    if event.sender == bot:
                        decrypted = None if isinstance(event, MegolmEvent) else event
                        self.bot_events.setdefault(room_id, []).append((event.event_id, decrypted, event.source))
        return response

    async def say(self, room_id, body):
        content = {"msgtype": "m.text", "body": body}
        response = await self.client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
        if not isinstance(response, RoomSendResponse):
            fail(f"{self.name} could not send {body!r}: {response}")
        return response.event_id

    async def close(self):
        await self.client.close()


async def until(what, condition, people, bot):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for person in people:
            await person.sync(bot=bot)
        if condition():
            return
    fail(f"timed out waiting for: {what}")


def decrypted_after(person, room_id, since_count):
    """The bot's messages in `room_id` after the first `since_count`, decrypted: [(event id, content)]."""
    events = person.bot_events.get(room_id, [])[since_count:]
    return [(event_id, event.source.get("content", {})) for event_id, event, _ in events if event is not None]


def put(person, path, body):
    """A raw PUT to the homeserver as `person` (nio would encrypt or share on its own)."""
    request = urllib.request.Request(
        f"{person.client.homeserver}/_matrix/client/v3/{path}", data=json.dumps(body).encode(), method="PUT",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {person.client.access_token}"})
    return json.load(urllib.request.urlopen(request))


async def send_without_key(alice, room_id):
    """Sends an encrypted message whose room key goes to nobody; returns its event id."""
    olm = alice.client.olm
    olm.rotate_outbound_group_session(room_id)
    olm.outbound_group_sessions[room_id].shared = True
    content = olm.group_encrypt(room_id, {"type": "m.room.message", "content": {"msgtype": "m.text", "body": "!help"}})
    return put(alice, f"rooms/{urllib.parse.quote(room_id)}/send/m.room.encrypted/lost-{time.time()}", content)["event_id"]


async def late_key(alice, room_id, workdir, people, bot):
    olm = alice.client.olm
    users = list(alice.client.rooms[room_id].users.keys())
    olm.rotate_outbound_group_session(room_id)
    missing = olm.get_missing_sessions(users)
    if missing:
        await alice.client.keys_claim(missing)
    _, to_device = olm.share_group_session(room_id, users, ignore_unverified_devices=True)
    olm.outbound_group_sessions[room_id].shared = True
    content = olm.group_encrypt(room_id, {"type": "m.room.message", "content": {"msgtype": "m.text", "body": "!help"}})
    event_id = put(alice, f"rooms/{urllib.parse.quote(room_id)}/send/m.room.encrypted/late-{time.time()}", content)["event_id"]
    log = os.path.join(workdir, "bot.sqlite.log")  # where MatrixIntegrationCase.makeBot logs
    await until(
        "the bot saying it cannot read the message yet",
        lambda: os.path.exists(log) and any("cannot decrypt a message yet" in line and event_id in line for line in open(log)),
        people, bot)
    put(alice, f"sendToDevice/m.room.encrypted/late-{time.time()}", to_device)
    await until("the bot's answer to the late message", lambda: reply_to(alice, room_id, event_id) is not None, people, bot)


ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


async def encrypted_room(name, creator, members, bot):
    """An encrypted room `creator` opens with `members` (who join) and the bot; returns once all are in."""
    everyone = [creator] + members
    created = await creator.client.room_create(
        name=name, invite=[m.client.user_id for m in members] + [bot], initial_state=[ENCRYPTION])
    if not isinstance(created, RoomCreateResponse):
        fail(f"could not create the room {name}: {created}")
    room = created.room_id
    for member in members:
        await until(f"{member.name}'s invite", lambda: room in member.client.invited_rooms, [member], bot)
        if not isinstance(await member.client.join(room), JoinResponse):
            fail(f"{member.name} could not join {name}")
    wanted = {bot} | {m.client.user_id for m in members}
    await until(
        f"everyone in {name}",
        lambda: wanted <= set(creator.client.rooms[room].users if room in creator.client.rooms else []),
        everyone, bot)
    return room


def reply_to(person, room_id, event_id):
    """The decrypted bot message in `room_id` that replies to `event_id`, if `person` has seen it."""
    for _, event, _ in person.bot_events.get(room_id, []):
        if event is not None and event.source.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == event_id:
            return event
    return None


def undecrypted(person, room_id):
    return [event_id for event_id, event, _ in person.bot_events.get(room_id, []) if event is None]


async def main():
    homeserver, secret, bot, tag, workdir = sys.argv[1:6]
    alice = Person(homeserver, *register(homeserver, secret, f"alice-{tag}"), workdir, "alice")
    bob = Person(homeserver, *register(homeserver, secret, f"bob-{tag}"), workdir, "bob")
    people = [alice, bob]
    for person in people:
        await person.start()
    print("ok: alice and bob logged in with encrypting devices", flush=True)

    group = await encrypted_room(f"Encrypted {tag}", alice, [bob], bot)
    print("ok: encrypted group room with alice, bob and the bot", flush=True)

    # !help: one reply, which both alice and bob decrypt.
    help_event = await alice.say(group, "!help")
    replies = {}

    def help_replied():
        for person in people:
            for event_id, content in decrypted_after(person, group, 0):
                if content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == help_event:
                    replies[person.name] = (event_id, content.get("body", ""))
        return len(replies) == len(people)

    await until("the bot's answer to !help, decrypted by alice and bob", help_replied, people, bot)
    if replies["alice"][0] != replies["bob"][0] or "!start" not in replies["alice"][1]:
        fail(f"unexpected answers to !help: {replies}")
    print("ok: !help answered in the encrypted group room, decrypted by alice and bob", flush=True)

    # A dialogue step: !start demo, then an answer to its first question.
    before = len(alice.bot_events.get(group, []))
    start_event = await alice.say(group, "!start demo")
    await until(
        "the demo's first question",
        lambda: any("org.fabrique.choices" in c for _, c in decrypted_after(alice, group, before)),
        people, bot)
    before = len(alice.bot_events.get(group, []))
    answer_event = await alice.say(group, "2")
    await until(
        "the demo's second question, for alice and bob",
        lambda: all(
            any(c.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == answer_event for _, c in decrypted_after(p, group, 0))
            for p in people),
        people, bot)
    print("ok: a dialogue step in the encrypted group room", flush=True)

    # Carol joins later and reads the bot's new messages.
    carol = Person(homeserver, *register(homeserver, secret, f"carol-{tag}"), workdir, "carol")
    await carol.start()
    await alice.client.room_invite(group, carol.client.user_id)
    await until("carol's invite", lambda: group in carol.client.invited_rooms, [carol], bot)
    if not isinstance(await carol.client.join(group), JoinResponse):
        fail("carol could not join")
    people.append(carol)
    late_help = await alice.say(group, "!help")
    await until(
        "the bot's answer after carol joined, decrypted by carol",
        lambda: reply_to(carol, group, late_help) is not None,
        people, bot)
    print("ok: a member who joined later reads the bot's new messages", flush=True)

    # Alice adds a second device: it reads the bot's next message too.
    alice2 = Person(homeserver, alice.client.user_id, alice.password, workdir, "alice2")
    await alice2.start()
    people.append(alice2)
    second_device_help = await alice.say(group, "!help")
    await until(
        "the bot's answer decrypted on alice's second device",
        lambda: reply_to(alice2, group, second_device_help) is not None and reply_to(alice, group, second_device_help) is not None,
        people, bot)
    print("ok: a member's second device reads the bot's new messages", flush=True)

    # Bob leaves: the bot's next message is in a new session, which bob never receives.
    before_leave = reply_to(alice, group, second_device_help)
    await bob.client.room_leave(group)
    people.remove(bob)
    await until("bob gone for alice", lambda: bob.client.user_id not in alice.client.rooms[group].users, people, bot)
    after_leave_help = await alice.say(group, "!help")
    await until("the bot's answer after bob left", lambda: reply_to(alice, group, after_leave_help) is not None, people, bot)
    after_leave = reply_to(alice, group, after_leave_help)
    if after_leave.session_id == before_leave.session_id:
        fail("the bot's Megolm session did not rotate when bob left")
    await bob.sync(bot=bot)
    if bob.client.olm.inbound_group_store.get(group, after_leave.sender_key, after_leave.session_id) is not None:
        fail("bob received the room key of the session after he left")
    print("ok: a member who left does not get the new session", flush=True)

    # A message whose room key reaches the bot late: alice encrypts with a new session, sends the message,
    # waits until the bot has logged that it cannot read it yet, and only then sends the key.
    await late_key(alice, group, workdir, [alice, carol, alice2], bot)
    print("ok: a message whose key arrived late is answered once it arrives", flush=True)

    # A message whose key never comes: after the grace period, its sender is told, in a reply to it.
    lost = await send_without_key(alice, group)
    await until("the bot pointing out the unreadable message", lambda: reply_to(alice, group, lost) is not None, [alice, carol, alice2], bot)
    told = reply_to(alice, group, lost).source.get("content", {}).get("body", "")
    if "could not read" not in told or "pas pu lire" not in told:
        fail(f"unexpected reply to the unreadable message: {reply_to(alice, group, lost).source}")
    print("ok: a message whose key never came is pointed out to its sender", flush=True)

    # An encrypted direct chat.
    created = await alice.client.room_create(is_direct=True, invite=[bot], initial_state=[ENCRYPTION])
    if not isinstance(created, RoomCreateResponse):
        fail(f"could not create the direct chat: {created}")
    direct = created.room_id
    await until("the bot in the direct chat", lambda: bot in (alice.client.rooms[direct].users if direct in alice.client.rooms else []), [alice], bot)
    dm_help = await alice.say(direct, "!help")
    await until(
        "the bot's answer in the direct chat",
        lambda: any("!start" in c.get("body", "") for _, c in decrypted_after(alice, direct, 0)),
        [alice], bot)
    dm_start = await alice.say(direct, "!start demo")
    await until(
        "the demo's first question in the direct chat",
        lambda: any("org.fabrique.choices" in c for _, c in decrypted_after(alice, direct, 0)),
        [alice], bot)
    await alice.say(direct, "!ask what is a white pebble?")
    await until(
        "the knowledge base's answer in the direct chat",
        lambda: any(
            "pebble" in c.get("body", "").lower() and "source" in c.get("body", "").lower()
            for _, c in decrypted_after(alice, direct, 0)),
        [alice], bot)
    print("ok: !help, a dialogue and !ask in the encrypted direct chat", flush=True)

    # Alice and bob were there from the start: every bot message they saw decrypts (carol and alice's
    # second device may see older messages, whose keys they were rightly never given).
    for person in [alice, bob]:
        for room in ([group, direct] if person is alice else [group]):
            if undecrypted(person, room):
                fail(f"{person.name} could not decrypt bot messages {undecrypted(person, room)} in {room}")
    result = {
        "group": group, "direct": direct, "help": help_event, "start": start_event, "answer": answer_event,
        "dm_help": dm_help, "dm_start": dm_start,
        "late_help": late_help, "second_device_help": second_device_help, "after_leave_help": after_leave_help,
    }
    print("RESULT " + json.dumps(result), flush=True)
    for person in people + [bob]:
        await person.close()


class BotProcess:
    """The bot as the test's BOT_COMMAND_JSON file describes it (`argv`, `env`, `log`), which a scenario
    starts, kills and stops itself."""

    def __init__(self, bot_command):
        self.spec = json.load(open(bot_command))
        self.log = open(self.spec["log"], "ab")
        self.env = dict(os.environ, **self.spec["env"])
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            self.spec["argv"], env=self.env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)

    def kill(self):
        """SIGKILL: no chance to finish anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        """SIGTERM, as an operator stops it."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def close(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


async def crash(bot_command):
    """SIGKILLs the bot ten times while alice and bob take the demo tour in an encrypted room, then checks
    that every line got its answer once and that every bot message decrypts for both.

    The conversation comes with the bot's command (`"say": [[person, text], ...]`, written by
    MatrixEncryptionTests, which checks the bot's database against it): the people say its lines in
    order, without waiting for the bot, and the bot is killed after each line, at a random moment, and
    started again. The RESULT line (the room, the people's user ids, each line's event id) is printed as
    soon as the last line is said, so that the Swift test can look at the database even when a check
    here fails. Done means: every line handled and no reply left to send, by the bot's own database
    (read-only), and every line's answer decrypted by alice and by bob."""
    import random
    import sqlite3

    homeserver, secret, bot, tag, workdir = sys.argv[1:6]
    process = BotProcess(bot_command)
    spec = process.spec
    database = spec["argv"][spec["argv"].index("--db") + 1]

    def stored():
        """What the bot's database holds: the events handled, and those whose replies are not yet recorded as
        sent (None when it cannot be read)."""
        db = None
        try:
            db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)
            done = {e for (e,) in db.execute("SELECT event_id FROM processed_event")}
            return done, {e for (e,) in db.execute("SELECT cause_event_id FROM outbox WHERE delivered_at IS NULL")}
        except sqlite3.Error:
            return set(), None
        finally:
            if db is not None:
                db.close()

    def settled(events):
        """Every event handled and every reply sent, as the bot's database says."""
        done, pending = stored()
        return pending == set() and set(events) <= done

    try:
        process.start()
        alice = Person(homeserver, *register(homeserver, secret, f"alice-{tag}"), workdir, "alice")
        bob = Person(homeserver, *register(homeserver, secret, f"bob-{tag}"), workdir, "bob")
        people = [alice, bob]
        by_name = {person.name: person for person in people}
        for person in people:
            await person.start()
        room = await encrypted_room(f"Crash {tag}", alice, [bob], bot)
        rng = random.Random(tag)
        # Each line is said as the bot (re)starts. The bot is killed a random moment later, so that kills
        # fall before the line is handled (during start-up, sync or decryption), between its commit and its
        # reply, or after; where each fell is counted from the bot's database. On this machine a restarted
        # bot commits a line some 0.1 s after it is said: half the kills come within that time.
        said, before_commit, before_sent = [], 0, 0
        for name, text in spec["say"]:
            said.append(await by_name[name].say(room, text))
            await asyncio.sleep(rng.uniform(0.0, 0.15) if rng.random() < 0.5 else rng.uniform(0.15, 1.0))
            process.kill()
            done, pending = stored()
            before_commit += said[-1] not in done
            before_sent += said[-1] in done and pending is not None and said[-1] in pending
            for person in people:
                await person.sync(bot=bot)
            process.start()
        print(f"ok: the bot was killed {len(said)} times mid-conversation: {before_commit} before the line just said was "
              f"committed, {before_sent} after but before its reply was recorded as sent", flush=True)
        users = {person.name: person.client.user_id for person in people}
        print("RESULT " + json.dumps({"room": room, "users": users, "said": said}), flush=True)

        def all_answered():
            return settled(said) and all(reply_to(p, room, event) is not None for p in people for event in said)

        await until(f"an answer to each of the {len(said)} lines, for alice and bob", all_answered, people, bot)
        for _ in range(4):  # a late duplicate would show in the next syncs
            for person in people:
                await person.sync(bot=bot)
        for person in people:
            # A reply sent twice would come back with the same text, in reply to the same line.
            replies = {}
            for event_id, event, _ in person.bot_events.get(room, []):
                if event is not None:
                    content = event.source.get("content", {})
                    target = content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
                    replies.setdefault((target, content.get("body")), []).append(event_id)
            twice = {target: events for (target, _), events in replies.items() if len(events) > 1}
            if twice:
                fail(f"{person.name} saw the same answer twice: {twice}")
            if undecrypted(person, room):
                fail(f"{person.name} could not decrypt bot messages {undecrypted(person, room)}")
        print("ok: each line answered once, every bot message decrypted by alice and bob", flush=True)
        for person in people:
            await person.close()
    finally:
        process.close()


async def send():
    """`!send demo` in an encrypted group room: bob and carol each get their own run, pinged, and answer it."""
    homeserver, secret, bot, tag, workdir = sys.argv[1:6]
    alice = Person(homeserver, *register(homeserver, secret, f"alice-{tag}"), workdir, "alice")
    bob = Person(homeserver, *register(homeserver, secret, f"bob-{tag}"), workdir, "bob")
    carol = Person(homeserver, *register(homeserver, secret, f"carol-{tag}"), workdir, "carol")
    people = [alice, bob, carol]
    for person in people:
        await person.start()
    room = await encrypted_room(f"Send {tag}", alice, [bob, carol], bot)
    print("ok: encrypted room with alice, bob, carol and the bot", flush=True)

    sent = await alice.say(room, "!send demo --remind off")

    def question_for(person):
        """The bot's decrypted message that pings `person` with the demo's first question, as `person` sees it."""
        for event_id, content in decrypted_after(person, room, 0):
            if content.get("m.mentions", {}).get("user_ids") == [person.client.user_id] and "What brings you here?" in content.get("body", ""):
                return event_id, content
        return None

    await until("alice's note, and a question for bob and for carol", lambda: reply_to(alice, room, sent) is not None
                and question_for(bob) is not None and question_for(carol) is not None, people, bot)
    note = reply_to(alice, room, sent).source["content"]["body"]
    if "I sent Fabrique tour to" not in note or "alice" in note.split(":")[0]:
        fail(f"unexpected note: {note}")
    if question_for(bob)[0] == question_for(carol)[0]:
        fail("bob and carol got the same message")
    print("ok: bob and carol each pinged with their own first question, decrypted", flush=True)

    answers = {}
    for person, answer in [(bob, "1"), (carol, "3")]:
        event = await person.say(room, answer)
        await until(f"{person.name}'s next question", lambda: reply_to(person, room, event) is not None, people, bot)
        body = reply_to(person, room, event).source["content"]["body"]
        if "Has your territory already started a transition approach?" not in body:
            fail(f"{person.name}'s answer did not move their run: {body}")
        answers[person.name] = event
    print("ok: each answer moves its person's own run", flush=True)
    for person in people:
        if undecrypted(person, room):
            fail(f"{person.name} could not decrypt bot messages {undecrypted(person, room)}")
    result = {"room": room, "send": sent, "bob": bob.client.user_id, "carol": carol.client.user_id, "answers": answers}
    print("RESULT " + json.dumps(result), flush=True)
    for person in people:
        await person.close()


def download(person, mxc):
    """The bytes behind an mxc:// URI, through the authenticated media API as clients fetch them."""
    server, media_id = mxc[len("mxc://"):].split("/", 1)
    request = urllib.request.Request(
        f"{person.client.homeserver}/_matrix/client/v1/media/download/{urllib.parse.quote(server)}/{urllib.parse.quote(media_id)}",
        headers={"Authorization": f"Bearer {person.client.access_token}"})
    return urllib.request.urlopen(request).read()


def bot_files(person, room_id, since_count):
    """The bot's decrypted file messages in `room_id` after the first `since_count` events: [content]."""
    return [c for _, c in decrypted_after(person, room_id, since_count) if c.get("msgtype") == "m.file"]


async def restart_and_report(bot_command):
    """Two checks that need the bot stopped and started again, so this scenario runs it itself.

    Reports in an encrypted room: alice (the room's creator, so a facilitator) and bob answer the demo's
    first question, alice asks `!report answers demo`; the bot's files are `m.room.encrypted` events whose
    decrypted content holds an EncryptedFile (no plain `url`), and the attachment, downloaded from the
    media repository and decrypted with its key, iv and hash, holds what was answered (the CSV parsed).
    Then the bot is stopped, alice logs in on a second device, and the bot is started again: its next
    message decrypts on that new device (its room key went to a device added while the bot was away)."""
    homeserver, secret, bot, tag, workdir = sys.argv[1:6]
    process = BotProcess(bot_command)

    try:
        process.start()
        alice = Person(homeserver, *register(homeserver, secret, f"alice-{tag}"), workdir, "alice")
        bob = Person(homeserver, *register(homeserver, secret, f"bob-{tag}"), workdir, "bob")
        people = [alice, bob]
        for person in people:
            await person.start()
        room = await encrypted_room(f"Reports {tag}", alice, [bob], bot)

        async def ask(person, text, question=False):
            """Says `text`, then waits for the bot's reply to it (or, with `question`, for a new question)."""
            before = len(person.bot_events.get(room, []))
            event_id = await person.say(room, text)
            if question:
                await until(
                    f"a question after {text!r}",
                    lambda: any("org.fabrique.choices" in c for _, c in decrypted_after(person, room, before)), people, bot)
            else:
                await until(f"the bot's answer to {text!r}", lambda: reply_to(person, room, event_id) is not None, people, bot)

        await ask(alice, "!territory set Drôme <Sud>")
        await ask(alice, "!start demo", question=True)
        await ask(alice, "2")
        await ask(bob, "!start demo", question=True)
        await ask(bob, "3")
        answered = {alice.client.user_id: "staff", bob.client.user_id: "citizen"}
        print("ok: alice and bob answered the demo's first question in the encrypted room", flush=True)

        before = len(alice.bot_events.get(room, []))
        await alice.say(room, "!report answers demo")
        await until("the answers report's two files", lambda: len(bot_files(alice, room, before)) >= 2, people, bot)
        files = bot_files(alice, room, before)
        # nio hands out a decrypted event in place of its m.room.encrypted one, marked `decrypted`.
        events = [event for _, event, _ in alice.bot_events[room][before:]]
        if any(event is None or not getattr(event, "decrypted", False) for event in events):
            fail(f"a bot event after the report request was not an encrypted one: {[type(event).__name__ for event in events]}")
        documents = {}
        for content in files:
            sealed = content.get("file")
            if not sealed or "url" in content:
                fail(f"a file in an encrypted room must be an EncryptedFile, not a plain url: {content}")
            for field in ("url", "key", "iv", "hashes", "v"):
                if field not in sealed:
                    fail(f"EncryptedFile without {field}: {sealed}")
            ciphertext = download(alice, sealed["url"])
            plain = decrypt_attachment(ciphertext, sealed["key"]["k"], sealed["hashes"]["sha256"], sealed["iv"])
            if plain == ciphertext:
                fail("the uploaded file is in clear")
            if content.get("info", {}).get("size") not in (None, len(plain)):
                fail(f"the stated size {content['info']['size']} is not the file's {len(plain)}")
            documents[content.get("info", {}).get("mimetype", "").split(";")[0]] = plain.decode("utf-8")
        if set(documents) != {"text/html", "text/csv"}:
            fail(f"expected an HTML page and a CSV, got {sorted(documents)}")
        rows = list(csv.DictReader(io.StringIO(documents["text/csv"])))
        got = {row["author_id"]: row["value"] for row in rows if row["question_id"] == "role"}
        if got != answered:
            fail(f"the decrypted CSV holds {got}, answered {answered}; rows: {rows}")
        if "Drôme &lt;Sud&gt;" not in documents["text/html"] or "I work for a local authority" not in documents["text/html"]:
            fail("the decrypted HTML page does not show the territory (escaped) and alice's answer")
        print("ok: the answers report came as encrypted files; decrypted, the CSV holds each answer and the page shows them", flush=True)

        # A second device for alice while the bot is stopped.
        process.stop()
        alice2 = Person(homeserver, alice.client.user_id, alice.password, workdir, "alice2")
        await alice2.start()
        people.append(alice2)
        await alice.sync(bot=bot)
        process.start()
        after_restart = await alice.say(room, "!help")
        await until(
            "the bot's answer after its restart, decrypted on alice's new device",
            lambda: reply_to(alice2, room, after_restart) is not None and reply_to(alice, room, after_restart) is not None,
            people, bot)
        print("ok: a device added while the bot was stopped reads the bot's next message", flush=True)
        print("RESULT " + json.dumps({"room": room}), flush=True)
        for person in people:
            await person.close()
    finally:
        process.close()


if __name__ == "__main__":  # kb_peer.py imports the people from here
    if len(sys.argv) > 7 and sys.argv[7] == "restart":
        asyncio.run(restart_and_report(sys.argv[6]))
    elif len(sys.argv) > 6 and sys.argv[6] == "send":
        asyncio.run(send())
    elif len(sys.argv) > 6:
        asyncio.run(crash(sys.argv[6]))
    else:
        asyncio.run(main())
