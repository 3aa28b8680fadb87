import FabriqueJSON

/// How an answer value is stored, in the `answer.value` column and in a stored session: one member
/// named after the case, holding `{"_0": payload}` (`{"text":{"_0":"…"}}`), the shape Swift's synthesized
/// `Codable` gave an enum with an unlabeled payload when the first databases were written.
extension AnswerValue {
    /// Reads a stored value; throws ``JSON/Malformed`` for a case or payload this version does not know.
    public init(stored json: JSON) throws {
        guard let object = json.object, object.count == 1, let (key, wrapper) = object.first, let payload = wrapper["_0"] else {
            throw JSON.Malformed()
        }
        switch key {
        case "text": self = .text(try payload.decodeString())
        case "choice": self = .choice(try payload.decodeString())
        case "multi": self = .multi(try payload.decodeStrings())
        case "yesno": self = .yesno(try payload.decodeBool())
        case "scale": self = .scale(try payload.decodeInteger())
        case "number": self = .number(try payload.decodeNumber())
        case "list": self = .list(try payload.decodeStrings())
        default: throw JSON.Malformed()
        }
    }

    /// Reads the `answer.value` column; nil when it is not a value this version knows.
    public init?(storedText: String) {
        guard let json = JSON.parse(storedText), let value = try? AnswerValue(stored: json) else { return nil }
        self = value
    }

    /// The stored text (the `answer.value` column).
    public var storedText: String {
        var w = JSONWriter()
        write(into: &w)
        return w.text
    }

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
}
