import FabriqueJSON
import Foundation

/// How a session is stored (the `session.state` column): one object, compact, members in sorted key
/// order (as ``JSON/text()`` writes them), dates as seconds since 1970, optional members left out
/// when nil. Written straight into bytes: the engine saves a session on every turn.
extension DialogueSession {
    /// The stored text.
    public var storedText: String {
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
        if !attemptsBy.isEmpty { w.field("attemptsBy"); map(attemptsBy) { $0.number(Double($1)) } }
        w.field("authors"); map(authors) { $0.string($1) }
        if !byPerson.isEmpty {
            w.field("byPerson")
            map(byPerson) { w, values in
                w.beginObject()
                for person in values.keys.sorted() {
                    w.key(person)
                    values[person]!.write(into: &w)
                }
                w.endObject()
            }
        }
        optional("commentBy", commentBy)
        if !followUps.isEmpty {
            w.field("followUps")
            map(followUps) { w, followUp in
                w.beginObject()
                w.field("from"); w.string(followUp.from)
                w.field("name"); w.string(followUp.name)
                w.field("step"); w.string(followUp.step)
                w.endObject()
            }
        }
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
        if !shown.isEmpty { w.field("shown"); map(shown) { $0.string($1) } }
        if run != 1 { w.field("run"); w.number(Double(run)) }
        w.field("startedAt"); w.number(startedAt.timeIntervalSince1970)
        w.field("status"); w.string(status.rawValue)
        optional("stepID", stepID)
        w.field("updatedAt"); w.number(updatedAt.timeIntervalSince1970)
        w.endObject()
        return w.text
    }

    /// Reads sessions saved by any earlier version: only `dialogueID` and `startedAt` are required, fields
    /// added later take their empty value (`updatedAt` takes `startedAt`), and `null` reads as absent
    /// where a member is optional.
    /// - Throws: ``JSON/Malformed`` when a member is there with the wrong type, or names an unknown
    ///   phase, status or answer kind.
    public init(stored json: JSON) throws {
        guard json.object != nil, let dialogueID = json["dialogueID"]?.string, let started = json["startedAt"]?.number else {
            throw JSON.Malformed()
        }
        self.init(
            dialogueID: dialogueID, revision: try json["revision"]?.decodeStringOrNull() ?? "", now: Date(timeIntervalSince1970: started))
        stepID = try json["stepID"]?.decodeStringOrNull()
        if let raw = try json["phase"]?.decodeStringOrNull() { phase = try Phase(rawValue: raw) ?? { throw JSON.Malformed() }() }
        if let value = json["attempts"], value != .null { attempts = try value.decodeInteger() }
        if let raw = try json["status"]?.decodeStringOrNull() { status = try Status(rawValue: raw) ?? { throw JSON.Malformed() }() }
        answers = try json["answers"]?.decodeObject { try AnswerValue(stored: $0) } ?? [:]
        authors = try json["authors"]?.decodeObject { try $0.decodeString() } ?? [:]
        answerCounts = try json["answerCounts"]?.decodeObject { try $0.decodeInteger() } ?? [:]
        discussed = try json["discussed"]?.decodeStrings() ?? []
        history = try json["history"]?.decodeStrings() ?? []
        listDraft = try json["listDraft"]?.decodeStrings() ?? []
        listDraftFor = try json["listDraftFor"]?.decodeStringOrNull()
        returnTo = try json["returnTo"]?.decodeStringOrNull()
        commentFor = try json["commentFor"]?.decodeStringOrNull()
        commentBy = try json["commentBy"]?.decodeStringOrNull()
        pendingComments = try json["pendingComments"]?.decodeObject { try $0.decodeString() } ?? [:]
        if let value = json["run"], value != .null { run = try value.decodeInteger() }
        attemptsBy = try json["attemptsBy"]?.decodeObject { try $0.decodeInteger() } ?? [:]
        byPerson = try json["byPerson"]?.decodeObject { try $0.decodeObject { try AnswerValue(stored: $0) } } ?? [:]
        followUps =
            try json["followUps"]?.decodeObject {
                guard let step = $0["step"]?.string, let from = $0["from"]?.string else { throw JSON.Malformed() }
                return FollowUp(step: step, from: from, name: $0["name"]?.string ?? "")
            } ?? [:]
        shown = try json["shown"]?.decodeObject { try $0.decodeString() } ?? [:]
        if let updated = json["updatedAt"], updated != .null {
            updatedAt = Date(timeIntervalSince1970: try updated.decodeNumber())
        }
    }
}
