/// Which question of which run a bot message asks: given to adapters as ``OutgoingMessage/anchor`` and
/// handed back as ``IncomingMessage/anchor`` when someone replies to that message or reacts on it.
///
/// Stored as `q1:RUN:LEN:STEP:KEY` (the step id length-prefixed, then the session key's own stored
/// form), so no step id or room id can forge another anchor's parts.
struct QuestionAnchor: Hashable {
    var key: SessionKey
    var run: Int
    var step: String

    var rawValue: String { "q1:\(run):\(step.utf8.count):\(step):\(key.rawValue)" }

    init(key: SessionKey, run: Int, step: String) {
        self.key = key
        self.run = run
        self.step = step
    }

    init?(rawValue: String) {
        var rest = Substring(rawValue)
        guard rest.hasPrefix("q1:") else { return nil }
        rest = rest.dropFirst(3)
        guard let colon = rest.firstIndex(of: ":"), let run = Int(rest[..<colon]) else { return nil }
        rest = rest[rest.index(after: colon)...]
        guard let colon2 = rest.firstIndex(of: ":"), let length = Int(rest[..<colon2]), length > 0 else { return nil }
        let start = rest.utf8.index(after: colon2)
        guard let end = rest.utf8.index(start, offsetBy: length, limitedBy: rest.utf8.endIndex), end < rest.endIndex, rest[end] == ":"
        else { return nil }
        guard let key = SessionKey(rawValue: String(rest[rest.index(after: end)...])) else { return nil }
        self.init(key: key, run: run, step: String(rest[start..<end]))
    }
}

extension SessionKey {
    /// Reads a stored key (``rawValue``); nil when it is not one.
    public init?(rawValue: String) {
        guard let colon = rawValue.firstIndex(of: ":"), let scope = DialogueScope(rawValue: String(rawValue[..<colon])) else { return nil }
        var rest = rawValue[rawValue.index(after: colon)...]
        var parts: [String] = []
        while !rest.isEmpty {
            guard let sep = rest.firstIndex(of: ":"), let length = Int(rest[..<sep]) else { return nil }
            let start = rest.utf8.index(after: sep)
            guard let end = rest.utf8.index(start, offsetBy: length, limitedBy: rest.utf8.endIndex) else { return nil }
            parts.append(String(rest[start..<end]))
            rest = rest[end...]
            if rest.first == ":" { rest = rest.dropFirst() } else if !rest.isEmpty { return nil }
        }
        switch (scope, parts.count) {
        case (.room, 1): self = .room(parts[0])
        case (.person, 2): self = .person(parts[0], parts[1])
        case (.thread, 2): self = .thread(parts[0], parts[1])
        default: return nil
        }
    }
}
