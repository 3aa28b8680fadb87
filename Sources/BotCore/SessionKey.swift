/// Which conversation a dialogue session belongs to.
///
/// - `person`: one person in one room (`person:ROOM:USER`);
/// - `room`: the whole room shares it (`room:ROOM`);
/// - `thread`: one thread of a room (`thread:ROOM:ROOT`).
public struct SessionKey: Sendable, Hashable, CustomStringConvertible {
    public var scope: DialogueScope
    public var roomID: String
    /// The person (scope `person`) or the thread root (scope `thread`).
    public var detail: String?

    public static func person(_ roomID: String, _ userID: String) -> SessionKey {
        SessionKey(scope: .person, roomID: roomID, detail: userID)
    }
    public static func room(_ roomID: String) -> SessionKey { SessionKey(scope: .room, roomID: roomID, detail: nil) }
    public static func thread(_ roomID: String, _ rootID: String) -> SessionKey {
        SessionKey(scope: .thread, roomID: roomID, detail: rootID)
    }

    /// The key for `scope` as seen from `message`. A thread-scoped dialogue started outside a thread
    /// takes the starting message as its thread root.
    public static func key(_ scope: DialogueScope, for message: IncomingMessage) -> SessionKey {
        switch scope {
        case .person: .person(message.roomID, message.senderID)
        case .room: .room(message.roomID)
        case .thread: .thread(message.roomID, message.threadID ?? message.eventID)
        }
    }

    /// The stored form. Parts are length-prefixed so no id can forge another key.
    public var rawValue: String {
        var key = scope.rawValue
        for part in [roomID, detail] {
            guard let part else { continue }
            key += ":"
            key += String(part.utf8.count)
            key += ":"
            key += part
        }
        return key
    }

    public var description: String { rawValue }

    /// The thread replies of this session belong in.
    public var threadID: String? { scope == .thread ? detail : nil }
}
