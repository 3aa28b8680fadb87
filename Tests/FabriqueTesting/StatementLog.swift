import GRDB
import Synchronization
import XCTest

/// Every SQL statement a test's database ran, in order, as GRDB's test base records `sqlQueries`.
///
/// Hand ``prepareDatabase`` to the store (`StateStore(path:prepareDatabase:)`): it traces each connection
/// the store opens.
public final class StatementLog: Sendable {
    let recorded = Mutex<[String]>([])

    public init() {}

    /// Installs the trace on a connection.
    public var prepareDatabase: @Sendable (Database) throws -> Void {
        { [self] db in db.trace(options: .statement) { event in self.recorded.withLock { $0.append("\(event)") } } }
    }

    /// Every statement so far, oldest first.
    public var statements: [String] { recorded.withLock { $0 } }

    /// How many statements ran so far: a mark for ``statements(since:)``.
    public var count: Int { recorded.withLock { $0.count } }

    /// The statements run since `mark` (a ``count`` read earlier).
    public func statements(since mark: Int) -> [String] {
        recorded.withLock { Array($0[min(mark, $0.count)...]) }
    }

    /// The statements `work` ran.
    public func statements(during work: () throws -> Void) rethrows -> [String] {
        let mark = count
        try work()
        return statements(since: mark)
    }

    /// Forgets what was recorded (the bench does once the schema is migrated).
    public func removeAll() { recorded.withLock { $0.removeAll() } }

    /// Asserts that `statements` are exactly `turns` transactions, one after the other (`BEGIN`…`COMMIT`,
    /// never a `ROLLBACK`), and that every write among them is inside one: what "one transaction per turn"
    /// means for a run of `turns` handled messages.
    public static func assertTransactions(
        _ statements: [String], count turns: Int, _ message: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line
    ) {
        if let problem = transactionProblem(in: statements, count: turns) {
            XCTFail("\(problem) \(message())\n" + statements.joined(separator: "\n"), file: file, line: line)
        }
    }

    /// What keeps `statements` from being exactly `turns` transactions, or nil.
    public static func transactionProblem(in statements: [String], count turns: Int) -> String? {
        var shape: [String] = []
        var open = false
        var outside: [String] = []
        for statement in statements {
            let verb = statement.prefix { !$0.isWhitespace }.uppercased()
            switch verb {
            case "BEGIN", "COMMIT", "END", "ROLLBACK":
                shape.append(verb == "END" ? "COMMIT" : verb)
                open = verb == "BEGIN"
            case "INSERT", "UPDATE", "DELETE", "REPLACE":
                if !open { outside.append(statement) }
            default:
                break
            }
        }
        let expected = Array(repeating: ["BEGIN", "COMMIT"], count: turns).flatMap { $0 }
        if shape != expected { return "expected \(turns) transaction(s), got \(shape.joined(separator: " "))" }
        if let write = outside.first { return "a write outside a transaction: \(write)" }
        return nil
    }
}
