import Foundation

/// A JSON value decoded leniently. The Matrix adapter reads events from other servers and clients
/// through it, treating any missing or mistyped field as "not there" instead of failing a batch; the
/// engine's store reads what every turn saves with it and writes it with ``JSONWriter``, far cheaper
/// than Foundation's coders.
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

    /// Parses `text`; nil when it is not JSON at all.
    public static func parse(_ text: String) -> JSON? {
        var text = text
        return text.withUTF8 { bytes in try? JSONParser.parse(bytes) }
    }

    @inlinable
    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    @inlinable public var string: String? { if case .string(let s) = self { s } else { nil } }
    @inlinable public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    @inlinable public var number: Double? { if case .number(let n) = self { n } else { nil } }
    @inlinable public var int: Int? { number.flatMap { $0.isFinite && abs($0) < 9e15 ? Int($0) : nil } }
    @inlinable public var array: [JSON]? { if case .array(let a) = self { a } else { nil } }
    @inlinable public var object: [String: JSON]? { if case .object(let o) = self { o } else { nil } }

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

/// Compact JSON written straight into bytes, for ``JSON`` values and for shapes written field by field
/// without building a ``JSON`` value first. Object keys are written in the order they are given: callers
/// give them sorted, as ``JSON/text()`` writes them.
///
///     var w = JSONWriter()
///     w.beginObject()
///     w.field("id"); w.string("e#0")
///     w.field("tags"); w.strings(["a"])
///     w.endObject()
///     w.text // {"id":"e#0","tags":["a"]}
public struct JSONWriter: Sendable {
    /// What was written so far.
    @usableFromInline var buffer: [UInt8] = []
    /// Per open object or array: whether it has no element yet.
    @usableFromInline var empty: [Bool] = []

    @inlinable
    public init() { buffer.reserveCapacity(256) }

    /// The bytes written so far.
    @inlinable
    public var bytes: [UInt8] { buffer }

    /// The bytes written so far, as text.
    @inlinable
    public var text: String { String(decoding: buffer, as: UTF8.self) }

    public mutating func value(_ json: JSON) {
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

    @inlinable
    public mutating func beginObject() { separate(); buffer.append(UInt8(ascii: "{")); empty.append(true) }
    @inlinable
    public mutating func endObject() { buffer.append(UInt8(ascii: "}")); empty.removeLast() }
    @inlinable
    public mutating func beginArray() { separate(); buffer.append(UInt8(ascii: "[")); empty.append(true) }
    @inlinable
    public mutating func endArray() { buffer.append(UInt8(ascii: "]")); empty.removeLast() }

    /// An object member's key; its value follows.
    @inlinable
    public mutating func key(_ key: String) {
        separate()
        write(key)
        buffer.append(UInt8(ascii: ":"))
        empty[empty.count - 1] = true  // the value that follows takes no comma
    }

    /// A key written in the source (a field name, nothing to escape): ``key(_:)`` without the scan.
    @inlinable
    public mutating func field(_ name: StaticString) {
        separate()
        buffer.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { buffer.append(contentsOf: $0) }
        buffer.append(UInt8(ascii: "\""))
        buffer.append(UInt8(ascii: ":"))
        empty[empty.count - 1] = true
    }

    @inlinable
    public mutating func null() { separate(); append("null") }
    @inlinable
    public mutating func bool(_ b: Bool) { separate(); append(b ? "true" : "false") }
    @inlinable
    public mutating func string(_ s: String) { separate(); write(s) }

    @inlinable
    public mutating func strings(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    /// A whole number as an integer (`3`, not `3.0`); a number that is not finite as `null`.
    @inlinable
    public mutating func number(_ n: Double) {
        separate()
        if n.rounded() == n, abs(n) < 9e15 {
            buffer.append(contentsOf: String(Int64(n)).utf8)
        } else if n.isFinite {
            buffer.append(contentsOf: "\(n)".utf8)
        } else {
            append("null")
        }
    }

    /// A comma before every element of an array or member of an object but the first.
    @inlinable
    mutating func separate() {
        guard let last = empty.last else { return }
        if last { empty[empty.count - 1] = false } else { buffer.append(UInt8(ascii: ",")) }
    }

    @inlinable
    mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    @inlinable
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    @inlinable
    mutating func write(_ s: String) {
        var s = s
        s.withUTF8 { write(utf8: $0) }
    }

    @inlinable
    mutating func write(utf8: UnsafeBufferPointer<UInt8>) {
        buffer.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        guard utf8.contains(where: Self.needsEscape) else {
            buffer.append(contentsOf: utf8)
            buffer.append(UInt8(ascii: "\""))
            return
        }
        writeEscaped(utf8)
    }

    /// The rare string that needs escapes, byte by byte.
    @usableFromInline
    mutating func writeEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
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
                    buffer.append(digits[Int(byte >> 4)])
                    buffer.append(digits[Int(byte & 0xF)])
                }
            default: buffer.append(byte)
            }
        }
        buffer.append(UInt8(ascii: "\""))
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
