/// Typed reads for shapes stored as JSON (a saved session, an outbox row): unlike the lenient accessors
/// (``JSON/string``, ``JSON/int``…), which say "not there" to anything unexpected, these throw
/// ``JSON/Malformed``, so that a row that is not what its reader expects is refused as a whole.
///
///     let history = try json["history"]?.decodeStrings() ?? []  // absent: []; ["a", 1]: throws
extension JSON {
    /// A value is not of the shape its reader expects.
    public struct Malformed: Error, Sendable {
        @inlinable
        public init() {}
    }

    /// This string; throws ``Malformed`` for any other value.
    @inlinable
    public func decodeString() throws -> String {
        guard case .string(let s) = self else { throw Malformed() }
        return s
    }

    /// This string, or nil for `null`; throws ``Malformed`` for any other value.
    @inlinable
    public func decodeStringOrNull() throws -> String? {
        self == .null ? nil : try decodeString()
    }

    @inlinable
    public func decodeBool() throws -> Bool {
        guard case .bool(let b) = self else { throw Malformed() }
        return b
    }

    @inlinable
    public func decodeNumber() throws -> Double {
        guard case .number(let n) = self else { throw Malformed() }
        return n
    }

    /// A whole number that fits an `Int`; throws ``Malformed`` for `1.5` as for `"1"`.
    @inlinable
    public func decodeInteger() throws -> Int {
        guard let n = number, n.rounded() == n, let i = int else { throw Malformed() }
        return i
    }

    /// An array of strings; throws ``Malformed`` for anything else, an array holding a number included.
    @inlinable
    public func decodeStrings() throws -> [String] {
        guard case .array(let elements) = self else { throw Malformed() }
        return try elements.map { try $0.decodeString() }
    }

    /// An object, each member's value read by `element`; throws ``Malformed`` for anything else.
    @inlinable
    public func decodeObject<T>(_ element: (JSON) throws -> T) throws -> [String: T] {
        guard case .object(let members) = self else { throw Malformed() }
        return try members.mapValues(element)
    }
}
