import Foundation

/// The stored form of a session: plain JSON written through `JSONSerialization`, which is several times
/// cheaper than `Codable` here, and a session is read and written on every turn.
///
/// Fields missing from an older stored session take their empty value, as in ``init(from:)``.
extension DialogueSession {
    public func storageJSON() throws -> String {
        var object: [String: Any] = [
            "dialogueID": dialogueID, "revision": revision, "phase": phase.rawValue, "attempts": attempts,
            "status": status.rawValue, "answers": answers.mapValues(\.storage), "authors": authors,
            "answerCounts": answerCounts, "discussed": discussed, "history": history, "listDraft": listDraft,
            "pendingComments": pendingComments, "startedAt": startedAt.timeIntervalSince1970,
            "updatedAt": updatedAt.timeIntervalSince1970,
        ]
        if let stepID { object["stepID"] = stepID }
        if let listDraftFor { object["listDraftFor"] = listDraftFor }
        if let returnTo { object["returnTo"] = returnTo }
        if let commentFor { object["commentFor"] = commentFor }
        if let commentBy { object["commentBy"] = commentBy }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// - Throws: ``StorageError`` when the text is not a stored session.
    public init(storageJSON: String) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(storageJSON.utf8)) as? [String: Any],
            let dialogueID = object["dialogueID"] as? String, let started = (object["startedAt"] as? NSNumber)?.doubleValue
        else { throw StorageError.notASession }
        self.init(dialogueID: dialogueID, revision: object["revision"] as? String ?? "", now: Date(timeIntervalSince1970: started))
        stepID = object["stepID"] as? String
        phase = (object["phase"] as? String).flatMap(Phase.init(rawValue:)) ?? .answer
        attempts = (object["attempts"] as? NSNumber)?.intValue ?? 0
        status = (object["status"] as? String).flatMap(Status.init(rawValue:)) ?? .active
        if let stored = object["answers"] as? [String: Any] {
            for (name, value) in stored { answers[name] = AnswerValue(storage: value) }
        }
        authors = object["authors"] as? [String: String] ?? [:]
        if let counts = object["answerCounts"] as? [String: Any] {
            for (step, n) in counts { answerCounts[step] = (n as? NSNumber)?.intValue }
        }
        discussed = object["discussed"] as? [String] ?? []
        history = object["history"] as? [String] ?? []
        listDraft = object["listDraft"] as? [String] ?? []
        listDraftFor = object["listDraftFor"] as? String
        returnTo = object["returnTo"] as? String
        commentFor = object["commentFor"] as? String
        commentBy = object["commentBy"] as? String
        pendingComments = object["pendingComments"] as? [String: String] ?? [:]
        updatedAt = (object["updatedAt"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue) } ?? startedAt
    }

    public enum StorageError: Error { case notASession }
}

extension AnswerValue {
    /// `{"t": kind, "v": value}`: JSON-ready, and unambiguous between a text and a choice.
    var storage: [String: Any] {
        switch self {
        case .text(let s): ["t": "text", "v": s]
        case .choice(let s): ["t": "choice", "v": s]
        case .multi(let items): ["t": "multi", "v": items]
        case .yesno(let b): ["t": "yesno", "v": b]
        case .scale(let n): ["t": "scale", "v": n]
        case .number(let n): ["t": "number", "v": n]
        case .list(let items): ["t": "list", "v": items]
        }
    }

    init?(storage: Any) {
        guard let object = storage as? [String: Any], let kind = object["t"] as? String else { return nil }
        let value = object["v"]
        switch kind {
        case "text": guard let s = value as? String else { return nil }; self = .text(s)
        case "choice": guard let s = value as? String else { return nil }; self = .choice(s)
        case "multi": guard let items = value as? [String] else { return nil }; self = .multi(items)
        case "list": guard let items = value as? [String] else { return nil }; self = .list(items)
        case "yesno": guard let b = value as? Bool else { return nil }; self = .yesno(b)
        case "scale": guard let n = (value as? NSNumber)?.intValue else { return nil }; self = .scale(n)
        case "number": guard let n = (value as? NSNumber)?.doubleValue else { return nil }; self = .number(n)
        default: return nil
        }
    }
}
