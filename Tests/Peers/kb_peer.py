"""A document shared in an end-to-end encrypted room and added to the knowledge base (issue 18).

Run by MatrixKnowledgeUploadTests with the test venv's Python:
    kb_peer.py HOMESERVER SHARED_SECRET BOT_USER_ID TAG WORKDIR FILE
alice (who creates the room, so facilitates it) opens an encrypted room with bob and the bot and binds it to a
territory; bob uploads FILE encrypted (matrix-nio's attachment encryption: AES-CTR, the key and hash in the
`file` object of the Megolm-encrypted `m.file` event, the media repository seeing only ciphertext). bob's own
`!kb add` in reply to it is refused; alice's is answered with the document's title; bob's question is then
answered from it. Prints `ok: ...` lines, then `RESULT {json}` (the room, the file's mxc address), exit 0;
`FAIL: ...` and exit 1 otherwise.
"""

import asyncio
import io
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2e_peer import Person, encrypted_room, fail, register, reply_to, until  # noqa: E402
from nio import RoomSendResponse, UploadResponse  # noqa: E402


async def send(person, room_id, content):
    response = await person.client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
    if not isinstance(response, RoomSendResponse):
        fail(f"{person.name} could not send {content.get('body')!r}: {response}")
    return response.event_id


async def ask(person, room_id, body, people, bot, reply=None):
    """`person` says `body` (as a reply to `reply` when given); returns the bot's decrypted answer's body."""
    content = {"msgtype": "m.text", "body": body}
    if reply:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply}}
    event_id = await send(person, room_id, content)
    await until(f"the bot's answer to {body!r}", lambda: reply_to(person, room_id, event_id) is not None, people, bot)
    return reply_to(person, room_id, event_id).source["content"]["body"]


async def main():
    homeserver, secret, bot, tag, workdir, path = sys.argv[1:7]
    alice = Person(homeserver, *register(homeserver, secret, f"alice-kb-{tag}"), workdir, "alice")
    bob = Person(homeserver, *register(homeserver, secret, f"bob-kb-{tag}"), workdir, "bob")
    people = [alice, bob]
    for person in people:
        await person.start()

    room = await encrypted_room(f"Documents {tag}", alice, [bob], bot)
    territory = f"Encrypted {tag}"
    answer = await ask(alice, room, f"!territory set {territory}", people, bot)
    print(f"ok: encrypted room bound to its territory ({answer[:60]!r})", flush=True)

    name = os.path.basename(path)
    data = open(path, "rb").read()
    uploaded, keys = await bob.client.upload(io.BytesIO(data), content_type="text/markdown", filename=name, encrypt=True, filesize=len(data))
    if not isinstance(uploaded, UploadResponse) or not keys:
        fail(f"bob could not upload {name}: {uploaded}")
    file = {"url": uploaded.content_uri, "key": keys["key"], "iv": keys["iv"], "hashes": keys["hashes"], "v": keys["v"]}
    shared = await send(
        bob, room, {"msgtype": "m.file", "body": name, "filename": name, "info": {"mimetype": "text/markdown", "size": len(data)}, "file": file})
    print("ok: bob shared an encrypted file", flush=True)

    refused = await ask(bob, room, "!kb add", people, bot, reply=shared)
    if refused != "Only a facilitator can add documents to the knowledge base.":
        fail(f"bob's !kb add: {refused!r}")
    print("ok: a member's !kb add is refused", flush=True)

    added = await ask(alice, room, "!kb add", people, bot, reply=shared)
    if not added.startswith(f"I added Planting a hedge to the knowledge base of {territory}") or "When to plant" not in added:
        fail(f"alice's !kb add: {added!r}")
    print("ok: the facilitator's !kb add decrypted and added the file", flush=True)

    answered = await ask(bob, room, "!ask when should we plant a hedge?", people, bot)
    if "between November and March" not in answered:
        fail(f"the question after the import: {answered!r}")
    print("ok: a question is answered from it", flush=True)

    print("RESULT " + json.dumps({"room": room, "mxc": uploaded.content_uri}), flush=True)
    for person in people:
        await person.close()


if __name__ == "__main__":
    asyncio.run(main())
