"""Scale: one Fabrique bot in many rooms, against a local Synapse.

    python scale.py --homeserver URL --secret SHARED_SECRET --fabrique BIN [--rooms 1000] [--members 3000]
                    [--active 50] [--turns 8] [--catch-up 5000] [--down-seconds 600] [--stored-runs 10000] [--json FILE]

Builds the world through Synapse's admin API (no password hashing): `--members` users, `--rooms` public
rooms each holding members/rooms of them, the bot invited to every room. Then, one bot process after
another on the same database:

1. first start: the bot answers every invite (joins), its first sync is parsed (the adapter's debug
   line "response parsed": bytes, events, microseconds); memory before and after, per room.
2. load: restarted (start-up time to the reply to a message sent while it was down), then `--active`
   members, each in a room of its own, walk Fabrique's demo dialogue at once, `--turns` messages each,
   pausing 2–6 s (a person reading) after each reply: round trip p50/p99 seen by an observer's sync,
   CPU per reply, memory.
3. catch-up: stopped; `--catch-up` messages arrive over `--down-seconds` in the active rooms (the same
   demo turns); restarted: time until every message is answered, checked once each and in order per
   room; sync parse time per event over the catch-up.
4. start-up: `--stored-runs` dialogue runs written into the bot's database (through `fabrique chat`, the
   same engine and store), then the time from start to the reply to a message sent while it was down.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import aiohttp

from bench import TURNS, User, cpu_seconds, memory_kib, register

PARALLEL = 8


class Bot:
    """A `fabrique matrix` process whose standard error is read as it comes, each line timed."""

    def __init__(self, args, user, workdir, level):
        self.lines = []
        self.started = time.monotonic()
        config = os.path.join(workdir, "matrix.yaml")
        with open(config, "w") as f:
            f.write("reactions: false\n")
            # Each client sends many turns: the per-person pace (issue 21) is for people, not this load.
            f.write("rate_limit:\n  burst: 100000\n  refill_seconds: 1\n")
        command = [args.fabrique, "matrix", "--homeserver", args.homeserver, "--user", user.user_id, "--config", config,
                   "--db", os.path.join(workdir, "bot.sqlite"), "--log-level", level]
        self.log = open(os.path.join(workdir, "bot.log"), "a")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        env=dict(os.environ, FABRIQUE_MATRIX_PASSWORD=user.password), text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.append((time.monotonic(), line))
            self.log.write(line)

    async def wait_for(self, pattern, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, line in self.lines:
                if pattern in line:
                    return at
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited ({self.process.returncode}); see bot.log")
            await asyncio.sleep(0.05)
        raise RuntimeError(f"no '{pattern}' in the bot's log within {timeout} s")

    def parsed(self, since=0.0):
        """The "response parsed" lines (sync responses) after `since`: (bytes, events, microseconds)."""
        out = []
        for at, line in self.lines:
            if at >= since and "response parsed" in line:
                fields = dict(re.findall(r"(bytes|events|parse_us)=(\d+)", line))
                if len(fields) == 3:
                    out.append((int(fields["bytes"]), int(fields["events"]), int(fields["parse_us"])))
        return out

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
        self.log.close()


async def register_admin(session, homeserver, secret, name):
    async with session.get(homeserver + "/_synapse/admin/v1/register") as r:
        nonce = (await r.json())["nonce"]
    password = "pw-" + name
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode(), b"admin"]))
    async with session.post(homeserver + "/_synapse/admin/v1/register",
                            json={"nonce": nonce, "username": name, "password": password, "admin": True, "mac": mac.hexdigest()}) as r:
        data = await r.json()
    return User(session, homeserver, data["user_id"], data["access_token"], password)


async def gather_limited(coroutines, limit=PARALLEL):
    semaphore = asyncio.Semaphore(limit)

    async def one(c):
        async with semaphore:
            return await c

    return await asyncio.gather(*(one(c) for c in coroutines))


def server_name(user_id):
    return user_id.split(":", 1)[1]


async def build_world(session, args, tag):
    admin = await register_admin(session, args.homeserver, args.secret, f"scale-admin-{tag}")
    bot = await register(session, args.homeserver, args.secret, f"scale-bot-{tag}")
    server = server_name(admin.user_id)
    members = [f"@scale-{tag}-{n}:{server}" for n in range(args.members)]
    t0 = time.monotonic()
    await gather_limited(admin.call("PUT", f"/_synapse/admin/v2/users/{m}", {"displayname": f"Member {n}"})
                         for n, m in enumerate(members))
    rooms = await gather_limited(
        admin.call("POST", "/_matrix/client/v3/createRoom",
                   {"preset": "public_chat", "name": f"scale {tag} {n}", "invite": [bot.user_id]})
        for n in range(args.rooms))
    rooms = [r["room_id"] for r in rooms]
    per_room = max(1, args.members // args.rooms)
    await gather_limited(admin.call("POST", f"/_synapse/admin/v1/join/{rooms[n // per_room % len(rooms)]}", {"user_id": m})
                         for n, m in enumerate(members))
    print(f"world: {args.members} members, {args.rooms} rooms ({per_room} members each, plus the admin and the bot) "
          f"built in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return admin, bot, members, rooms, per_room


async def login_as(admin, user_id):
    data = await admin.call("POST", f"/_synapse/admin/v1/users/{user_id}/login", {})
    return User(admin.session, admin.homeserver, user_id, data["access_token"], None)


async def joined_count(admin, bot):
    data = await admin.call("GET", f"/_synapse/admin/v1/users/{bot.user_id}/joined_rooms")
    return data.get("total", len(data.get("joined_rooms", [])))


class Observer:
    """The admin's sync over the active rooms: when each bot reply (by its `m.in_reply_to`) was seen."""

    def __init__(self, admin, rooms, bot_id):
        self.admin, self.rooms, self.bot_id = admin, rooms, bot_id
        self.seen = {}  # message event id -> [monotonic time of each reply seen]
        self.order = {room: [] for room in rooms}  # per room, replied-to ids in timeline order
        self.task = None

    async def start(self):
        self.filter = json.dumps({"room": {"rooms": self.rooms, "timeline": {"limit": 1000}, "state": {"types": []},
                                           "ephemeral": {"types": []}, "account_data": {"types": []}},
                                  "presence": {"types": []}, "account_data": {"types": []}})
        data = await self.admin.call("GET", "/_matrix/client/v3/sync", params={"timeout": "0", "filter": self.filter})
        self.since = data["next_batch"]
        self.task = asyncio.create_task(self.run())

    async def run(self):
        while True:
            data = await self.admin.call("GET", "/_matrix/client/v3/sync",
                                         params={"timeout": "30000", "filter": self.filter, "since": self.since}, timeout=60)
            self.since = data["next_batch"]
            now = time.monotonic()
            for room, content in data.get("rooms", {}).get("join", {}).items():
                if content.get("timeline", {}).get("limited"):
                    print(f"observer: a limited timeline in {room}", file=sys.stderr)
                for e in content.get("timeline", {}).get("events", []):
                    ref = e.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
                    if e.get("sender") == self.bot_id and ref:
                        self.seen.setdefault(ref, []).append(now)
                        if room in self.order:
                            self.order[room].append(ref)

    async def reply_to(self, event_id, timeout=120):
        deadline = time.monotonic() + timeout
        while event_id not in self.seen:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no reply to {event_id} within {timeout} s")
            await asyncio.sleep(0.005)
        return self.seen[event_id][0]

    def stop(self):
        self.task.cancel()


def mib(kib):
    return round(kib / 1024, 1)


def parse_summary(parsed):
    events = sum(e for _, e, _ in parsed)
    micros = sum(u for _, _, u in parsed)
    return {"syncs": len(parsed), "bytes": sum(b for b, _, _ in parsed), "events": events, "parse_ms": round(micros / 1000, 1),
            "parse_us_per_event": round(micros / events, 2) if events else None}


async def start_up(args, bot_user, workdir, level, sender, room, observer, label):
    """Starts the bot with one message waiting for it: time to 'connected' and to that message's reply."""
    event = await sender.send(room, "!start demo")
    bot = Bot(args, bot_user, workdir, level)
    connected = await bot.wait_for("connected to Matrix", timeout=300)
    replied = await observer.reply_to(event, timeout=600)
    result = {"connected_s": round(connected - bot.started, 3), "first_reply_s": round(replied - bot.started, 3)}
    print(f"{label}: {result}", file=sys.stderr)
    # Back to the dialogue's start for the load: finish it.
    for text in TURNS[1:]:
        await observer.reply_to(await sender.send(room, text))
    return bot, result


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fabrique", required=True)
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--active", type=int, default=50)
    parser.add_argument("--turns", type=int, default=8, help="messages per active member in the load phase")
    parser.add_argument("--catch-up", type=int, default=5000)
    parser.add_argument("--down-seconds", type=float, default=600)
    parser.add_argument("--stored-runs", type=int, default=10000)
    parser.add_argument("--keep", metavar="DIR", help="copy the bot's log and database here")
    parser.add_argument("--json")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:6]
    workdir = tempfile.mkdtemp(prefix="fabrique-scale-")
    results = {"rooms": args.rooms, "members": args.members, "active": args.active}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=200)) as session:
        admin, bot_user, members, rooms, per_room = await build_world(session, args, tag)
        active_rooms = rooms[:args.active]
        speakers = await gather_limited(login_as(admin, members[n * per_room]) for n in range(args.active))
        observer = Observer(admin, active_rooms, bot_user.user_id)
        await observer.start()

        # 1. First start: invites answered, first sync parsed, memory per room.
        bot = Bot(args, bot_user, workdir, "debug")
        connected = await bot.wait_for("connected to Matrix", timeout=300)
        before = memory_kib(bot.process.pid)
        cpu0 = cpu_seconds(bot.process.pid)
        skipped = await bot.wait_for("first start: history skipped", timeout=600)
        while await joined_count(admin, bot_user) < args.rooms:
            await asyncio.sleep(0.5)
        joined = time.monotonic()
        await asyncio.sleep(5)  # the syncs that bring the joined rooms' state
        after = memory_kib(bot.process.pid)
        first = {
            "connected_s": round(connected - bot.started, 2),
            "first_sync_handled_s": round(skipped - bot.started, 2),
            "all_joined_s": round(joined - bot.started, 2),
            "cpu_s": round(cpu_seconds(bot.process.pid) - cpu0, 2),
            "sync": parse_summary(bot.parsed()),
            "rss_before_mib": mib(before["VmRSS"]), "rss_after_mib": mib(after["VmRSS"]),
            "private_dirty_before_mib": mib(before["Private_Dirty"]), "private_dirty_after_mib": mib(after["Private_Dirty"]),
            "rss_per_room_kib": round((after["VmRSS"] - before["VmRSS"]) / args.rooms, 1),
            "private_dirty_per_room_kib": round((after["Private_Dirty"] - before["Private_Dirty"]) / args.rooms, 1),
        }
        results["first_start"] = first
        print(f"first start: {first}", file=sys.stderr)
        bot.stop()

        # 2. Restart, then the load of `--active` people at once.
        bot, results["restart"] = await start_up(args, bot_user, workdir, "info", speakers[0], active_rooms[0], observer, "restart")
        await asyncio.sleep(2)
        cpu0 = cpu_seconds(bot.process.pid)
        rtts = []

        async def person(n, speaker, room):
            rng = random.Random(n)
            await asyncio.sleep(rng.uniform(0, 4))
            for k in range(args.turns):
                t0 = time.monotonic()
                event = await speaker.send(room, TURNS[k % len(TURNS)])
                rtts.append(await observer.reply_to(event) - t0)
                await asyncio.sleep(rng.uniform(2, 6))

        t0 = time.monotonic()
        await asyncio.gather(*(person(n, s, r) for n, (s, r) in enumerate(zip(speakers, active_rooms))))
        elapsed = time.monotonic() - t0
        await asyncio.sleep(1)
        cpu = cpu_seconds(bot.process.pid) - cpu0
        memory = memory_kib(bot.process.pid)
        rtts.sort()
        results["load"] = {
            "replies": len(rtts), "seconds": round(elapsed, 1), "messages_per_s": round(len(rtts) / elapsed, 1),
            "p50_ms": round(statistics.median(rtts) * 1000, 1), "p99_ms": round(rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))] * 1000, 1),
            "cpu_ms_per_reply": round(cpu / len(rtts) * 1000, 2),
            "rss_mib": mib(memory["VmRSS"]), "private_dirty_mib": mib(memory["Private_Dirty"]),
        }
        print(f"load: {results['load']}", file=sys.stderr)
        bot.stop()

        # 3. Down while `--catch-up` messages arrive, then catch up.
        per_speaker = args.catch_up // args.active
        sent = {room: [] for room in active_rooms}
        kind = {}
        t0 = time.monotonic()

        async def talk(speaker, room, n):
            for k in range(per_speaker):
                due = t0 + args.down_seconds * (k * args.active + n) / args.catch_up
                await asyncio.sleep(max(0, due - time.monotonic()))
                event = await speaker.send(room, TURNS[k % len(TURNS)])
                sent[room].append(event)
                kind[event] = k % len(TURNS)

        await asyncio.gather(*(talk(s, r, n) for n, (s, r) in enumerate(zip(speakers, active_rooms))))
        down = time.monotonic() - t0
        bot = Bot(args, bot_user, workdir, "debug")
        cpu0 = None
        while cpu0 is None:
            try:
                cpu0 = cpu_seconds(bot.process.pid)
            except OSError:
                await asyncio.sleep(0.01)
        everything = [e for events in sent.values() for e in events]
        while any(e not in observer.seen for e in everything):
            if bot.process.poll() is not None:
                raise RuntimeError("the bot exited during the catch-up")
            await asyncio.sleep(0.05)
        done = max(observer.seen[e][0] for e in everything)
        await asyncio.sleep(3)  # anything answered twice would show now
        cpu = cpu_seconds(bot.process.pid) - cpu0
        counts = {}
        for e in everything:
            counts.setdefault(kind[e], set()).add(len(observer.seen[e]))
        in_order = all(
            [ref for ref in observer.order[room] if ref in kind] == sorted(
                [ref for ref in observer.order[room] if ref in kind], key=sent[room].index)
            for room in active_rooms)
        results["catch_up"] = {
            "messages": len(everything), "down_s": round(down, 1),
            "all_answered_s": round(done - bot.started, 2),
            "messages_per_s": round(len(everything) / (done - bot.started), 1),
            "cpu_s": round(cpu, 2), "cpu_ms_per_message": round(cpu / len(everything) * 1000, 2),
            "replies_per_message_by_turn": {TURNS[k]: sorted(v) for k, v in counts.items()},
            "once_each": all(len(v) == 1 for v in counts.values()), "in_order_per_room": in_order,
            "sync": parse_summary(bot.parsed()),
        }
        print(f"catch-up: {results['catch_up']}", file=sys.stderr)
        bot.stop()

        # 4. Start-up with `--stored-runs` runs in the database.
        script = "".join(f"p{n}@run-{n % 500}> {text}\n" for n in range(args.stored_runs) for text in TURNS)
        t = time.monotonic()
        subprocess.run([args.fabrique, "chat", "--db", os.path.join(workdir, "bot.sqlite")], input=script, text=True,
                       stdout=subprocess.DEVNULL, check=True)
        print(f"stored {args.stored_runs} runs in {time.monotonic() - t:.0f} s", file=sys.stderr)
        bot, results["start_up_with_runs"] = await start_up(args, bot_user, workdir, "info", speakers[1], active_rooms[1], observer,
                                                            "start-up with stored runs")
        results["start_up_with_runs"]["stored_runs"] = args.stored_runs
        results["start_up_with_runs"]["database_mib"] = round(os.path.getsize(os.path.join(workdir, "bot.sqlite")) / 2**20, 1)
        memory = memory_kib(bot.process.pid)
        results["start_up_with_runs"]["rss_mib"] = mib(memory["VmRSS"])
        bot.stop()
        observer.stop()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        for name in ("bot.log", "bot.sqlite"):
            shutil.copy(os.path.join(workdir, name), args.keep)
    shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    asyncio.run(main())
