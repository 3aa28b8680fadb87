"""The peer baseline: a minimal matrix-nio bot that answers every text message with a notice
replying to it. Same job as Fabrique's transport, none of its work.

    python echo_bot.py HOMESERVER USER_ID PASSWORD [E2E_STORE_DIR]

With E2E_STORE_DIR it encrypts and decrypts (matrix-nio's end-to-end extra, on vodozemac), keeping its
keys there: the peer baseline for encrypted rooms (bench_e2e.py).
"""

import asyncio
import os
import sys
import time

from nio import AsyncClient, AsyncClientConfig, RoomMessageText


async def main(homeserver: str, user: str, password: str, store: str | None = None) -> None:
    if store:
        os.makedirs(store, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
        client = AsyncClient(homeserver, user, store_path=store, config=config)
    else:
        client = AsyncClient(homeserver, user)
    await client.login(password)
    if store and client.should_upload_keys:
        await client.keys_upload()
    started_ms = int(time.time() * 1000)

    async def on_message(room, event: RoomMessageText) -> None:
        if event.sender == client.user_id or event.server_timestamp < started_ms:
            return
        await client.room_send(
            room.room_id,
            "m.room.message",
            {
                "msgtype": "m.notice",
                "body": event.body,
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
                "m.mentions": {},
            },
            ignore_unverified_devices=True,
        )

    async def on_invite(room, event) -> None:
        await client.join(room.room_id)

    from nio import InviteMemberEvent

    client.add_event_callback(on_message, RoomMessageText)
    client.add_event_callback(on_invite, InviteMemberEvent)
    await client.sync_forever(timeout=30000)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
