import BotCore
import Foundation
import Synchronization

/// The terminal: one person in one room by default, and a test bench for authors.
///
/// Lines starting with `/` steer the bench (`/as alice`, `/in room-b`, `/dm`, `/who`, `/wait 2d`, `/quit`).
/// A line `alice@room-1> text` speaks as alice in room-1 (the transcript form). Rooms named `dm-…` are
/// direct rooms; others are group rooms, where the bot answers only when addressed or awaited.
///
/// `/swap FILE NEW` copies NEW over FILE of the dialogues in service (a bench's working copy) and `/remove FILE`
/// deletes it; either then says `!reload` as the current person (bare or after `alice@room-1> `).
///
/// `/reply N TEXT` answers the N-th latest question the bot asked in the room in this run (1 = the latest),
/// as a reply to it would on Matrix; `/react N KEY` reacts on it. Both work bare or after `alice@room-1> `:
///
///     bob@room-1> /reply 2 3 it's patchy     // "3 it's patchy", anchored to the question before the latest
///     /react 1 2️⃣                            // a reaction on the latest question, as the current person
///
/// `/share PATH` shares a file in the room as the current person (an `m.file` on Matrix), for `!kb add`;
/// `/reply file TEXT` replies to the latest file shared in the room.
///
/// Event ids are `INPUT-ID:LINE`: the same input id replayed on the same database skips the lines
/// already handled, which is how a killed run resumes.
public final class StdioAdapter: ChatAdapter {
    public struct Options: Sendable {
        public var user: String = "you"
        /// nil: a direct room with `user`.
        public var room: String?
        /// Users who may steer facilitated dialogues; nil means everyone.
        public var facilitators: Set<String>?
        /// People in every group room from the start (`#! members:`, `--members`), besides those who speak
        /// there: what a message's ``IncomingMessage/roomMembers`` lists.
        public var members: [String] = []
        /// The dialogue folder in service that `/swap` and `/remove` may change (a bench's working copy, never
        /// the author's files); nil: those commands are refused.
        public var dialogueFolder: String?
        /// Where `/swap` reads its files from (a transcript's folder); nil: the current directory.
        public var fixturesFolder: String?
        /// The engine's command prefix: `/swap` and `/remove` say `PREFIX reload`.
        public var commandPrefix = "!"
        /// Prompt and decorations for a person at a terminal; off for piped input.
        public var interactive: Bool = false
        /// Stable id of this input stream (see the type's documentation).
        public var inputID: String = UUID().uuidString
        /// Where files the bot sends (reports) are written; nil: a new temporary directory, made when the
        /// first file comes.
        public var filesDirectory: String?
        public init() {}
    }

    struct Bench: Sendable {
        var user: String
        var room: String
        var users: [String]
        var lastRoomOfReply: String?
        /// Room → the people who spoke there, in order: members of that room from then on.
        var spoken: [String: [String]] = [:]
        /// Room → the questions (messages with an ``OutgoingMessage/anchor``) delivered there in this run,
        /// oldest first: what `/reply N` and `/react N` point at.
        var questions: [String: [Question]] = [:]
        /// Room → the event ids of the files shared there with `/share` in this run, oldest first.
        var files: [String: [String]] = [:]
    }

    /// A delivered message with an anchor.
    struct Question: Sendable {
        var anchor: String
        /// The ``OutgoingMessage/id``: the terminal's stand-in for the event id a reply points to.
        var messageID: String
    }

    /// How many questions per room `/reply N` can reach back.
    static let rememberedQuestions = 100

    let options: Options
    let clock: ManualClock?
    let readLine: @Sendable () -> String?
    let initialLines: [String]
    let write: @Sendable (String) -> Void
    let bench: Mutex<Bench>
    /// The directory files are written to, once made.
    let filesDirectory = Mutex<String?>(nil)

    /// - Parameters:
    ///   - clock: when given, `/wait` moves it and message times come from it.
    ///   - readLine: the input, one line per call, nil at the end.
    ///   - write: where text goes (standard output by default).
    ///   - initialLines: lines played before the input (`--dialogue` starts one this way).
    public init(
        options: Options, clock: ManualClock? = nil, initialLines: [String] = [],
        readLine: @escaping @Sendable () -> String? = { Swift.readLine(strippingNewline: true) },
        write: @escaping @Sendable (String) -> Void = { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    ) {
        self.options = options
        self.clock = clock
        self.readLine = readLine
        self.initialLines = initialLines
        self.write = write
        let room = options.room ?? "dm-\(options.user)"
        bench = Mutex(Bench(user: options.user, room: room, users: [options.user]))
    }

    public func inbound() -> AsyncThrowingStream<InboundBatch, any Error> {
        // Pull-based: a line is read only when the engine asks for the next event, so bench commands
        // (/in, /as) never run ahead of the replies to earlier lines.
        let reader = LineReader(initial: initialLines, readLine: readLine, inline: !options.interactive)
        return AsyncThrowingStream(unfolding: { [self] in
            while true {
                if options.interactive, reader.pendingInitial == 0 { prompt() }
                guard let (line, lineNumber) = await reader.next() else { return nil }
                let trimmed = Self.trimmed(line)
                if trimmed == "/quit" || trimmed == "/exit" { return nil }
                if let event = interpret(line, trimmed: trimmed, lineNumber: lineNumber) { return InboundBatch(events: [event]) }
                // Time moved: an empty batch lets the runner check timers now, as the transcript runner does.
                if clock != nil, trimmed.hasPrefix("/wait") { return InboundBatch(events: []) }
            }
        })
    }

    func prompt() {
        let b = bench.withLock { $0 }
        write("\(b.user)@\(b.room)> ")
    }

    /// Turns one input line into an event, or handles a bench command.
    func interpret(_ line: String, lineNumber: Int) -> IncomingEvent? {
        interpret(line, trimmed: Self.trimmed(line), lineNumber: lineNumber)
    }

    /// The line without surrounding whitespace. Most lines begin and end with a visible ASCII character,
    /// which no whitespace set holds: they are returned as they are, without Foundation's trimming.
    static func trimmed(_ line: String) -> String {
        let utf8 = line.utf8
        if let first = utf8.first, let last = utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) { return line }
        return line.trimmingCharacters(in: .whitespaces)
    }

    /// - Parameter trimmed: `rawLine` without surrounding whitespace, which the caller has at hand.
    func interpret(_ rawLine: String, trimmed: String, lineNumber: Int) -> IncomingEvent? {
        var line = rawLine
        var trimmed = trimmed
        if line.hasSuffix("\r") {
            line.removeLast()
            trimmed = Self.trimmed(line)
        }
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
        if trimmed.hasPrefix("/") { return benchCommand(trimmed, lineNumber: lineNumber) }
        let speaker = Self.speaker(in: line)
        if let speaker { line = speaker.text }
        let (user, room) = bench.withLock { b in
            if let speaker {
                b.user = speaker.user
                b.room = speaker.room
                if !b.users.contains(speaker.user) { b.users.append(speaker.user) }
            }
            return (b.user, b.room)
        }
        if speaker != nil, line.hasPrefix("/re"), let (command, argument) = Self.anchoredCommand(in: Self.trimmed(line)) {
            return anchored(command, argument, user: user, room: room, lineNumber: lineNumber)
        }
        if speaker != nil, line.hasPrefix("/swap ") || line.hasPrefix("/remove ") {
            let parts = Self.trimmed(line).split(separator: " ", maxSplits: 1).map(String.init)
            return changeDialogueFile(parts[0], parts.count > 1 ? parts[1] : "", lineNumber: lineNumber)
        }
        if speaker != nil, line.hasPrefix("/share") {
            return share(
                String(Self.trimmed(line).dropFirst("/share".count)).trimmingCharacters(in: .whitespaces), user: user, room: room,
                lineNumber: lineNumber)
        }
        return .message(message(line, user: user, room: room, lineNumber: lineNumber))
    }

    func message(_ text: String, user: String, room: String, lineNumber: Int) -> IncomingMessage {
        let direct = room.hasPrefix("dm-")
        let members = bench.withLock { b in
            var spoken = b.spoken[room, default: []]
            if !spoken.contains(user) { spoken.append(user) }
            b.spoken[room] = spoken
            var all = direct ? [] : options.members
            for person in spoken where !all.contains(person) { all.append(person) }
            return all
        }
        return IncomingMessage(
            roomID: room, senderID: user, senderName: user, text: text, eventID: "\(options.inputID):\(lineNumber)",
            timestamp: clock?.now ?? Date(), roomKind: direct ? .direct : .group,
            senderIsFacilitator: options.facilitators?.contains(user) ?? true, roomMembers: members.map { RoomMember(id: $0) })
    }

    /// `/share PATH`: `user` shares the file at PATH (relative to the current directory) in `room`, as a
    /// person sharing a file in a chat room; the bot keeps it for `!kb add`.
    func share(_ path: String, user: String, room: String, lineNumber: Int) -> IncomingEvent? {
        guard !path.isEmpty else { return note("usage: /share PATH (a file to share in the room)") }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isFolder), !isFolder.boolValue else {
            return note("/share: no such file \(path)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: absolute)[.size] as? NSNumber)?.intValue
        let name = (absolute as NSString).lastPathComponent
        var shared = message(name, user: user, room: room, lineNumber: lineNumber)
        shared.file = SharedFile(fileName: name, size: size, location: absolute)
        bench.withLock { $0.files[room, default: []].append(shared.eventID) }
        return .message(shared)
    }

    /// The bytes of a file shared with `/share`, read again from its path.
    public func fetch(_ file: SharedFile, limit: Int) async throws(FileFetchError) -> Data {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file.location)[.size] as? NSNumber)?.intValue else {
            throw .notFound
        }
        guard size <= limit else { throw .tooLarge(size: size, limit: limit) }
        guard let data = FileManager.default.contents(atPath: file.location) else { throw .notFound }
        return data
    }

    /// `/reply …` or `/react …` split into the command and what follows it; nil for any other line.
    static func anchoredCommand(in line: String) -> (command: String, argument: String)? {
        let parts = line.split(separator: " ", maxSplits: 1)
        guard let command = parts.first, command == "/reply" || command == "/react" else { return nil }
        return (String(command), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
    }

    /// `/reply N TEXT`: TEXT as a message anchored to the N-th latest question in `room`. `/react N KEY`:
    /// a reaction with KEY on it. A bad N is a bench note, and nothing is sent.
    func anchored(_ command: String, _ argument: String, user: String, room: String, lineNumber: Int) -> IncomingEvent? {
        let parts = argument.split(separator: " ", maxSplits: 1)
        let rest = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        if command == "/reply", parts.first == "file" {
            guard let file = bench.withLock({ $0.files[room]?.last }), !rest.isEmpty else {
                return note(rest.isEmpty ? "usage: /reply file TEXT" : "/reply file: no file shared in \(room) in this run (/share PATH)")
            }
            var answer = message(rest, user: user, room: room, lineNumber: lineNumber)
            answer.replyToEventID = file
            return .message(answer)
        }
        guard let n = parts.first.flatMap({ Int($0) }), n >= 1, !rest.isEmpty else {
            return note(
                command == "/reply"
                    ? "usage: /reply N TEXT (N = 1 for the latest question in the room, 2 for the one before…)"
                    : "usage: /react N KEY (N = 1 for the latest question in the room; KEY such as 2 or 2️⃣)")
        }
        let questions = bench.withLock { $0.questions[room] ?? [] }
        guard n <= questions.count else {
            return note("\(command) \(n): no question \(n) in \(room) (\(questions.count) asked there so far)")
        }
        let question = questions[questions.count - n]
        var answer = message(rest, user: user, room: room, lineNumber: lineNumber)
        answer.repliesToBot = true
        answer.replyToEventID = question.messageID
        answer.anchor = question.anchor
        return command == "/reply" ? .message(answer) : .reaction(answer)
    }

    /// The `NAME@ROOM> ` prefix of a line (the transcript form), and the text after it.
    static func speaker(in line: String) -> (user: String, room: String, text: String)? {
        // ASCII lines (most): bytes are characters there, but for CR LF, which no name holds.
        let utf8 = line.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return speakerGeneral(in: line) }
        guard
            let marker = utf8.indices.first(where: {
                utf8[$0] == UInt8(ascii: ">") && utf8.index(after: $0) < utf8.endIndex && utf8[utf8.index(after: $0)] == UInt8(ascii: " ")
            }),
            let at = utf8[..<marker].firstIndex(of: UInt8(ascii: "@"))
        else { return nil }
        let user = utf8[..<at], room = utf8[utf8.index(after: at)..<marker]
        guard isASCIIName(user), isASCIIName(room) else { return nil }
        return (String(Substring(user)), String(Substring(room)), String(Substring(utf8[utf8.index(marker, offsetBy: 2)...])))
    }

    /// ``speaker(in:)`` by characters, for any line.
    static func speakerGeneral(in line: String) -> (user: String, room: String, text: String)? {
        guard let marker = line.firstRange(of: "> "), let at = line[..<marker.lowerBound].firstIndex(of: "@") else { return nil }
        let user = String(line[..<at]), room = String(line[line.index(after: at)..<marker.lowerBound])
        guard isName(user), isName(room) else { return nil }
        return (user, room, String(line[marker.upperBound...]))
    }

    private static func isASCIIName(_ bytes: Substring.UTF8View) -> Bool {
        !bytes.isEmpty && bytes.count <= 64
            && bytes.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                    true
                default: false
                }
            }
    }

    public static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
    }

    func benchCommand(_ line: String, lineNumber: Int) -> IncomingEvent? {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch parts[0] {
        case "/reply", "/react":
            let (user, room) = bench.withLock { ($0.user, $0.room) }
            return anchored(parts[0], argument, user: user, room: room, lineNumber: lineNumber)
        case "/share":
            let (user, room) = bench.withLock { ($0.user, $0.room) }
            return share(argument, user: user, room: room, lineNumber: lineNumber)
        case "/as":
            guard Self.isName(argument) else { return note("usage: /as NAME (letters, digits, - _ .)") }
            bench.withLock { b in
                if b.room == "dm-\(b.user)" { b.room = "dm-\(argument)" }
                b.user = argument
                if !b.users.contains(argument) { b.users.append(argument) }
            }
        case "/in":
            guard Self.isName(argument) else { return note("usage: /in ROOM (letters, digits, - _ .)") }
            bench.withLock { $0.room = argument }
        case "/dm":
            bench.withLock { $0.room = "dm-\($0.user)" }
        case "/who":
            let b = bench.withLock { $0 }
            let facilitator = options.facilitators?.contains(b.user) ?? true
            return note(
                "you are \(b.user)\(facilitator ? " (facilitator)" : "") in \(b.room) (\(b.room.hasPrefix("dm-") ? "direct room" : "group room")); people so far: \(b.users.joined(separator: ", "))"
            )
        case "/wait":
            guard let clock, let seconds = Self.duration(argument) else {
                return note(clock == nil ? "/wait needs a test clock (fabrique chat --clock)" : "usage: /wait 30m | 2h | 3d")
            }
            clock.advance(by: seconds)
        case "/swap", "/remove":
            return changeDialogueFile(parts[0], argument, lineNumber: lineNumber)
        case "/quit", "/exit":
            return nil
        case "/help":
            return note(
                "/as NAME · /in ROOM · /dm · /who · /wait 2h (test clock) · /reply N TEXT · /react N KEY · /share PATH · /reply file TEXT · /swap FILE NEW · /remove FILE · /quit · NAME@ROOM> text"
            )
        default:
            return note("unknown bench command \(parts[0]); /help lists them")
        }
        return nil
    }

    /// `/swap FILE NEW`: NEW (a path from ``Options/fixturesFolder``) is copied over FILE of the dialogue
    /// folder in service; `/remove FILE` deletes it. Then the current person says `!reload`, as an author's
    /// facilitator would after an edit: what the bot answers is the transcript's to check.
    func changeDialogueFile(_ command: String, _ argument: String, lineNumber: Int) -> IncomingEvent? {
        let usage = command == "/swap" ? "usage: /swap FILE NEW (NEW copied over FILE of the dialogues)" : "usage: /remove FILE"
        guard let folder = options.dialogueFolder else {
            return note("\(command) needs a dialogue folder the bench may change (a transcript's `#! dialogues:`, or chat --bench-files)")
        }
        let words = argument.split(separator: " ").map(String.init)
        guard words.count == (command == "/swap" ? 2 : 1), !words[0].split(separator: "/").contains("..") else { return note(usage) }
        let target = (folder as NSString).appendingPathComponent(words[0])
        let manager = FileManager.default
        do {
            if command == "/swap" {
                let source =
                    words[1].hasPrefix("/")
                    ? words[1] : ((options.fixturesFolder ?? manager.currentDirectoryPath) as NSString).appendingPathComponent(words[1])
                let data = try Data(contentsOf: URL(fileURLWithPath: source))
                try data.write(to: URL(fileURLWithPath: target))
            } else {
                try manager.removeItem(atPath: target)
            }
        } catch {
            return note("\(command) \(argument): \(error.localizedDescription)")
        }
        let (user, room) = bench.withLock { ($0.user, $0.room) }
        return .message(message("\(options.commandPrefix)reload", user: user, room: room, lineNumber: lineNumber))
    }

    /// A copy of these dialogue files and folders in a new temporary folder, for a bench that changes them
    /// (`/swap`, `/remove`): a folder's content is copied, a file goes in as it is. The caller removes it.
    public static func workingCopy(of paths: [String]) throws -> String {
        let manager = FileManager.default
        let copy = (NSTemporaryDirectory() as NSString).appendingPathComponent("fabrique-bench-\(UUID().uuidString)")
        try manager.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for path in paths {
            var isFolder: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
            let items =
                isFolder.boolValue
                ? try manager.contentsOfDirectory(atPath: path).sorted().map { (path as NSString).appendingPathComponent($0) } : [path]
            for item in items {
                let destination = (copy as NSString).appendingPathComponent((item as NSString).lastPathComponent)
                if !manager.fileExists(atPath: destination) { try manager.copyItem(atPath: item, toPath: destination) }
            }
        }
        return copy
    }

    func note(_ text: String) -> IncomingEvent? {
        write("· \(text)\n")
        return nil
    }

    public static func duration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let n = Double(text.dropLast()), n >= 0 else { return nil }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86400
        default: return nil
        }
    }

    public func deliver(_ message: OutgoingMessage) async throws {
        let current = bench.withLock { b in
            if let anchor = message.anchor {
                var questions = b.questions[message.roomID, default: []]
                // A message delivered again (after a crash) is still one question.
                questions.removeAll { $0.messageID == message.id }
                questions.append(Question(anchor: anchor, messageID: message.id))
                if questions.count > Self.rememberedQuestions { questions.removeFirst(questions.count - Self.rememberedQuestions) }
                b.questions[message.roomID] = questions
            }
            return b.room
        }
        var text = message.plain
        if let file = message.attachment { text = "📎 " + (try save(file)) }
        if message.roomID != current { text = "[\(message.roomID)] " + text }
        if options.interactive {
            text = text.split(separator: "\n", omittingEmptySubsequences: false).map { "  │ " + $0 }.joined(separator: "\n")
        }
        write(text + "\n")
    }
}

extension StdioAdapter {
    /// Writes a file the bot sends into ``Options/filesDirectory``, owner-only (a report holds people's
    /// names and answers), replacing one of the same name; returns its path.
    /// - Throws: ``DeliveryError/permanent(_:)`` when it cannot be written (the runner then says so).
    func save(_ file: Attachment) throws -> String {
        let directory: String
        do {
            directory = try filesDirectory.withLock { known in
                if let known { return known }
                var made = options.filesDirectory
                if made == nil {
                    made = (NSTemporaryDirectory() as NSString).appendingPathComponent("fabrique-files-\(UUID().uuidString.prefix(8))")
                }
                try FileManager.default.createDirectory(
                    atPath: made!, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                known = made
                return made!
            }
        } catch {
            throw DeliveryError.permanent("cannot make the directory for files: \(error.localizedDescription)")
        }
        // The name comes from the engine, but a file never leaves its directory whatever it says.
        let name = (file.fileName as NSString).lastPathComponent
        let path = (directory as NSString).appendingPathComponent(name.isEmpty || name.hasPrefix(".") ? "file" : name)
        try? FileManager.default.removeItem(atPath: path)
        guard FileManager.default.createFile(atPath: path, contents: file.data, attributes: [.posixPermissions: 0o600]) else {
            throw DeliveryError.permanent("cannot write \(path)")
        }
        return path
    }
}

/// Reads lines off the cooperative thread pool (a blocking read must not hold one of its threads).
final class LineReader: Sendable {
    let state: Mutex<(initial: [String], count: Int)>
    let readLine: @Sendable () -> String?
    let queue = DispatchQueue(label: "fabrique.stdin")
    /// Read on the caller's thread: for piped input, where the runner has nothing else to do while it
    /// waits and a hop to another thread per line costs more than the rest of the line's work.
    let inline: Bool

    init(initial: [String], readLine: @escaping @Sendable () -> String?, inline: Bool) {
        state = Mutex((initial, 0))
        self.readLine = readLine
        self.inline = inline
    }

    var pendingInitial: Int { state.withLock { $0.initial.count } }

    func next() async -> (String, Int)? {
        let queued: (String, Int)? = state.withLock { s in
            guard !s.initial.isEmpty else { return nil }
            s.count += 1
            return (s.initial.removeFirst(), s.count)
        }
        if let queued { return queued }
        let line: String?
        if inline {
            line = readLine()
        } else {
            line = await withCheckedContinuation { continuation in
                queue.async { continuation.resume(returning: self.readLine()) }
            }
        }
        guard let line else { return nil }
        let number = state.withLock { s in
            s.count += 1
            return s.count
        }
        return (line, number)
    }
}
