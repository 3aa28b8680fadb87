import Foundation

/// A JSON value decoded leniently. The Matrix adapter reads events from other servers and clients
/// through it, treating any missing or mistyped field as "not there" instead of failing a batch; the
/// store writes what every turn saves with it (``StoredCoding``), far cheaper than Foundation's coders.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    /// Parses `data`; nil when it is not JSON at all.
    public static func parse(_ data: Data) -> JSON? {
        data.withUnsafeBytes { raw in
            try? JSONParser.parse(raw.bindMemory(to: UInt8.self))
        }
    }

    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var number: Double? { if case .number(let n) = self { n } else { nil } }
    public var int: Int? { number.flatMap { $0.isFinite && abs($0) < 9e15 ? Int($0) : nil } }
    public var array: [JSON]? { if case .array(let a) = self { a } else { nil } }
    public var object: [String: JSON]? { if case .object(let o) = self { o } else { nil } }

    /// Serialises to compact JSON with sorted keys (stable bytes for tests and logs).
    public func data() -> Data {
        var writer = JSONWriter()
        writer.value(self)
        return Data(writer.bytes)
    }

    /// The same bytes as ``data()``, as text.
    public func text() -> String {
        var writer = JSONWriter()
        writer.value(self)
        return writer.text
    }
}

/// Compact JSON written straight into bytes, for ``JSON`` values and for what the store writes every turn
/// without building a ``JSON`` value first. Object keys are written in the order they are given: callers
/// give them sorted, as ``JSON/text()`` writes them.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Per open object or array: whether it has no element yet.
    private var empty: [Bool] = []

    init() { bytes.reserveCapacity(256) }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    mutating func value(_ json: JSON) {
        switch json {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let n): number(n)
        case .string(let s): string(s)
        case .array(let a):
            beginArray()
            for element in a { value(element) }
            endArray()
        case .object(let o):
            beginObject()
            for (key, element) in o.sorted(by: { $0.key < $1.key }) {
                self.key(key)
                value(element)
            }
            endObject()
        }
    }

    mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); empty.append(true) }
    mutating func endObject() { bytes.append(UInt8(ascii: "}")); empty.removeLast() }
    mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); empty.append(true) }
    mutating func endArray() { bytes.append(UInt8(ascii: "]")); empty.removeLast() }

    /// An object member's key; its value follows.
    mutating func key(_ key: String) {
        separate()
        write(key)
        bytes.append(UInt8(ascii: ":"))
        empty[empty.count - 1] = true  // the value that follows takes no comma
    }

    /// A key written in the source (a field name, nothing to escape): ``key(_:)`` without the scan.
    mutating func field(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        empty[empty.count - 1] = true
    }

    mutating func null() { separate(); append("null") }
    mutating func bool(_ b: Bool) { separate(); append(b ? "true" : "false") }
    mutating func string(_ s: String) { separate(); write(s) }

    mutating func strings(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    mutating func number(_ n: Double) {
        separate()
        if n.rounded() == n, abs(n) < 9e15 { bytes.append(contentsOf: String(Int64(n)).utf8) } else if n.isFinite { bytes.append(contentsOf: "\(n)".utf8) } else { append("null") }
    }

    /// A comma before every element of an array or member of an object but the first.
    private mutating func separate() {
        guard let last = empty.last else { return }
        if last { empty[empty.count - 1] = false } else { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private mutating func write(_ s: String) {
        var s = s
        s.withUTF8 { write(utf8: $0) }
    }

    private mutating func write(utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        guard utf8.contains(where: Self.needsEscape) else {
            bytes.append(contentsOf: utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        let hex: StaticString = "0123456789abcdef"
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0..<0x20, 0x7F:
                append("\\u00")
                hex.withUTF8Buffer { digits in
                    bytes.append(digits[Int(byte >> 4)])
                    bytes.append(digits[Int(byte & 0xF)])
                }
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSON: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSON].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 9e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
