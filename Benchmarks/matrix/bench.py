"""Matrix round trip: a person's message → the bot's reply seen by that person, against a local Synapse.

Runs Fabrique (`fabrique matrix`) and a minimal matrix-nio echo bot one after the other on the same
Synapse, drives each through the same turns (Fabrique's demo dialogue, over and over), and reports
round-trip p50/p99, the bot process's CPU time per reply and its resident memory.

    python bench.py --homeserver URL --secret SHARED_SECRET --fabrique BIN [--turns 300] [--json FILE] [--swift-echo BIN]

With --swift-echo, a third bot runs the same way: swift-echo/, the same echo bot written with nothing but
Foundation's URLSession, i.e. what the HTTP stack Fabrique is held to costs on its own.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import aiohttp

TURNS = ["!start demo", "1", "no", "A territory where people cooperate and share"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class User:
    def __init__(self, session, homeserver, user_id, token, password):
        self.session, self.homeserver, self.user_id, self.token, self.password = session, homeserver, user_id, token, password
        self.since = None

    async def call(self, method, path, body=None, params=None, timeout=60):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for _ in range(100):
            async with self.session.request(method, self.homeserver + path, json=body, params=params, headers=headers,
                                            timeout=aiohttp.ClientTimeout(total=timeout)) as r:
                data = await r.json()
                if r.status == 429:
                    await asyncio.sleep(data.get("retry_after_ms", 500) / 1000)
                    continue
                if r.status >= 300:
                    raise RuntimeError(f"{method} {path}: {r.status} {data}")
                return data
        raise RuntimeError("rate limited")

    async def send(self, room, text):
        txn = uuid.uuid4().hex
        data = await self.call("PUT", f"/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}",
                               {"msgtype": "m.text", "body": text, "m.mentions": {}})
        return data["event_id"]

    async def sync(self, timeout_ms=30000):
        params = {"timeout": str(timeout_ms), "filter": json.dumps({"room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": True}},
                                                                     "presence": {"types": []}, "account_data": {"types": []}})}
        if self.since:
            params["since"] = self.since
        data = await self.call("GET", "/_matrix/client/v3/sync", params=params, timeout=timeout_ms / 1000 + 30)
        self.since = data["next_batch"]
        return data


async def register(session, homeserver, secret, name):
    async with session.get(homeserver + "/_synapse/admin/v1/register") as r:
        nonce = (await r.json())["nonce"]
    password = "pw-" + name
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode(), b"notadmin"]))
    async with session.post(homeserver + "/_synapse/admin/v1/register",
                            json={"nonce": nonce, "username": name, "password": password, "admin": False, "mac": mac.hexdigest()}) as r:
        data = await r.json()
    return User(session, homeserver, data["user_id"], data["access_token"], password)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":")
                values[key] = int(value.split()[0])
    # Private pages and proportional share, beside the plain RSS.
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean", "Private_Dirty", "Pss:")):
                key, value = line.split(":")
                values[key] = int(value.split()[0])
    return values


async def measure(session, args, label, command_for, turns, tag):
    driver = await register(session, args.homeserver, args.secret, f"drv-{label}-{tag}")
    observer = await register(session, args.homeserver, args.secret, f"obs-{label}-{tag}")
    bot = await register(session, args.homeserver, args.secret, f"bot-{label}-{tag}")
    room = (await driver.call("POST", "/_matrix/client/v3/createRoom",
                              {"preset": "private_chat", "invite": [observer.user_id, bot.user_id], "name": f"bench {label}"}))["room_id"]
    await observer.call("POST", f"/_matrix/client/v3/join/{room}", {})
    workdir = tempfile.mkdtemp(prefix=f"fabrique-bench-{label}-")
    log = open(os.path.join(workdir, "bot.log"), "w")
    process = subprocess.Popen(command_for(bot, workdir), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                               env=dict(os.environ, FABRIQUE_MATRIX_PASSWORD=bot.password))
    try:
        await driver.sync(timeout_ms=0)
        deadline = time.monotonic() + 60
        while True:
            members = await driver.call("GET", f"/_matrix/client/v3/rooms/{room}/joined_members")
            if bot.user_id in members.get("joined", {}):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{label} did not join; see {workdir}/bot.log")
            await asyncio.sleep(0.2)

        kind_of = {}

        async def turn(text):
            t0 = time.perf_counter()
            event = await driver.send(room, text)
            kind_of[event] = text
            while True:
                data = await driver.sync()
                for e in data.get("rooms", {}).get("join", {}).get(room, {}).get("timeline", {}).get("events", []):
                    relates = e.get("content", {}).get("m.relates_to", {})
                    if e.get("sender") == bot.user_id and relates.get("m.in_reply_to", {}).get("event_id") == event:
                        return time.perf_counter() - t0

        for n in range(8):  # warm-up: caches, connections, first dialogue
            await turn(TURNS[n % len(TURNS)])
        await asyncio.sleep(1)
        cpu_before = cpu_seconds(process.pid)
        profiler = None
        if args.perf:
            os.makedirs(args.perf, exist_ok=True)
            profiler = subprocess.Popen(["perf", "record", "-g", "-p", str(process.pid), "-o", os.path.join(args.perf, f"{label}.perf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rtts = []
        by_kind = {text: [] for text in TURNS}
        for n in range(turns):
            rtts.append(await turn(TURNS[n % len(TURNS)]))
            by_kind[TURNS[n % len(TURNS)]].append(rtts[-1])
            # A person reads before answering: without this pause the driver answers a question before
            # Fabrique has finished posting it (its first reply is the greeting), and measures the queue.
            await asyncio.sleep(args.think_ms / 1000)
        await asyncio.sleep(1)  # trailing messages of the last turn
        cpu = cpu_seconds(process.pid) - cpu_before
        if profiler:
            profiler.send_signal(2)
            profiler.wait()
        memory = memory_kib(process.pid)
        # Server-side view: the reply's origin_server_ts minus the message's, i.e. the bot's own part
        # of the round trip (its sync wake-up, handling and send), without the driver's.
        history = await driver.call("GET", f"/_matrix/client/v3/rooms/{room}/messages", params={"dir": "b", "limit": "1000"})
        stamps = {e["event_id"]: e.get("origin_server_ts", 0) for e in history.get("chunk", [])}
        pairs = [
            (ref, e["origin_server_ts"] - stamps[ref])
            for e in history.get("chunk", [])
            if e.get("sender") == bot.user_id
            and (ref := e.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")) in stamps
        ]
        server_side = sorted(delay for _, delay in pairs)
        server_by_kind = {}
        for ref, delay in pairs:
            if ref in kind_of:
                server_by_kind.setdefault(kind_of[ref], []).append(delay)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    if args.perf:
        shutil.copy(os.path.join(workdir, "bot.log"), os.path.join(args.perf, f"{label}.log"))
    shutil.rmtree(workdir, ignore_errors=True)
    rtts.sort()
    return {
        "bot": label,
        "turns": turns,
        "p50_ms": round(statistics.median(rtts) * 1000, 1),
        "p99_ms": round(rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))] * 1000, 1),
        "mean_ms": round(statistics.fmean(rtts) * 1000, 1),
        "bot_side_p50_ms": server_side[len(server_side) // 2] if server_side else None,
        "cpu_ms_per_reply": round(cpu / turns * 1000, 2),
        "rss_mib": round(memory.get("VmRSS", 0) / 1024, 1),
        "peak_rss_mib": round(memory.get("VmHWM", 0) / 1024, 1),
        # Private_Clean counts library pages that no other process happens to map at that moment, so it
        # depends on what else runs; Private_Dirty (heap, stacks, written data) is the process's own cost.
        "private_dirty_mib": round(memory.get("Private_Dirty", 0) / 1024, 1),
        "pss_mib": round(memory.get("Pss", 0) / 1024, 1),
        # Which turns make the tail: p50/p99 per kind of message (the demo's start, a choice, a yes/no, text).
        "by_turn": {text: {"p50_ms": round(statistics.median(v) * 1000, 1), "p99_ms": round(sorted(v)[min(len(v) - 1, int(len(v) * 0.99))] * 1000, 1),
                           "bot_side_p50_ms": statistics.median(server_by_kind[text]) if server_by_kind.get(text) else None}
                    for text, v in by_kind.items() if v},
    }


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fabrique", required=True, help="the fabrique binary (a release build)")
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--reactions", action="store_true", help="let Fabrique seed 1️⃣ 2️⃣ … under questions (its default)")
    parser.add_argument("--json")
    parser.add_argument("--think-ms", type=int, default=150, help="pause after each reply before the next message (0: back to back)")
    parser.add_argument("--perf", metavar="DIR", help="record the measured turns of each bot with perf into DIR")
    parser.add_argument("--log-level", help="Fabrique's log level (default warning; trace with --perf)")
    parser.add_argument("--swift-echo", metavar="BIN", help="also run swift-echo (Foundation + URLSession echo bot), this binary")
    parser.add_argument("--only", choices=["fabrique", "nio-echo", "swift-echo"], help="run one bot (while iterating; the ratios need both)")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:6]
    here = os.path.dirname(os.path.abspath(__file__))

    def fabrique(bot, workdir):
        config = os.path.join(workdir, "matrix.yaml")
        with open(config, "w") as f:
            f.write(f"reactions: {'true' if args.reactions else 'false'}\n")
            # One client sends every turn: the per-person pace (issue 21) is for people, not this load.
            f.write("rate_limit:\n  burst: 100000\n  refill_seconds: 1\n")
        return [args.fabrique, "matrix", "--homeserver", args.homeserver, "--user", bot.user_id, "--config", config,
                "--db", os.path.join(workdir, "bot.sqlite"), "--log-level", args.log_level or ("trace" if args.perf else "warning")]

    def echo(bot, workdir):
        return [sys.executable, os.path.join(here, "echo_bot.py"), args.homeserver, bot.user_id, bot.password]

    def swift_echo(bot, workdir):
        return [args.swift_echo, args.homeserver, bot.user_id, bot.password]

    bots = [("fabrique", fabrique), ("nio-echo", echo)]
    if args.swift_echo:
        bots.append(("swift-echo", swift_echo))
    elif args.only == "swift-echo":
        parser.error("--only swift-echo needs --swift-echo BIN")

    async with aiohttp.ClientSession() as session:
        results = [await measure(session, args, label, command, args.turns, tag)
                   for label, command in bots if args.only in (None, label)]
    print("| bot | turns | p50 round trip | p99 round trip | bot's part, p50 | CPU per reply | RSS (peak) | private dirty | PSS |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['bot']} | {r['turns']} | {r['p50_ms']} ms | {r['p99_ms']} ms | {r['bot_side_p50_ms']} ms | {r['cpu_ms_per_reply']} ms "
              f"| {r['rss_mib']} MiB ({r['peak_rss_mib']} MiB) | {r['private_dirty_mib']} MiB | {r['pss_mib']} MiB |")
    for r in results:
        print(f"{r['bot']} by turn: " + "; ".join(f"{text[:12]!r} p50 {v['p50_ms']} ms p99 {v['p99_ms']} ms bot's part {v['bot_side_p50_ms']} ms" for text, v in r["by_turn"].items()))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
    by_bot = {r["bot"]: r for r in results}
    e = by_bot.get("nio-echo")
    if e and (f := by_bot.get("fabrique")):
        print(f"\nCPU per reply: {f['cpu_ms_per_reply'] / e['cpu_ms_per_reply']:.2f}× the echo bot's (target ≤ 0.5); "
              f"p50: {f['p50_ms'] / e['p50_ms']:.2f}× (target ≤ 1.0); p99: {f['p99_ms'] / e['p99_ms']:.2f}× (target ≤ 1.2); "
              f"private dirty: {f['private_dirty_mib'] / e['private_dirty_mib']:.2f}× (target ≤ 0.25); RSS: {f['rss_mib'] / e['rss_mib']:.2f}× (target ≤ 1.0)")
    if e and (s := by_bot.get("swift-echo")):
        print(f"swift-echo (Foundation + URLSession alone) against the nio echo bot: CPU per reply {s['cpu_ms_per_reply'] / e['cpu_ms_per_reply']:.2f}×; "
              f"RSS {s['rss_mib'] / e['rss_mib']:.2f}× (private dirty {s['private_dirty_mib'] / e['private_dirty_mib']:.2f}×); p50 {s['p50_ms'] / e['p50_ms']:.2f}×")


if __name__ == "__main__":
    asyncio.run(main())
