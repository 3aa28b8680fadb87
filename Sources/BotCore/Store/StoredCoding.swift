import FabriqueJSON
import Foundation

/// Hand-written JSON for what every turn reads and writes: the dialogue session, each answer's value
/// and each reply in the outbox. The shapes are exactly those of the `Codable` conformances (rows
/// written by either read back with the other; a test pins it), at a fraction of the cost: Foundation's
/// `JSONEncoder`/`JSONDecoder` took over half of the engine's CPU per turn.
enum StoredCoding {
    struct Malformed: Error {}

    static func parse(_ text: String) -> JSON? {
        JSON.parse(text)
    }

    static func strings(_ value: JSON?) throws -> [String]? {
        guard let value else { return nil }
        guard let array = value.array else { throw Malformed() }
        return try array.map { try $0.string ?? { throw Malformed() }() }
    }

    static func map<T>(_ value: JSON?, _ transform: (JSON) throws -> T) throws -> [String: T]? {
        guard let value else { return nil }
        guard let object = value.object else { throw Malformed() }
        return try object.mapValues(transform)
    }

    static func text(_ value: JSON?) throws -> String? {
        guard let value, value != .null else { return nil }
        guard let s = value.string else { throw Malformed() }
        return s
    }

    static func integer(_ value: JSON) throws -> Int {
        guard let n = value.number, n.rounded() == n, let i = value.int else { throw Malformed() }
        return i
    }
}

extension AnswerValue {
    init(stored json: JSON) throws {
        guard let object = json.object, object.count == 1, let (key, wrapper) = object.first, let payload = wrapper["_0"] else {
            throw StoredCoding.Malformed()
        }
        switch key {
        case "text": self = .text(try payload.string ?? { throw StoredCoding.Malformed() }())
        case "choice": self = .choice(try payload.string ?? { throw StoredCoding.Malformed() }())
        case "multi": self = .multi(try StoredCoding.strings(payload) ?? [])
        case "yesno": self = .yesno(try payload.bool ?? { throw StoredCoding.Malformed() }())
        case "scale": self = .scale(try StoredCoding.integer(payload))
        case "number": self = .number(try payload.number ?? { throw StoredCoding.Malformed() }())
        case "list": self = .list(try StoredCoding.strings(payload) ?? [])
        default: throw StoredCoding.Malformed()
        }
    }

    /// `{"text":{"_0":"…"}}`, as the synthesized `Codable` writes an enum with an unlabeled payload.
    func write(into w: inout JSONWriter) {
        w.beginObject()
        switch self {
        case .text(let s): w.field("text"); wrapped(&w) { $0.string(s) }
        case .choice(let s): w.field("choice"); wrapped(&w) { $0.string(s) }
        case .multi(let items): w.field("multi"); wrapped(&w) { $0.strings(items) }
        case .yesno(let b): w.field("yesno"); wrapped(&w) { $0.bool(b) }
        case .scale(let n): w.field("scale"); wrapped(&w) { $0.number(Double(n)) }
        case .number(let n): w.field("number"); wrapped(&w) { $0.number(n) }
        case .list(let items): w.field("list"); wrapped(&w) { $0.strings(items) }
        }
        w.endObject()
    }

    private func wrapped(_ w: inout JSONWriter, _ payload: (inout JSONWriter) -> Void) {
        w.beginObject()
        w.field("_0")
        payload(&w)
        w.endObject()
    }

    /// The stored text of an answer value (the `answer.value` column).
    var storedText: String {
        var w = JSONWriter()
        write(into: &w)
        return w.text
    }

    /// Reads the `answer.value` column; nil when it is not a value this version knows.
    init?(storedText: String) {
        guard let json = StoredCoding.parse(storedText), let value = try? AnswerValue(stored: json) else { return nil }
        self = value
    }
}

extension DialogueSession {
    /// The stored text: the `Codable` shape, compact, members in sorted key order (as ``JSON/text()``
    /// writes them), written straight into bytes.
    var storedText: String {
        var w = JSONWriter()
        func map<V>(_ values: [String: V], _ write: (inout JSONWriter, V) -> Void) {
            w.beginObject()
            for key in values.keys.sorted() {
                w.key(key)
                write(&w, values[key]!)
            }
            w.endObject()
        }
        func optional(_ name: StaticString, _ value: String?) {
            if let value { w.field(name); w.string(value) }
        }
        w.beginObject()
        w.field("answerCounts"); map(answerCounts) { $0.number(Double($1)) }
        w.field("answers"); map(answers) { $1.write(into: &$0) }
        w.field("attempts"); w.number(Double(attempts))
        w.field("authors"); map(authors) { $0.string($1) }
        optional("commentBy", commentBy)
        optional("commentFor", commentFor)
        w.field("dialogueID"); w.string(dialogueID)
        w.field("discussed"); w.strings(discussed)
        w.field("history"); w.strings(history)
        w.field("listDraft"); w.strings(listDraft)
        optional("listDraftFor", listDraftFor)
        w.field("pendingComments"); map(pendingComments) { $0.string($1) }
        w.field("phase"); w.string(phase.rawValue)
        optional("returnTo", returnTo)
        w.field("revision"); w.string(revision)
        w.field("startedAt"); w.number(startedAt.timeIntervalSince1970)
        w.field("status"); w.string(status.rawValue)
        optional("stepID", stepID)
        w.field("updatedAt"); w.number(updatedAt.timeIntervalSince1970)
        w.endObject()
        return w.text
    }

    /// Reads sessions saved by any earlier version, as the `Codable` initializer does: fields added
    /// later take their empty value.
    init(stored json: JSON) throws {
        guard json.object != nil, let dialogueID = json["dialogueID"]?.string, let started = json["startedAt"]?.number else {
            throw StoredCoding.Malformed()
        }
        self.init(dialogueID: dialogueID, revision: try StoredCoding.text(json["revision"]) ?? "", now: Date(timeIntervalSince1970: started))
        stepID = try StoredCoding.text(json["stepID"])
        if let raw = try StoredCoding.text(json["phase"]) { phase = try Phase(rawValue: raw) ?? { throw StoredCoding.Malformed() }() }
        if let value = json["attempts"], value != .null { attempts = try StoredCoding.integer(value) }
        if let raw = try StoredCoding.text(json["status"]) { status = try Status(rawValue: raw) ?? { throw StoredCoding.Malformed() }() }
        answers = try StoredCoding.map(json["answers"]) { try AnswerValue(stored: $0) } ?? [:]
        authors = try StoredCoding.map(json["authors"]) { try $0.string ?? { throw StoredCoding.Malformed() }() } ?? [:]
        answerCounts = try StoredCoding.map(json["answerCounts"]) { try StoredCoding.integer($0) } ?? [:]
        discussed = try StoredCoding.strings(json["discussed"]) ?? []
        history = try StoredCoding.strings(json["history"]) ?? []
        listDraft = try StoredCoding.strings(json["listDraft"]) ?? []
        listDraftFor = try StoredCoding.text(json["listDraftFor"])
        returnTo = try StoredCoding.text(json["returnTo"])
        commentFor = try StoredCoding.text(json["commentFor"])
        commentBy = try StoredCoding.text(json["commentBy"])
        pendingComments = try StoredCoding.map(json["pendingComments"]) { try $0.string ?? { throw StoredCoding.Malformed() }() } ?? [:]
        if let updated = json["updatedAt"], updated != .null {
            updatedAt = Date(timeIntervalSince1970: try updated.number ?? { throw StoredCoding.Malformed() }())
        }
    }
}

extension OutgoingMessage {
    /// The outbox payload, as ``DialogueSession/storedText`` writes a session; the plain text is left out
    /// when it is the Markdown's own.
    var storedText: String {
        var w = JSONWriter()
        w.beginObject()
        if !choices.isEmpty { w.field("choices"); w.strings(choices) }
        w.field("id"); w.string(id)
        w.field("markdown"); w.string(markdown)
        if !mentions.isEmpty { w.field("mentions"); w.strings(mentions) }
        if plain != Markdown.plainText(markdown) { w.field("plain"); w.string(plain) }
        if let replyToEventID { w.field("replyToEventID"); w.string(replyToEventID) }
        w.field("roomID"); w.string(roomID)
        w.field("style"); w.string(style.rawValue)
        if let threadID { w.field("threadID"); w.string(threadID) }
        w.endObject()
        return w.text
    }

    init(stored json: JSON) throws {
        guard let id = json["id"]?.string, let roomID = json["roomID"]?.string, let markdown = json["markdown"]?.string else {
            throw StoredCoding.Malformed()
        }
        var style = OutgoingStyle.notice
        if let raw = try StoredCoding.text(json["style"]) { style = try OutgoingStyle(rawValue: raw) ?? { throw StoredCoding.Malformed() }() }
        self.init(
            id: id, roomID: roomID, markdown: markdown, plain: try StoredCoding.text(json["plain"]),
            replyToEventID: try StoredCoding.text(json["replyToEventID"]), threadID: try StoredCoding.text(json["threadID"]),
            choices: try StoredCoding.strings(json["choices"]) ?? [], style: style, mentions: try StoredCoding.strings(json["mentions"]) ?? [])
    }
}
