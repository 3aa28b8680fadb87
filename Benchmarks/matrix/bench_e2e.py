"""CPU per reply in an encrypted room: Fabrique in a plain room, Fabrique in an encrypted room, and a
matrix-nio echo bot that encrypts (echo_bot.py with a key store), on the same local Synapse.

The person driving each bot is a matrix-nio client with its keys (vodozemac), with a second member in the
room (a device the bot must share its room key with). The turns are bench.py's: Fabrique's demo dialogue
over and over; a turn is timed from the send to the sync that brings the bot's reply, decrypted.

    python bench_e2e.py --homeserver URL --secret SHARED_SECRET --fabrique BIN [--turns 100] [--json FILE]
"""

import argparse
import asyncio
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
from nio import AsyncClient, AsyncClientConfig, JoinResponse, MegolmEvent

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import TURNS, cpu_seconds, memory_kib, register  # noqa: E402


async def nio_person(homeserver, user, workdir, name):
    store = os.path.join(workdir, f"nio-{name}")
    os.makedirs(store, exist_ok=True)
    client = AsyncClient(homeserver, user.user_id, store_path=store,
                         config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True))
    await client.login(user.password)
    await settle(client)
    return client


async def settle(client, timeout=0):
    """One sync, then what nio's keys need (uploads, queries, claims, to-device)."""
    response = await client.sync(timeout=timeout)
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
    await client.send_to_device_messages()
    return response


async def measure(session, args, label, command_for, encrypted, turns, tag):
    driver_user = await register(session, args.homeserver, args.secret, f"e2d-{label}-{tag}")
    observer_user = await register(session, args.homeserver, args.secret, f"e2o-{label}-{tag}")
    bot = await register(session, args.homeserver, args.secret, f"e2b-{label}-{tag}")
    workdir = tempfile.mkdtemp(prefix=f"fabrique-bench-e2e-{label}-")
    driver = await nio_person(args.homeserver, driver_user, workdir, "driver")
    observer = await nio_person(args.homeserver, observer_user, workdir, "observer")
    state = [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []
    room = (await driver.room_create(name=f"bench e2e {label}", invite=[observer.user_id, bot.user_id], initial_state=state)).room_id
    while room not in observer.invited_rooms:
        await settle(observer, 500)
    if not isinstance(await observer.join(room), JoinResponse):
        raise RuntimeError("the observer could not join")
    await settle(observer)
    log = open(os.path.join(workdir, "bot.log"), "w")
    process = subprocess.Popen(command_for(bot, workdir), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                               env=dict(os.environ, FABRIQUE_MATRIX_PASSWORD=bot.password,
                                        FABRIQUE_MATRIX_PICKLE_KEY="bench pickle key " + tag))
    print(f"{label}: bot started in {room}", file=sys.stderr, flush=True)
    try:
        deadline = time.monotonic() + 60
        # Joined, not only invited (nio counts invited users among a room's users).
        while bot.user_id not in [m.user_id for m in getattr(await driver.joined_members(room), "members", [])]:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{label} did not join; see {workdir}/bot.log")
            await settle(driver, 500)
        await settle(driver)

        async def turn(text):
            t0 = time.perf_counter()
            sent = await driver.room_send(room, "m.room.message", {"msgtype": "m.text", "body": text, "m.mentions": {}},
                                          ignore_unverified_devices=True)
            while True:
                response = await settle(driver, 30000)
                joined = getattr(getattr(response, "rooms", None), "join", {})
                for event in joined.get(room).timeline.events if room in joined else []:
                    if event.sender != bot.user_id:
                        continue
                    if isinstance(event, MegolmEvent):
                        raise RuntimeError(f"{label}: a reply the driver cannot decrypt")
                    relation = event.source.get("content", {}).get("m.relates_to", {})
                    if relation.get("m.in_reply_to", {}).get("event_id") == sent.event_id:
                        return time.perf_counter() - t0

        print(f"{label}: bot joined", file=sys.stderr, flush=True)
        for n in range(8):
            await turn(TURNS[n % len(TURNS)])
        print(f"{label}: warmed up", file=sys.stderr, flush=True)
        await asyncio.sleep(1)
        cpu_before = cpu_seconds(process.pid)
        rtts = []
        for n in range(turns):
            rtts.append(await turn(TURNS[n % len(TURNS)]))
            await asyncio.sleep(args.think_ms / 1000)
        await asyncio.sleep(1)
        cpu = cpu_seconds(process.pid) - cpu_before
        memory = memory_kib(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        await driver.close()
        await observer.close()
    shutil.rmtree(workdir, ignore_errors=True)
    rtts.sort()
    return {
        "bot": label, "turns": turns,
        "p50_ms": round(statistics.median(rtts) * 1000, 1),
        "p99_ms": round(rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))] * 1000, 1),
        "cpu_ms_per_reply": round(cpu / turns * 1000, 2),
        "rss_mib": round(memory.get("VmRSS", 0) / 1024, 1),
        "private_dirty_mib": round(memory.get("Private_Dirty", 0) / 1024, 1),
    }


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fabrique", required=True, help="the fabrique binary (a release build)")
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--think-ms", type=int, default=150)
    parser.add_argument("--json")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:6]
    here = os.path.dirname(os.path.abspath(__file__))

    def fabrique(bot, workdir):
        config = os.path.join(workdir, "matrix.yaml")
        with open(config, "w") as f:
            f.write("reactions: false\n")
            # One client sends every turn: the per-person pace (issue 21) is for people, not this load.
            f.write("rate_limit:\n  burst: 100000\n  refill_seconds: 1\n")
        os.chmod(config, 0o600)
        return [args.fabrique, "matrix", "--homeserver", args.homeserver, "--user", bot.user_id, "--config", config,
                "--db", os.path.join(workdir, "bot.sqlite"), "--log-level", "warning"]

    def echo(bot, workdir):
        return [sys.executable, os.path.join(here, "echo_bot.py"), args.homeserver, bot.user_id, bot.password, os.path.join(workdir, "echo-store")]

    runs = [("fabrique-plain", fabrique, False), ("fabrique-e2e", fabrique, True), ("nio-echo-e2e", echo, True)]
    async with aiohttp.ClientSession() as session:
        results = [await measure(session, args, label, command, encrypted, args.turns, tag) for label, command, encrypted in runs]
    print("| bot | turns | p50 round trip | p99 round trip | CPU per reply | RSS | private dirty |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['bot']} | {r['turns']} | {r['p50_ms']} ms | {r['p99_ms']} ms | {r['cpu_ms_per_reply']} ms | {r['rss_mib']} MiB | {r['private_dirty_mib']} MiB |")
    by = {r["bot"]: r for r in results}
    print(f"\nCPU per reply, encrypted against plain: {by['fabrique-e2e']['cpu_ms_per_reply'] / by['fabrique-plain']['cpu_ms_per_reply']:.2f}×; "
          f"against the encrypting nio echo bot: {by['fabrique-e2e']['cpu_ms_per_reply'] / by['nio-echo-e2e']['cpu_ms_per_reply']:.2f}×")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    asyncio.run(main())
