"""The peer baseline: a minimal matrix-nio bot that answers every text message with a notice
replying to it. Same job as Fabrique's transport, none of its work.

    python echo_bot.py HOMESERVER USER_ID PASSWORD
"""

import asyncio
import sys
import time

from nio import AsyncClient, RoomMessageText


async def main(homeserver: str, user: str, password: str) -> None:
    client = AsyncClient(homeserver, user)
    await client.login(password)
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
        )

    async def on_invite(room, event) -> None:
        await client.join(room.room_id)

    from nio import InviteMemberEvent

    client.add_event_callback(on_message, RoomMessageText)
    client.add_event_callback(on_invite, InviteMemberEvent)
    await client.sync_forever(timeout=30000)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
