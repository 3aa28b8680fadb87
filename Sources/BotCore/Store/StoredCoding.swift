import FabriqueJSON

/// Reading what every turn stores: the dialogue session, each answer's value and each reply in the
/// outbox. Each shape is written and read next to its type (`DialogueSession+JSON.swift`,
/// `AnswerValue+JSON.swift`, `OutgoingMessage+JSON.swift`) with ``JSONWriter`` and ``JSON``, at a
/// fraction of the cost of Foundation's `JSONEncoder`/`JSONDecoder`, which took over half of the engine's
/// CPU per turn.
enum StoredCoding {
    /// A stored text as a JSON value; nil when it is not JSON at all.
    static func parse(_ text: String) -> JSON? {
        JSON.parse(text)
    }
}
